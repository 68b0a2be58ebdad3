"""Parse a month of DRAGEN metric files (4,000 WGS samples, DESIGN.md) and print files/s and rows/s.

Run:  uv run python benchmarks/bench_dragen_parse.py [--samples 4000] [--workers 2] [--pool 48]

What one sample is: every file family a germline WGS run writes, in the layout of the real
reference files (tests/fixtures/reference-data/dragen): TEST's mapping, coverage, overall and
contig mean coverage, fine and binned histograms, fragment-length histogram, time, ploidy,
trimmer and FastQC metrics; 0201424131's vc and gvcf metrics; T_SRR7890936_50pc's replay JSON with
a germline command line. About 0.6 MB and 17,000 rows per sample: FastQC, the fragment-length
and fine coverage histograms and hg38's 3,367 contigs are 96 % of the rows.

Values are jittered per sample (counts and means scaled by a random factor, formatting kept), so
no two samples have the same bytes. ``--pool`` distinct samples are generated once and reused in
turn for the month: parsing keeps no state between samples except its memo of metric names,
which real months repeat just as much.

Figures printed (all measured in this process, same data):
1. the single-process baseline over the whole month (``--baseline-samples`` to shorten it: the
   month time is then extrapolated and says so);
2. the same month over ``--workers`` processes (fork), each parsing whole runs into Arrow tables
   (the rows stay in the worker, as they would before its own lake write), and the speed-up;
3. ``ingest_folder`` end to end (read the folder from disk, parse, write the lake) for a few runs,
   to show what I/O and Parquet add on top of parsing.
Target (issue): the month in under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.dragen.service import ingest_folder, parse_run_files  # noqa: E402
from lake.settings import Settings  # noqa: E402
from lake.store import LakeStore  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "reference-data" / "dragen"
MONTH = 4000  # WGS samples a month at the scale in DESIGN.md
RUN_AT = datetime(2025, 3, 1, tzinfo=UTC)
# (source file, name suffix in the sample, index of the first field to jitter)
SHAPES = (
    ("TEST/TEST.mapping_metrics.csv", ".mapping_metrics.csv", 3),
    ("TEST/TEST.wgs_coverage_metrics.csv", ".wgs_coverage_metrics.csv", 3),
    ("TEST/TEST.wgs_overall_mean_cov.csv", ".wgs_overall_mean_cov.csv", 1),
    ("TEST/TEST.wgs_contig_mean_cov.csv", ".wgs_contig_mean_cov.csv", 1),
    ("TEST/TEST.wgs_fine_hist.csv", ".wgs_fine_hist.csv", 1),
    ("TEST/TEST.wgs_hist.csv", ".wgs_hist.csv", 1),
    ("TEST/TEST.fragment_length_hist.csv", ".fragment_length_hist.csv", 1),
    ("TEST/TEST.time_metrics.csv", ".time_metrics.csv", 99),
    ("TEST/TEST.ploidy_estimation_metrics.csv", ".ploidy_estimation_metrics.csv", 3),
    ("TEST/TEST.trimmer_metrics.csv", ".trimmer_metrics.csv", 3),
    ("TEST/TEST.fastqc_metrics.csv", ".fastqc_metrics.csv", 3),
    ("0201424131/0201424131.vc_metrics.csv", ".vc_metrics.csv", 3),
    ("0201424131/0201424131.gvcf_metrics.csv", ".gvcf_metrics.csv", 3),
)
_NUMBER = re.compile(r"^(\s*)(\d+)(?:\.(\d+))?$")


def _jitter_field(text: str, factor: float) -> str:
    m = _NUMBER.match(text)
    if m is None:
        return text
    space, whole, frac = m.groups()
    value = float(f"{whole}.{frac}" if frac else whole) * factor
    return f"{space}{value:.{len(frac)}f}" if frac else f"{space}{round(value)}"


def jitter(data: bytes, first_field: int, rng: random.Random) -> bytes:
    """Scale the numeric fields from ``first_field`` on by one random factor per line."""
    out = []
    for line in data.decode().split("\n"):
        if line.startswith("#") or "," not in line:
            out.append(line)
            continue
        parts = line.split(",")
        factor = rng.uniform(0.8, 1.2)
        parts[first_field:] = [_jitter_field(p, factor) for p in parts[first_field:]]
        out.append(",".join(parts))
    return "\n".join(out).encode()


def make_sample(i: int, sources: dict[str, bytes], replay: str) -> dict[str, bytes]:
    """One sample's files, named as the executor names them: ``<sample_id>.<family>.csv``."""
    rng = random.Random(i)
    sample = f"S{i:05d}"
    files = {f"{sample}{suffix}": jitter(sources[path], first, rng)
             for path, suffix, first in SHAPES}
    files[f"{sample}-replay.json"] = replay.replace("SAMPLE", sample).encode()
    return files


def germline_replay() -> str:
    text = (REFERENCE / "T_SRR7890936_50pc" / "T_SRR7890936_50pc-replay.json").read_text()
    # a germline command line: no tumour flags, so the replay names no tumour/normal samples
    return re.sub(r'"command_line": "[^"]*"',
                  '"command_line": "\\\\/opt\\\\/edico\\\\/bin\\\\/dragen -1 SAMPLE_1.fastq.gz '
                  '-2 SAMPLE_2.fastq.gz --RGID SAMPLE --RGSM SAMPLE --output-file-prefix SAMPLE '
                  '--enable-variant-caller true"', text)


