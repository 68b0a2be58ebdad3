"""Batch tracking of job-state events: the row path against the columnar path, same events.

A local lake gets ``--runs`` dispatched runs (simulated Batch on Spot); the job-state events of
their first attempts (RUNNABLE … SUCCEEDED/FAILED, as EventBridge sends them, each a JSON file's
bytes) plus ``--redeliver`` of them again, shuffled, are then processed in batches of ``--batch``
by ``EventService.process`` — once with the row reader and tracker, once with the columnar ones —
each in a fresh process on its own copy of the lake. Printed per path: events/s (wall and CPU),
the part of it spent in the results stage (pricing, DRAGEN metrics: the same code on both
paths), peak memory, and the columnar/row ratio. Both lakes must end with the same rows.
``--batches`` runs the columnar path again at other batch sizes (peak memory against batch
size: the events are read from their file one batch at a time, so what stays is what the
batch and the Runner's memory of its runs hold); ``--paths columns`` skips the row path (large
sizes). The last lines extrapolate the columnar rate to a seed month (~3 M events) and state
the gap to the goal of 50,000 events/s.

    uv run python benchmarks/bench_batch_ingest.py                      # 1,000 runs
    uv run python benchmarks/bench_batch_ingest.py --runs 4000 --batch 20000 --batches 2000,5000
    uv run python benchmarks/bench_batch_ingest.py --runs 16000 --paths columns --window 2000
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
SEED_MONTH_EVENTS = 3_000_000  # the seed center's month of job-state events (issue 15)
GOAL_EVENTS_S = 50_000


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


def build(root: Path, runs: int, redeliver: float, window: int = 0, wave: int = 0) -> int:
    """Dispatch ``runs`` runs into ``root/lake``; their job events into ``root/events.jsonl``
    (one payload a line, as the bytes of an event file). ``window``: 0 shuffles the whole
    stream (a run's events anywhere in it); else each event, and each redelivered copy, lands
    up to ``window`` places after its place in time (a replay of a month's files in time order,
    delivered with jitter). ``wave``: runs dispatched together, a wave every 6 simulated hours
    (0: all at once, so every run is in flight together)."""
    from pipeline_runner.workflows import input_size_for_coverage
    from seqledger.envelopes import object_created

    service = _service(root, None)
    size = input_size_for_coverage("fastq", 38) // 2
    arrivals = [(f"S{i}-{m}", object_created("s3", "in", f"cardio/S{i:06d}/S{i:06d}_{m}.fastq.gz",
                                              size, f"etag-{i}-{m}", T0 + timedelta(seconds=i),
                                              f"{k:016X}"))
                for i in range(runs) for k, m in enumerate(("R1", "R2"))]
    sim = service.runner.executor
    events = []
    wave = wave or runs
    for k, first in enumerate(range(0, runs, wave)):
        now = T0 + timedelta(seconds=runs, hours=6 * k)
        events += sim.advance(now)
        sim.now = max(sim.now, now)
        service.process(arrivals[2 * first:2 * (first + wave)], now=now)
    while (at := sim.next_event_at()) is not None:
        events += sim.advance(at + timedelta(hours=1))
    rng = random.Random(1)
    if window:
        again = rng.sample(range(len(events)), int(len(events) * redeliver))
        placed = [(i + rng.uniform(0, window), i) for i in [*range(len(events)), *again]]
        events = [events[i] for _, i in sorted(placed)]
    else:
        events += rng.sample(events, int(len(events) * redeliver))
        rng.shuffle(events)
    with (root / "events.jsonl").open("w") as f:
        for e in events:
            f.write(json.dumps(json.dumps(e, indent=2)) + "\n")  # the file's text, pretty
    return len(events)


def _batches(path: Path, batch: int):
    """The event files' (name, bytes), ``batch`` at a time, read from their file as needed."""
    chunk = []
    with path.open() as f:
        for i, line in enumerate(f):
            chunk.append((f"event-{i}.json", json.loads(line).encode()))
            if len(chunk) == batch:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


# Where the columnar path's CPU goes (--stages): (module, class or None, function), outermost
# first; an inner stage's time is also in its parent's.
STAGES = [
    ("ingest.event_columns", None, "read_job_changes"),
    ("ingest.event_columns", None, "_screened"),
    ("ingest.event_columns", None, "_parse"),
    ("ingest.event_columns", None, "_normalize"),
    ("pipeline_runner.change_columns", None, "runs_to_load"),
    ("pipeline_runner.service", "Runner", "_load_runs"),
    ("pipeline_runner.service", "Runner", "_read_where"),
    ("pipeline_runner.attempts", None, "history_from_rows"),
    ("pipeline_runner.change_columns", None, "fast_changes"),
    ("pipeline_runner.change_columns", None, "changes_from_table"),
    ("pipeline_runner.service", "Runner", "_track"),
    ("pipeline_runner.service", "Runner", "_resubmit"),
    ("pipeline_runner.service", "Runner", "_write"),
    ("ingest.results", None, "finish_runs"),
    ("ingest.results", None, "cost_rows"),
    ("ingest.dragen.service", None, "ingest_folder"),
    ("ingest.service", "EventService", "_tag_run"),
    ("ingest.results", "BatchWrites", "flush"),
    ("lake.store", None, "to_table"),
    ("ingest.service", "EventService", "_restate_finished"),
    ("ingest.service", "EventService", "_known_quarantine_ids"),
    ("pipeline_runner.service", "Runner", "forget_finished"),
]

# inside read_job_changes, Runner._track, Runner._load_runs, finish_runs; to_table is
# inside several
NESTED = {"_screened", "_parse", "_normalize", "Runner._resubmit", "Runner._read_where",
          "history_from_rows", "cost_rows", "ingest_folder", "EventService._tag_run",
          "BatchWrites.flush", "to_table"}


def _watch(stages: list[tuple[str, str | None, str]]) -> dict[str, float]:
    """Wrap each stage's function to add its CPU seconds to the returned dict."""
    import functools
    import importlib

    spent: dict[str, float] = {}
    for module, owner, name in stages:
        mod = importlib.import_module(module)
        holder = getattr(mod, owner) if owner else mod
        real = getattr(holder, name)
        key = f"{owner}.{name}" if owner else name

        @functools.wraps(real)
        def timed(*args, _real=real, _key=key, **kwargs):
            t = time.process_time()
            try:
                return _real(*args, **kwargs)
            finally:
                spent[_key] = spent.get(_key, 0.0) + time.process_time() - t

        setattr(holder, name, timed)
        for user in ("ingest.service", "ingest.results", "pipeline_runner.service",
                     "lake.store"):
            if owner is None and getattr(importlib.import_module(user), name, None) is real:
                setattr(importlib.import_module(user), name, timed)  # imported by name
    return spent


def run(root: Path, columnar: bool, batch: int, remember: bool = False,
        stages: bool = False) -> dict:
    """Process the events in batches; figures as a dict (called in a fresh process). Only
    ``EventService.process`` is timed, not the reading of the benchmark's own event file."""
    import importlib

    import ingest.results as results

    # What the batch path imports on first use, imported before the clock starts: a replay of
    # a month pays it once (the figure is printed apart), not once per batch.
    t = time.process_time()
    for module in ("pyarrow.json", "pyarrow.compute", "pyarrow.dataset", "pyarrow.parquet",
                   "ingest.event_columns", "ingest.dragen.service", "ingest.happy",
                   "ingest.tagging", "pipeline_runner.change_columns", "lake.claims"):
        importlib.import_module(module)
    import pyarrow.compute as pc

    pc.add(1, 1)  # the compute registry's first call
    imports = time.process_time() - t
    spent_in = _watch(STAGES) if stages else {}

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
    cpu = wall = 0.0
    events = 0
    peaks = []  # the high-water mark after each batch: flat when bounded by the batch
    for payloads in _batches(root / "events.jsonl", batch):
        c, w = time.process_time(), time.perf_counter()
        service.process(payloads, now=T0 + timedelta(days=3))
        if not remember:  # as `seqledger ingest event` does between batches
            service.forget_finished()
        cpu, wall = cpu + time.process_time() - c, wall + time.perf_counter() - w
        events += len(payloads)
        peaks.append(round(_peak_mib()))
    return {"events": events, "wall_s": wall, "cpu_s": cpu, "results_s": spent[0],
            "peak_mib": _peak_mib(), "imports_s": imports,
            "stages": spent_in, "peaks": peaks}


def _peak_mib() -> float:
    """This process's peak RSS. Linux's ru_maxrss carries the parent's peak across fork and
    exec (the parent holds the whole built month), so the kernel's high-water mark of this
    process's own memory is read instead where there is one."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(root: Path, path: str, batch: int, remember: bool = False,
           stages: bool = False) -> dict:
    out = subprocess.run([sys.executable, __file__, "--batch", str(batch), "--child", str(root),
                          path, *(["--remember"] if remember else []),
                          *(["--stages"] if stages else [])],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"the {path} path (batches of {batch:,}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rows(lake: Path) -> dict[str, int]:
    from lake.settings import Settings
    from lake.store import LakeStore

    store = LakeStore(Settings(lake_uri=str(lake / "lake")))
    return {n: store.read(n).num_rows for n in ("job_attempts", "decisions", "runs", "costs")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--batches", default="",
                        help="other batch sizes for the columnar path, comma-separated")
    parser.add_argument("--paths", default="row,columns", help="row,columns or columns")
    parser.add_argument("--redeliver", type=float, default=0.1,
                        help="share of events delivered twice")
    parser.add_argument("--window", type=int, default=0,
                        help="events in time order, each displaced up to this many places "
                             "(0: the whole stream shuffled)")
    parser.add_argument("--wave", type=int, default=0,
                        help="runs dispatched together, a wave every 6 simulated hours "
                             "(0: all at once)")
    parser.add_argument("--remember", action="store_true",
                        help="keep finished runs in the Runner's memory between batches "
                             "(what memory they take when not forgotten)")
    parser.add_argument("--stages", action="store_true",
                        help="print where the columnar path's CPU goes, stage by stage")
    parser.add_argument("--base", type=Path, help="build the lake and events here once and "
                        "reuse them on later runs with the same sizes (default: a temporary one)")
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(Path(args.child[0]), args.child[1] == "columns", args.batch,
                             args.remember, args.stages and args.child[1] == "columns")))
        return
    paths = [p for p in ("row", "columns") if p in args.paths.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-batch-ingest-") as tmp:
        base = args.base or Path(tmp) / "base"
        t = time.perf_counter()
        if (base / "events.jsonl").exists():
            with (base / "events.jsonl").open() as f:
                n = sum(1 for _ in f)
        else:
            base.mkdir(parents=True)
            n = build(base, args.runs, args.redeliver, args.window, args.wave)
        order = f"in time order within {args.window:,} places" if args.window else "shuffled"
        if args.wave:
            order += f"; runs dispatched {args.wave:,} every 6 h"
        print(f"{args.runs:,} runs dispatched, {n:,} job events ({args.redeliver:.0%} "
              f"redelivered, {order}) in {time.perf_counter() - t:.0f} s; batches of "
              f"{args.batch:,}")
        figures, rows = {}, {}
        for path in paths:
            root = Path(tmp) / path
            shutil.copytree(base, root)
            figures[path] = _child(root, path, args.batch, args.remember, args.stages)
            rows[path] = _rows(root)
        print("imports before the clock (once a process): " + ", ".join(
            f"{path} {f['imports_s']:.2f} s CPU" for path, f in figures.items()))
        print(f"{'path':8} {'events/s wall':>14} {'events/s CPU':>13} {'results stage':>14} "
              f"{'events/s w/o results':>21} {'peak MiB':>9}")
        for path, f in figures.items():
            rest = f["wall_s"] - f["results_s"]
            print(f"{path:8} {f['events'] / f['wall_s']:>14,.0f} {f['events'] / f['cpu_s']:>13,.0f}"
                  f" {f['results_s']:>12.1f} s {f['events'] / rest:>21,.0f}"
                  f" {f['peak_mib']:>9,.0f}")
        peaks = figures.get("columns", {}).get("peaks", [])
        if len(peaks) > 1:
            print("columnar path, peak MiB after each batch: " + ", ".join(map(str, peaks)))
        if len(figures) == 2:
            r, c = figures["row"], figures["columns"]
            print(f"columns/row: {r['wall_s'] / c['wall_s']:.1f}x wall, "
                  f"{r['cpu_s'] / c['cpu_s']:.1f}x CPU, "
                  f"{(r['wall_s'] - r['results_s']) / (c['wall_s'] - c['results_s']):.1f}x "
                  "without the results stage")
            print(f"same rows: {rows['row'] == rows['columns']} ({rows['columns']})")
        if figures.get("columns", {}).get("stages"):
            c = figures["columns"]
            print(f"columnar path, CPU by stage (of {c['cpu_s']:.2f} s; nested stages are also "
                  "in their parent's):")
            for (_, owner, name) in STAGES:
                key = f"{owner}.{name}" if owner else name
                cpu = c["stages"].get(key, 0.0)
                print(f"  {key:36} {cpu:7.2f} s {cpu / c['cpu_s']:6.1%}"
                      f" {cpu / c['events'] * 1e6:7.1f} us/event")
            rest = c["cpu_s"] - sum(v for k, v in c["stages"].items() if k not in NESTED)
            print(f"  {'everything else':36} {rest:7.2f} s {rest / c['cpu_s']:6.1%}"
                  f" {rest / c['events'] * 1e6:7.1f} us/event")
        sizes = [int(b) for b in args.batches.split(",") if b]
        if sizes:
            print(f"columnar path by batch size ({n:,} events): peak memory (RSS) of each")
            print(f"{'batch':>8} {'events/s wall':>14} {'events/s CPU':>13} {'peak MiB':>9}  "
                  "after each batch")
            for size in sizes:
                root = Path(tmp) / f"columns-{size}"
                shutil.copytree(base, root)
                f = _child(root, "columns", size, args.remember)
                shutil.rmtree(root)
                after = f["peaks"] if len(f["peaks"]) <= 12 else [*f["peaks"][:6], "…",
                                                                   *f["peaks"][-6:]]
                print(f"{size:>8,} {f['events'] / f['wall_s']:>14,.0f} "
                      f"{f['events'] / f['cpu_s']:>13,.0f} {f['peak_mib']:>9,.0f}  "
                      + ", ".join(map(str, after)))
        if "columns" in figures:
            c = figures["columns"]
            wall_rate, cpu_rate = c["events"] / c["wall_s"], c["events"] / c["cpu_s"]
            print(f"a seed month ({SEED_MONTH_EVENTS:,} events) at the columnar rate measured "
                  f"here (extrapolated): {SEED_MONTH_EVENTS / wall_rate / 60:.0f} min wall, "
                  f"{SEED_MONTH_EVENTS / cpu_rate / 60:.0f} min CPU (goal: under 1 min)")
            print(f"goal {GOAL_EVENTS_S:,} events/s: {GOAL_EVENTS_S / cpu_rate:.1f}x short on CPU,"
                  f" {GOAL_EVENTS_S / wall_rate:.1f}x on wall" if cpu_rate < GOAL_EVENTS_S
                  else f"goal {GOAL_EVENTS_S:,} events/s: met on CPU")


if __name__ == "__main__":
    main()
