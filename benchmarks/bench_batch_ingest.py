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
    uv run python benchmarks/bench_batch_ingest.py --runs 4000 --e2e     # as users run it

The stream is complete: the build tracks the events as they happen (on a scratch lake), so
the attempts the Runner resubmits run too and every run ends (``--first-attempts``: only the
first attempts' events, the stream of earlier rounds, whose failed runs stay open). ``--e2e``
writes the events as files in a folder and times ``seqledger ingest event DIR --no-follow``
with ``--jobs 1`` and ``--jobs 2`` as processes: wall, CPU of the process tree, peak memory,
the same rows and report in both lakes, and the seed month extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import process_tree  # noqa: E402  (benchmarks/: a command measured as a process tree)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SEED_MONTH_EVENTS = 3_000_000  # the seed center's month of job-state events (issue 15)
GOAL_EVENTS_S = 50_000


def _service(lake: Path, columnar: bool | None, out: Path | None = None):
    """A service as ``seqledger ingest event`` builds one with the simulated executor (its
    seed, 0: a resubmission gets the same job id in any process), on ``lake``/lake."""
    from ingest.service import EventService
    from lake.settings import Settings
    from lake.store import LakeStore
    from pipeline_runner.executors.simulated import SimulatedBatch
    from pipeline_runner.prices import PriceBook
    from pipeline_runner.projects import ProjectRegistry, ProjectTags
    from pipeline_runner.service import Runner
    from pipeline_runner.workflows import RunnerConfig

    store = LakeStore(Settings(lake_uri=str(lake / "lake")))
    sim = SimulatedBatch(seed=0, clock_start=T0, write_outputs=False)
    out = out or lake / "out"
    config = RunnerConfig(output_prefix=str(out))
    service = EventService(store, Runner(store, sim, config),
                           ProjectRegistry({"cardio": ProjectTags("CC-1", "a.lee")}),
                           PriceBook.load_default(), output_prefix=str(out),
                           pipeline_release="dragen-4.2.4", columnar=columnar)
    service.shared_lake = False
    return service


def build(root: Path, runs: int, redeliver: float, window: int = 0, wave: int = 0,
          complete: bool = True) -> int:
    """Dispatch ``runs`` runs into ``root/lake``; their job events into ``root/events.jsonl``
    (one payload a line, as the bytes of an event file). ``window``: 0 shuffles the whole
    stream (a run's events anywhere in it); else each event, and each redelivered copy, lands
    up to ``window`` places after its place in time (a replay of a month's files in time order,
    delivered with jitter). ``wave``: runs dispatched together, a wave every 6 simulated hours
    (0: all at once, so every run is in flight together). ``complete``: the events are tracked
    as they happen on a scratch lake, so the attempts the Runner resubmits run too and the
    stream holds every attempt's events (every run ends); else only the first attempts'."""
    from pipeline_runner.workflows import input_size_for_coverage
    from seqledger.envelopes import object_created

    service = _service(root, None)
    # the same dispatches on a scratch lake, whose Runner tracks the events as they come: its
    # simulator (same seed) gives a resubmitted attempt the job id the replay's will
    tracker = _service(root / "scratch", None, root / "out") if complete else None
    size = input_size_for_coverage("fastq", 38) // 2
    arrivals = [(f"S{i}-{m}", object_created("s3", "in", f"cardio/S{i:06d}/S{i:06d}_{m}.fastq.gz",
                                              size, f"etag-{i}-{m}", T0 + timedelta(seconds=i),
                                              f"{k:016X}"))
                for i in range(runs) for k, m in enumerate(("R1", "R2"))]
    sim = (tracker or service).runner.executor
    events = []

    def follow(until: datetime | None) -> None:
        while (at := sim.next_event_at()) is not None and (until is None or at <= until):
            step = at + timedelta(hours=1)
            batch = sim.advance(step if until is None else min(step, until))
            events.extend(batch)
            if tracker is not None:
                tracker.process([(f"batch:{e['id']}", e) for e in batch], now=at)
                tracker.forget_finished()

    wave = wave or runs
    for k, first in enumerate(range(0, runs, wave)):
        now = T0 + timedelta(seconds=runs, hours=6 * k)
        follow(now)
        sim.now = max(sim.now, now)
        for s in filter(None, (service, tracker)):
            s.process(arrivals[2 * first:2 * (first + wave)], now=now)
    follow(None)
    if tracker is not None:
        shutil.rmtree(root / "scratch")
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
    ("pipeline_runner.attempts", None, "histories_from_columns"),
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
          "histories_from_columns", "cost_rows", "ingest_folder", "EventService._tag_run",
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
    import ingest.results as results

    # What the batch path imports on first use, imported before the clock starts: a replay of
    # a month pays it once (the figure is printed apart), not once per batch.
    t = time.process_time()
    from ingest.parallel import import_batch_modules

    import_batch_modules()
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
    held = []
    for payloads in _batches(root / "events.jsonl", batch):
        c, w = time.process_time(), time.perf_counter()
        service.process(payloads, now=T0 + timedelta(days=3))
        if not remember:  # as `seqledger ingest event` does between batches
            service.forget_finished()
        cpu, wall = cpu + time.process_time() - c, wall + time.perf_counter() - w
        events += len(payloads)
        peaks.append(round(process_tree.own_peak_mib()))
        # what memory holds after the batch (private counts, read for the benchmark only):
        # the runs in the Runner's memory, the simulator's planned events of the jobs the
        # replay resubmitted (never delivered: the replay does not follow them)
        held.append((len(service.runner._runs), len(service.runner.executor._heap)))
    return {"events": events, "wall_s": wall, "cpu_s": cpu, "results_s": spent[0],
            "peak_mib": process_tree.own_peak_mib(), "imports_s": imports,
            "stages": spent_in, "peaks": peaks, "held": held}


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


# -- end to end: `seqledger ingest event DIR` as a process, as users run it ---------------------

def write_files(root: Path, per_folder: int = 1000) -> Path:
    """The stream as event files in ``root/files`` (a folder of ``per_folder`` files each, in
    stream order by name), as an archive replay or a backfill lays them out."""
    folder = root / "files"
    if folder.exists():
        return folder
    with (root / "events.jsonl").open() as f:
        for i, line in enumerate(f):
            if i % per_folder == 0:
                part = folder / f"{i // per_folder:05d}"
                part.mkdir(parents=True)
            (part / f"event-{i:08d}.json").write_text(json.loads(line))
    return folder


# The command, its simulated executor without the DRAGEN outputs it renders when it plans a
# job (12 ms a resubmission, the simulator's own work: on AWS a submission is an API call), as
# the in-process paths' simulator (write_outputs=False).
_CLI = """
import functools, sys
from pipeline_runner.executors.simulated import SimulatedBatch
SimulatedBatch.__init__ = functools.partialmethod(SimulatedBatch.__init__, write_outputs=False)
from seqledger.cli import main
sys.argv = ["seqledger", *sys.argv[1:]]
main()
"""


def cli(root: Path, files: Path, jobs: int) -> dict:
    """``seqledger ingest event FILES --no-follow --jobs N`` on ``root``'s lake as a process:
    wall, CPU of the process tree (the workers are waited for, so their CPU is in it), peak
    memory (the tree's RSS summed, and its largest process's VmHWM: /proc sampled every 50 ms),
    its report and exit status."""
    projects = root / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    env = {**os.environ, "SEQLEDGER_LAKE": str(root / "lake"), "SEQLEDGER_EXECUTOR": "simulated",
           "SEQLEDGER_PROJECTS": str(projects), "SEQLEDGER_OUTPUT_PREFIX": str(root / "out")}
    command = [sys.executable, "-c", _CLI, "ingest", "event", "--no-follow", "--jobs", str(jobs),
               str(files)]
    m = process_tree.measure(command, env, every_s=0.05)
    if m.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} exited {m.returncode}:\n{m.err}")
    report = [line for line in m.out.splitlines() if not line.startswith("lake: ")]
    return {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "sum_mib": m.tree_mib,
            "largest_mib": m.largest_mib, "report": report, "exit": m.returncode}