POOL: list[dict[str, bytes]] = []  # filled before forking; workers read it copy-on-write


def parse_one(i: int) -> tuple[int, int]:
    files = POOL[i % len(POOL)]
    run = parse_run_files(files, sample_id=f"S{i:05d}", run_id=f"R{i:05d}", run_at=RUN_AT)
    return len(files), sum(run.row_counts.values()) + len(run.quarantine)


def parse_range(bounds: tuple[int, int]) -> tuple[int, int]:
    files = rows = 0
    for i in range(*bounds):
        f, r = parse_one(i)
        files += f
        rows += r
    return files, rows


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the machine may be shared)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=MONTH,
                        help=f"samples to parse (a month is {MONTH}; fewer are extrapolated)")
    parser.add_argument("--baseline-samples", type=int, default=None,
                        help="samples parsed single-process (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=48, help="distinct generated samples")
    parser.add_argument("--ingest-runs", type=int, default=8,
                        help="runs for the end-to-end ingest_folder figure")
    args = parser.parse_args()

    sources = {path: (REFERENCE / path).read_bytes() for path, _, _ in SHAPES}
    replay = germline_replay()
    (POOL[:], gen_s) = timed(lambda: [make_sample(i, sources, replay) for i in range(args.pool)])
    per_sample_bytes = sum(len(b) for b in POOL[0].values())
    files0, rows0 = parse_one(0)  # warm up (imports, catalogue, name memos)
    check = parse_run_files(POOL[0], sample_id="S", run_id="R", run_at=RUN_AT)
    assert not check.quarantine, check.quarantine[:3]
    print(f"machine: {os.cpu_count()} CPU(s); sample: {files0} files, "
          f"{per_sample_bytes / 1e6:.2f} MB, {rows0} rows; pool of {args.pool} generated in "
          f"{gen_s:.1f} s")

    scale = MONTH / args.samples
    note = "" if args.samples == MONTH else f" (month of {MONTH} extrapolated x{scale:.1f})"
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          "(other work on the machine slows the wall-clock figures; CPU seconds are shown too)")

    base_n = min(args.baseline_samples or args.samples, args.samples)
    cpu0 = cpu_s()
    (b_files, b_rows), b_s = timed(parse_range, (0, base_n))
    b_cpu = cpu_s() - cpu0
    base_month = b_s * MONTH / base_n
    print(f"\n1. single process, {base_n} samples: {b_s:.1f} s wall, {b_cpu:.1f} s CPU = "
          f"{b_files / b_s:,.0f} files/s, {b_rows / b_s:,.0f} rows/s, "
          f"{1000 * b_s / base_n:.1f} ms/sample -> month: {base_month:.0f} s"
          + ("" if base_n == MONTH else " (extrapolated)"))

    chunk = max(1, args.samples // (args.workers * 16))
    ranges = [(a, min(a + chunk, args.samples)) for a in range(0, args.samples, chunk)]
    with mp.get_context("fork").Pool(args.workers) as pool:
        pool.map(parse_range, [(0, args.workers)] * args.workers)  # warm the workers up
        cpu0 = cpu_s()
        results, m_s = timed(pool.map, parse_range, ranges)
    m_cpu = cpu_s() - cpu0  # children are reaped when the pool closes
    m_files = sum(f for f, _ in results)
    m_rows = sum(r for _, r in results)
    month_s = m_s * scale
    print(f"2. {args.workers} worker processes, {args.samples} samples: {m_s:.1f} s wall "
          f"(~{m_cpu:.0f} s CPU incl. warm-up) = {m_files / m_s:,.0f} files/s, "
          f"{m_rows / m_s:,.0f} rows/s ({m_rows:,} rows, {m_files:,} files)")
    print(f"   month: {month_s:.0f} s{note}; speed-up over the single-process baseline: "
          f"{base_month / month_s:.2f}x; target (< 60 s on 2 cores): "
          f"{'met' if month_s < 60 else 'NOT met'}")

    with tempfile.TemporaryDirectory() as tmp:
        store = LakeStore(Settings(lake_uri=f"{tmp}/lake"))
        folders = []
        for i in range(args.ingest_runs):
            folder = Path(tmp) / f"run{i}"
            folder.mkdir()
            for name, data in POOL[i % len(POOL)].items():
                (folder / name).write_bytes(data)
            folders.append(folder)
        start = time.perf_counter()
        for i, folder in enumerate(folders):
            ingest_folder(store, folder, sample_id=f"S{i:05d}", run_id=f"R{i:05d}", run_at=RUN_AT)
        e_s = (time.perf_counter() - start) / len(folders)
    print(f"3. ingest_folder end to end (read + parse + 3 Parquet writes), {args.ingest_runs} "
          f"runs: {1000 * e_s:.0f} ms/run vs {1000 * b_s / base_n:.0f} ms parse only "
          f"({e_s / (b_s / base_n):.1f}x)")


if __name__ == "__main__":
    main()
