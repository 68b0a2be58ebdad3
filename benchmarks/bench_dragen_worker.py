"""A bulk DRAGEN ingest's worker: CPU per run of one batch (read, parse, write), before -> after.

Run:  uv run python benchmarks/bench_dragen_worker.py [--batch 7,25,50] [--repeat 7] [--rounds 3]
                                                      [--baseline REF]

What ``seqledger ingest dragen`` spends per run in its worker processes, without the process
start, discovery and the parent (``bench_dragen_vs_multiqc.py`` measures the whole command):
``ingest.dragen.bulk.load_batch`` on one batch of run folders built from the reference runs
(``build_month`` of that script: the four real runs in turn), into a fresh local lake each time,
``time.process_time`` around the call (user + system CPU of this process: the worker's). The
batch sizes are the ones ``ingest dragen`` cuts 50, 200 and 400 runs into on two workers (7, 25
and 50 runs a batch). Each measuring process loads the batch once untimed, then ``--repeat``
times; its line is the median and the best per run.

``--baseline REF`` exports that git commit's code (``git archive``) and runs the same measurement
with it, alternately with this checkout's, ``--rounds`` processes each: a shared machine's load
moves, and alternating at the same moment is what makes the two comparable (best of the rounds'
medians is the steadiest figure under load).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(code: Path, folders: Path, repeat: int, work: Path) -> list[float]:
    """ms of CPU per run of ``load_batch`` on ``folders``, ``repeat`` times (this process)."""
    sys.path.insert(0, str(code))
    from datetime import UTC, datetime

    from ingest.dragen import bulk
    from lake.settings import Settings
    from lake.store import LakeStore

    def once(i: int) -> float:
        store = LakeStore(Settings.from_env({"SEQLEDGER_LAKE": str(work / f"lake-{i}")}))
        found, _ = bulk.discover(store, [folders])
        jobs, _ = bulk.plan(found, mapping=None, pattern=None,
                            run_at=datetime(2025, 3, 1, tzinfo=UTC))
        start = time.process_time()
        bulk.load_batch(store.settings, jobs, frozenset())
        return (time.process_time() - start) * 1000 / len(jobs)

    once(-1)  # imports, first conversions, the layout memos: what every worker pays once
    return [once(i) for i in range(repeat)]


def _child(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-dragen-worker-") as tmp:
        times = measure(Path(args.code), Path(args.folders), args.repeat, Path(tmp))
    print(f"{statistics.median(times):.3f} {min(times):.3f}")


def _run(code: Path, folders: Path, args: argparse.Namespace) -> tuple[float, float]:
    """(median, best) ms per run, measured in a fresh process with ``code`` first on the path."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--code", str(code), "--folders", str(folders),
         "--repeat", str(args.repeat), *(["--workdir", args.workdir] if args.workdir else [])],
        capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items() if k != "SEQLEDGER_LAKE"}).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", default="7,25,50", help="runs per batch, comma-separated")
    parser.add_argument("--repeat", type=int, default=7, help="timed loads per process")
    parser.add_argument("--rounds", type=int, default=3, help="processes per code")
    parser.add_argument("--baseline", default=None, metavar="REF", help="git commit to compare")
    parser.add_argument("--workdir", default=None, help="parent of the temporary folders")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--folders", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_dragen_vs_multiqc import build_month, export

    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-dragen-worker-") as tmp:
        codes = {"this checkout": ROOT}
        if args.baseline:
            Path(tmp, "baseline").mkdir()
            codes = {args.baseline: export(args.baseline, Path(tmp, "baseline")), **codes}
        print(f"load_batch, ms of CPU per run (median / best of {args.repeat} loads a process, "
              f"{args.rounds} processes a code, alternated); load {os.getloadavg()[0]:.1f}")
        for n in (int(b) for b in args.batch.split(",")):
            folders = Path(tmp, f"runs-{n}")
            build_month(folders, n)
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
            for _ in range(args.rounds):
                for name, code in codes.items():
                    times[name].append(_run(code, folders, args))
            line = []
            for name, t in times.items():
                median = statistics.median(m for m, _ in t)
                best = min(m for m, _ in t)
                line.append(f"{name} {median:.2f} (best median {best:.2f})")
            if args.baseline:
                (_, before), (_, after) = times.items()
                ratio = min(m for m, _ in before) / min(m for m, _ in after)
                line.append(f"{ratio:.2f}x less")
            print(f"{n:>3} runs a batch: " + "; ".join(line) +
                  f"; load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