def end_to_end(tmp: Path, base: Path, n: int, jobs: list[int]) -> None:
    """``ingest event DIR`` with each of ``jobs`` in turn (a value may repeat: alternating
    runs), each on its own copy of the lake: figures, the same rows and report as the first,
    the seed month extrapolated from the best."""
    t = time.perf_counter()
    files = write_files(base)
    print(f"{n:,} event files written in {time.perf_counter() - t:.0f} s; "
          f"`seqledger ingest event {files.name}/ --no-follow --jobs N` as a process (batches "
          "of 20,000 files), each run on its own copy of the lake")
    print(f"{'--jobs':>6} {'wall s':>7} {'CPU s':>7} {'events/s wall':>14} "
          f"{'events/CPU-s':>13} {'peak MiB (tree':>15} {'largest)':>9} {'exit':>5}  same as "
          "the first: rows, report")
    runs = []
    for i, j in enumerate(jobs):
        root = tmp / f"jobs-{i}"
        shutil.copytree(base / "lake", root / "lake")
        f = cli(root, files, j)
        f["rows"] = _rows(root)
        shutil.rmtree(root)
        runs.append((j, f))
        first = runs[0][1]
        print(f"{j:>6} {f['wall_s']:>7.1f} {f['cpu_s']:>7.1f} {n / f['wall_s']:>14,.0f} "
              f"{n / f['cpu_s']:>13,.0f} {f['sum_mib']:>15,.0f} {f['largest_mib']:>9,.0f}"
              f" {f['exit']:>5}  {f['rows'] == first['rows']}, "
              f"{(f['report'], f['exit']) == (first['report'], first['exit'])}", flush=True)
    print(f"rows: {runs[0][1]['rows']}")
    for j in sorted({j for j, _ in runs}):
        mine = [f for k, f in runs if k == j]
        print(f"--jobs {j}: median {statistics.median(f['wall_s'] for f in mine):.1f} s wall, "
              f"{statistics.median(f['cpu_s'] for f in mine):.1f} s CPU ({len(mine)} runs)")
    best = max(n / f["wall_s"] for _, f in runs)
    print(f"a seed month ({SEED_MONTH_EVENTS:,} events) at the best rate measured here "
          f"(extrapolated): {SEED_MONTH_EVENTS / best / 60:.1f} min wall (goal: under 1 min); "
          f"goal {GOAL_EVENTS_S:,} events/s: "
          + (f"{GOAL_EVENTS_S / best:.1f}x short" if best < GOAL_EVENTS_S else "met"))


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
    parser.add_argument("--first-attempts", action="store_true",
                        help="only the first attempts' events (the stream of earlier rounds: "
                             "runs whose attempt failed stay open)")
    parser.add_argument("--e2e", action="store_true",
                        help="end to end instead: the events as files in a folder, `seqledger "
                             "ingest event DIR --no-follow` with --jobs 1 and 2 as processes")
    parser.add_argument("--jobs", default="1,2", help="--jobs values for --e2e, run in turn "
                        "(repeat them to alternate: 1,2,1,2)")
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
            n = build(base, args.runs, args.redeliver, args.window, args.wave,
                      not args.first_attempts)
        order = f"in time order within {args.window:,} places" if args.window else "shuffled"
        if args.wave:
            order += f"; runs dispatched {args.wave:,} every 6 h"
        print(f"{args.runs:,} runs dispatched, {n:,} job events ({args.redeliver:.0%} "
              f"redelivered, {order}) in {time.perf_counter() - t:.0f} s; batches of "
              f"{args.batch:,}")
        if args.e2e:
            end_to_end(Path(tmp), base, n, [int(j) for j in args.jobs.split(",")])
            return
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
                held = f["held"] if len(f["held"]) <= 12 else [*f["held"][:6], "…",
                                                                *f["held"][-6:]]
                print(f"{'':>47}runs in the Runner's memory / simulator's undelivered events: "
                      + ", ".join(h if isinstance(h, str) else f"{h[0]}/{h[1]}" for h in held))
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
