"""Batch tracking of job-state events: the row path against the columnar path, same events.

A local lake gets ``--runs`` dispatched runs (simulated Batch on Spot); the job-state events of
their first attempts (RUNNABLE … SUCCEEDED/FAILED, as EventBridge sends them, each a JSON file's
bytes) plus ``--redeliver`` of them again, shuffled, are then processed in batches of ``--batch``
by ``EventService.process`` — once with the row reader and tracker, once with the columnar ones —
each in a fresh process on its own copy of the lake. Printed per path: events/s (wall and CPU),
the part of it spent in the results stage (pricing, DRAGEN metrics: the same code on both
paths), peak memory, and the columnar/row ratio. Both lakes must end with the same rows.

    uv run python benchmarks/bench_batch_ingest.py                      # 1,000 runs
    uv run python benchmarks/bench_batch_ingest.py --runs 300 --batch 2000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _service(lake: Path, columnar: bool | None):
    from ingest.service import EventService
    from lake.settings import Settings
    from lake.store import LakeStore
    from pipeline_runner.executors.simulated import SimulatedBatch
    from pipeline_runner.prices import PriceBook
    from pipeline_runner.projects import ProjectRegistry, ProjectTags
    from pipeline_runner.service import Runner
    from pipeline_runner.workflows import RunnerConfig

    store = LakeStore(Settings(lake_uri=str(lake / "lake")))
    sim = SimulatedBatch(seed=3, clock_start=T0, write_outputs=False)
    config = RunnerConfig(output_prefix=str(lake / "out"))
    service = EventService(store, Runner(store, sim, config),
                           ProjectRegistry({"cardio": ProjectTags("CC-1", "a.lee")}),
                           PriceBook.load_default(), output_prefix=str(lake / "out"),
                           pipeline_release="dragen-4.2.4", columnar=columnar)
    service.shared_lake = False
    return service


def build(root: Path, runs: int, redeliver: float) -> int:
    """Dispatch ``runs`` runs into ``root/lake``; their job events into ``root/events.jsonl``
    (one payload a line, as the bytes of an event file)."""
    from pipeline_runner.workflows import input_size_for_coverage
    from seqledger.envelopes import object_created

    service = _service(root, None)
    size = input_size_for_coverage("fastq", 38) // 2
    arrivals = [(f"S{i}-{m}", object_created("s3", "in", f"cardio/S{i:06d}/S{i:06d}_{m}.fastq.gz",
                                              size, f"etag-{i}-{m}", T0 + timedelta(seconds=i),
                                              f"{k:016X}"))
                for i in range(runs) for k, m in enumerate(("R1", "R2"))]
    service.process(arrivals, now=T0 + timedelta(seconds=runs))
    sim = service.runner.executor
    events = []
    while (at := sim.next_event_at()) is not None:
        events += sim.advance(at + timedelta(hours=1))
    rng = random.Random(1)
    events += rng.sample(events, int(len(events) * redeliver))
    rng.shuffle(events)
    with (root / "events.jsonl").open("w") as f:
        for e in events:
            f.write(json.dumps(json.dumps(e, indent=2)) + "\n")  # the file's text, pretty
    return len(events)


def run(root: Path, columnar: bool, batch: int) -> dict:
    """Process the events in batches; figures as a dict (called in a fresh process)."""
    import ingest.results as results

    payloads = [(f"event-{i}.json", json.loads(line).encode())
                for i, line in enumerate((root / "events.jsonl").read_text().splitlines())]
    service = _service(root, columnar)
    spent = [0.0]
    finish = results.finish_runs

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return finish(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    import ingest.service as service_module

    service_module.finish_runs = timed
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(payloads), batch):
        service.process(payloads[start:start + batch], now=T0 + timedelta(days=3))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"events": len(payloads), "wall_s": wall, "cpu_s": cpu, "results_s": spent[0],
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _rows(lake: Path) -> dict[str, int]:
    from lake.settings import Settings
    from lake.store import LakeStore

    store = LakeStore(Settings(lake_uri=str(lake / "lake")))
    return {n: store.read(n).num_rows for n in ("job_attempts", "decisions", "runs", "costs")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--redeliver", type=float, default=0.1,
                        help="share of events delivered twice")
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(Path(args.child[0]), args.child[1] == "columns", args.batch)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-batch-ingest-") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        t = time.perf_counter()
        n = build(base, args.runs, args.redeliver)
        print(f"{args.runs:,} runs dispatched, {n:,} job events ({args.redeliver:.0%} "
              f"redelivered) in {time.perf_counter() - t:.0f} s; batches of {args.batch:,}")
        figures, rows = {}, {}
        for path in ("row", "columns"):
            root = Path(tmp) / path
            shutil.copytree(base, root)
            out = subprocess.run([sys.executable, __file__, "--batch", str(args.batch),
                                  "--child", str(root), path],
                                 check=True, capture_output=True, text=True)
            figures[path] = json.loads(out.stdout.strip().splitlines()[-1])
            rows[path] = _rows(root)
        print(f"{'path':8} {'events/s wall':>14} {'events/s CPU':>13} {'results stage':>14} "
              f"{'events/s w/o results':>21} {'peak MiB':>9}")
        for path, f in figures.items():
            rest = f["wall_s"] - f["results_s"]
            print(f"{path:8} {f['events'] / f['wall_s']:>14,.0f} {f['events'] / f['cpu_s']:>13,.0f}"
                  f" {f['results_s']:>12.1f} s {f['events'] / rest:>21,.0f}"
                  f" {f['peak_mib']:>9,.0f}")
        r, c = figures["row"], figures["columns"]
        print(f"columns/row: {r['wall_s'] / c['wall_s']:.1f}x wall, "
              f"{r['cpu_s'] / c['cpu_s']:.1f}x CPU, "
              f"{(r['wall_s'] - r['results_s']) / (c['wall_s'] - c['results_s']):.1f}x "
              "without the results stage")
        print(f"same rows: {rows['row'] == rows['columns']} ({rows['columns']})")


if __name__ == "__main__":
    main()
