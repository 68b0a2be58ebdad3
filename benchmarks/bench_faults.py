"""The fault harness, long: how seqledger fares when it is killed, crowded, starved of S3 and fed
broken input. Prints, per part, trials, failures, rows lost and duplicated, and inputs neither
loaded nor quarantined; the "Done when" of issue 17 is a table of zeros.

1. kill -9   ``seqledger ingest dragen | ingest event | ingest cur | lake compact`` and a
             dispatch followed to the end on the simulated executor, each killed after a random
             delay and run again, compared with an uninterrupted run (``--kill-trials`` each).
2. writers   ``ingest event`` by 2 and 4 processes at once on one lake, compared with one.
3. S3 faults the DRAGEN load and a compaction on SeaweedFS through a proxy injecting 503, 500,
             resets, truncated bodies and delays (``--s3-trials`` runs), compared with a clean load.
4. fuzz      ``--events`` mutated AWS events, ``--dragen`` DRAGEN files, ``--billing`` billing
             exports (seeded, so a failure is replayed by its seed).

    uv run python benchmarks/bench_faults.py                 # everything, the issue's size (57 min
                                                             # as 8 processes side by side, 2 cores)
    uv run python benchmarks/bench_faults.py --quick         # a few of each (~5 min)
    uv run python benchmarks/bench_faults.py --only fuzz --events 10000
    uv run python benchmarks/bench_faults.py --only kill --operation dispatch

The reference data is read from ``SEQLEDGER_REFERENCE_DATA`` or the repository's
``tests/fixtures/reference-data``.
Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from lake.settings import S3Options, Settings  # noqa: E402
from tests.fault import fuzz, trials  # noqa: E402

PARTS = ("kill", "writers", "s3", "fuzz")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _reference() -> Path:
    path = Path(os.environ.get("SEQLEDGER_REFERENCE_DATA")
                or ROOT / "tests" / "fixtures" / "reference-data")
    if not path.is_dir():
        sys.exit(f"reference data not found at {path} (set SEQLEDGER_REFERENCE_DATA)")
    return path


def kill_part(work: Path, reference: Path, n: int, seed: int,
              operations: list[str] | None = None,
              max_delay_s: float | None = None) -> list[trials.TrialReport]:
    rng = random.Random(seed)
    out = []
    for name, scenario in trials.scenarios(work / "kill", reference).items():
        if operations and name not in operations:
            continue
        if max_delay_s is not None:  # kill sooner: more trials die mid-run
            scenario = replace(scenario, max_delay_s=max_delay_s)
        _say(f"kill -9: {name}, {n} trials")
        started = time.monotonic()
        out.append(trials.kill(scenario, work / "kill", n, rng))
        _say(f"  {out[-1].line()}  ({time.monotonic() - started:.0f} s)")
    return out


def writers_part(work: Path, reference: Path, n: int) -> list[trials.TrialReport]:
    out = []
    for writers in (2, 4):
        folder = work / f"writers-{writers}"
        scenario = trials.scenarios(folder, reference)["ingest event"]
        _say(f"concurrent writers: {writers} x ingest event, {n} trials")
        out.append(trials.concurrent(scenario, folder, n, writers))
        _say(f"  {out[-1].line()}")
    return out


def s3_part(work: Path, reference: Path, n: int) -> list[trials.TrialReport]:
    from ingest.dragen.service import ingest_folder
    from lake.store import LakeStore
    from tests.fault.proxy import FaultPlan, FaultProxy
    from tests.servers import ACCESS_KEY, SECRET_KEY, start_seaweed

    server = start_seaweed(work / "seaweed")
    report = trials.TrialReport("s3 fault proxy")
    injected: dict[str, int] = {}
    try:
        base = Settings(lake_uri="s3://lake/x", s3=S3Options(
            endpoint_url=server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY))
        at = fuzz.RUN_AT

        def load(settings: Settings) -> None:
            store = LakeStore(settings)
            for i, folder in enumerate(("TEST", "Sample_1", "T_SRR7890936_50pc")):
                ingest_folder(store, reference / "dragen" / folder, sample_id=folder,
                              run_id=f"run-{i}", run_at=at)
            for name in ("qc_metrics", "qc_histograms", "quarantine"):
                store.compact(name, at.strftime("%Y-%m"))

        clean = replace(base, lake_uri="s3://lake/clean")
        load(clean)
        expected = _s3_rows(clean)
        for t in range(n):
            plan = FaultPlan(budget=30, rate=0.3, delay_s=1.0, seed=t)
            lake = replace(base, lake_uri=f"s3://lake/trial-{t}", storage_retry_s=60)
            report.trials += 1
            _say(f"s3 faults: trial {t + 1}/{n}")
            with FaultProxy(server.endpoint, plan) as proxy:
                try:
                    load(replace(lake, s3=replace(lake.s3, endpoint_url=proxy.endpoint)))
                except Exception as e:  # noqa: BLE001 - counted, and the trial goes on
                    report.failures.append(f"trial {t}: {type(e).__name__}: {str(e)[:200]}")
            for kind, count in plan.injected.items():
                injected[kind] = injected.get(kind, 0) + count
            lost, extra, examples = trials.compare(expected, _s3_rows(lake))
            report.rows_lost += lost
            report.rows_extra += extra
            report.examples += examples[:2]
    finally:
        server.stop()
    _say(f"  faults injected: {injected}")
    report.kind = "s3 fault proxy"
    report.examples.insert(0, f"faults injected: {injected}")
    return [report]


def _s3_rows(settings: Settings):
    from collections import Counter

    from lake.store import LakeStore

    store = LakeStore(settings)
    out = {}
    for name in ("qc_metrics", "qc_histograms", "qc_contig_coverage", "quarantine"):
        tbl = store.read(name)
        keep = [c for c in tbl.column_names if c not in trials.VOLATILE]
        out[name] = Counter(map(repr, tbl.select(keep).to_pylist()))
    return out


def fuzz_part(work: Path, reference: Path, events: int, dragen: int, billing: int,
              seed: int) -> list[fuzz.FuzzReport]:
    settings = Settings(lake_uri=str(work / "fuzz-lake"), output_prefix=str(work / "out"),
                        projects_file=str(work / "none.toml"))
    start = seed * 1_000_000
    out = []
    for kind, n, fn in (
        ("events", events, lambda r, p: fuzz.fuzz_events(settings, reference, r, progress=p)),
        ("dragen", dragen, lambda r, p: fuzz.fuzz_dragen(settings, reference, r, progress=p)),
        ("billing", billing, lambda r, p: fuzz.fuzz_billing(settings, reference, r,
                                                              work / "cur", progress=p)),
    ):
        started = time.monotonic()
        _say(f"fuzz: {n} mutated {kind}")
        report = fn(range(start, start + n), lambda i, n=n, k=kind: _say(f"  {k} {i}/{n}"))
        _say(f"  {report.line()}  ({time.monotonic() - started:.0f} s)")
        out.append(report)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few of each (smoke run)")
    ap.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    ap.add_argument("--kill-trials", type=int, default=None, help="kill -9 trials per operation")
    ap.add_argument("--kill-max-delay", type=float, default=None,
                    help="kill after a random delay up to this many seconds (default: the "
                         "operation's own, 3-8 s)")
    ap.add_argument("--operation", choices=trials.OPERATIONS, action="append",
                    help="kill -9 only these operations (to split the kill part over processes)")
    ap.add_argument("--writer-trials", type=int, default=None)
    ap.add_argument("--s3-trials", type=int, default=None)
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--dragen", type=int, default=None)
    ap.add_argument("--billing", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0, help="seed of the fuzz corpus and the delays")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    q = a.quick
    n_kill = a.kill_trials or (2 if q else 20)
    n_writers = a.writer_trials or (1 if q else 5)
    n_s3 = a.s3_trials or (1 if q else 8)
    n_events, n_dragen, n_billing = (a.events or (500 if q else 10_000),
                                     a.dragen or (100 if q else 6_000),
                                     a.billing or (40 if q else 600))
    parts = a.only or list(PARTS)
    reference = _reference()
    os.environ.update(AWS_EC2_METADATA_DISABLED="true", AWS_ACCESS_KEY_ID="testing",
                      AWS_SECRET_ACCESS_KEY="testing")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=a.workdir, prefix="bench-faults-") as tmp:
        work = Path(tmp)
        rows: list = []
        if "kill" in parts:
            rows += kill_part(work, reference, n_kill, a.seed, a.operation, a.kill_max_delay)
        if "writers" in parts:
            rows += writers_part(work, reference, n_writers)
        if "s3" in parts:
            rows += s3_part(work, reference, n_s3)
        if "fuzz" in parts:
            rows += fuzz_part(work, reference, n_events, n_dragen, n_billing, a.seed)
    print(f"\nfault harness ({time.monotonic() - started:.0f} s)")
    for r in rows:
        print(" ", r.line())
    problems = [(r.kind, x) for r in rows for x in _problems(r)[:5]]
    if problems:
        print("\nexamples (first 5 of each part):")
        for kind, x in problems:
            print(f"  {kind}: {x}")


def _problems(report) -> list[str]:
    if isinstance(report, fuzz.FuzzReport):
        return [*report.tracebacks, *report.unaccounted]
    return [*report.failures, *report.examples]


if __name__ == "__main__":
    main()
