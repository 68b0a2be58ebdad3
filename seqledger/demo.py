"""``seqledger demo``: a small production month played through the real event path.

About 50 samples in 3 projects arrive as FASTQ pairs (a few CRAMs for re-analysis, a few files that
are not inputs, one sample whose project nobody pays for, one redelivered event and one broken
event file). Each arrival becomes an S3 event in one of the four envelopes AWS uses; events go
through the same service as the Lambda handlers; dispatch goes to a simulated AWS Batch on Spot
that answers with Batch-shaped job-state events and writes DRAGEN-format metric files; runs are
tracked, retried by policy, priced, their metrics loaded and gated on clinical QC thresholds.
Everything lands in the lake; the summary is read back from it with SQL.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lake.settings import Settings
from lake.store import LakeStore
from seqledger.envelopes import ENVELOPES, object_created

INPUT_BUCKET = "seqledger-demo-input"
PROJECTS = {  # project: (cost centre, requested by, share of samples)
    "cardio-wgs": ("CC-1001", "a.lee", 0.45),
    "onco-germline": ("CC-2040", "m.okafor", 0.35),
    "rare-disease": ("CC-3300", "j.santos", 0.20),
}
PIPELINE_RELEASE = "dragen-4.2.4"
STEP = timedelta(hours=2)  # events are processed in batches of this much simulated time


@dataclass(frozen=True, slots=True)
class Arrival:
    at: datetime
    key: str
    size_bytes: int
    envelope: str

    @property
    def etag(self) -> str:
        return hashlib.md5(f"{self.key}:{self.size_bytes}".encode()).hexdigest()  # noqa: S324

    def event(self, n: int) -> dict[str, Any]:
        sequencer = f"{int(self.at.timestamp() * 1000):016X}{n:04X}"
        return object_created(
            self.envelope, INPUT_BUCKET, self.key, self.size_bytes, self.etag, self.at, sequencer
        )


@dataclass
class DemoPlan:
    month_start: datetime
    arrivals: list[Arrival] = field(default_factory=list)
    samples: int = 0


MARKER = ".seqledger-demo"  # in the root of a lake the demo made: it may replace that lake
MARKER_TEXT = "This lake was made by `seqledger demo`; running the demo again replaces it.\n"


@dataclass(frozen=True, slots=True)
class LakeClaim:
    """Whether the demo may write to (and, locally, replace) a lake, and what it holds."""

    owned: bool
    exists: bool
    files: int  # files under the lake (local) or entries at its root (S3)
    why: str


def claim_lake(settings: Settings) -> LakeClaim:
    """The demo owns a lake that does not exist yet, is empty, or carries its marker."""
    import pyarrow.fs as pafs

    from lake.location import LakeState, lake_state
    from lake.store import filesystem

    check = lake_state(settings)
    if check.state in (LakeState.NOT_A_FOLDER, LakeState.UNREACHABLE):
        from lake.location import LakeUnavailableError

        raise LakeUnavailableError(check)
    if check.state is LakeState.MISSING:
        if settings.lake_is_s3:  # the bucket is missing: the demo does not create buckets
            raise LakeUnavailableError(check)
        return LakeClaim(True, False, 0, "new")
    fs, root = filesystem(settings)
    entries = fs.get_file_info(pafs.FileSelector(root, recursive=not settings.lake_is_s3))
    files = [e for e in entries if e.type == pafs.FileType.File]
    if not entries:
        return LakeClaim(True, True, 0, "empty")
    if fs.get_file_info(f"{root}/{MARKER}").type == pafs.FileType.File:
        return LakeClaim(True, True, len(files), "made by the demo")
    return LakeClaim(False, True, len(files), f"not made by the demo (no {MARKER} marker)")


def mark_lake(settings: Settings) -> None:
    """Create the lake's root (if needed) and mark it as the demo's."""
    from lake.store import filesystem

    fs, root = filesystem(settings)
    fs.create_dir(root, recursive=True)
    with fs.open_output_stream(f"{root}/{MARKER}") as out:
        out.write(MARKER_TEXT.encode())


def demo_workdir(settings: Settings) -> Path:
    """Where the demo keeps its event files, outputs and project registry: inside its own lake.

    An S3 lake gets a local folder named after it, so the event files can be replayed.
    """
    if not settings.lake_is_s3:
        return Path(settings.lake_uri) / "demo"
    name = settings.lake_uri.removeprefix("s3://").replace("/", "_")
    return Path(".seqledger") / f"demo-{name}"


def plan_month(samples: int, seed: int, month_start: datetime) -> DemoPlan:
    """The objects that arrive during the month, deterministic for a seed."""
    from pipeline_runner.workflows import input_size_for_coverage

    rng = random.Random(seed)
    plan = DemoPlan(month_start)
    names = list(PROJECTS)
    weights = [PROJECTS[p][2] for p in names]
    n_cram = max(1, samples // 12)
    days = 27 * 24 * 3600
    for i in range(samples):
        project = rng.choices(names, weights)[0]
        sample = f"{project.split('-')[0][:4].upper()}{seed:02d}{i:04d}"
        at = month_start + timedelta(seconds=rng.randrange(days))
        envelope = ENVELOPES[i % len(ENVELOPES)]
        if i < n_cram:  # re-analysis of an earlier alignment
            size = input_size_for_coverage("cram", rng.uniform(32, 40))
            plan.arrivals.append(Arrival(at, f"{project}/{sample}/{sample}.cram", size, envelope))
            plan.arrivals.append(
                Arrival(
                    at + timedelta(seconds=5),
                    f"{project}/{sample}/{sample}.cram.crai",
                    2_000_000,
                    envelope,
                )
            )
        else:
            coverage = rng.gauss(42, 4)  # sequenced depth; ~15 % is lost to duplicates
            half = input_size_for_coverage("fastq", coverage) // 2
            for mate, delay in (("R1", 0), ("R2", rng.randrange(60, 1800))):
                key = f"{project}/{sample}/{sample}_S{i % 96 + 1}_L001_{mate}_001.fastq.gz"
                plan.arrivals.append(
                    Arrival(
                        at + timedelta(seconds=delay), key, half + rng.randrange(10**6), envelope
                    )
                )
            if i % 10 == 3:  # checksums travel with the data; they are not inputs
                plan.arrivals.append(
                    Arrival(
                        at + timedelta(seconds=2000),
                        f"{project}/{sample}/{sample}.md5",
                        120,
                        envelope,
                    )
                )
        plan.samples += 1
    last = month_start + timedelta(days=27)
    plan.arrivals += [
        Arrival(month_start + timedelta(hours=1), "cardio-wgs/SampleSheet.csv", 4_096, "s3"),
        # one mate only: never complete, never dispatched
        Arrival(
            last,
            "rare-disease/RARE_ORPHAN/RARE_ORPHAN_S1_L001_R1_001.fastq.gz",
            input_size_for_coverage("fastq", 35) // 2,
            "sns",
        ),
        # a project nobody pays for: refused by the tag policy at dispatch
        *[
            Arrival(
                last + timedelta(minutes=m),
                f"unfunded-pilot/PILOT0001/PILOT0001_{mate}.fastq.gz",
                input_size_for_coverage("fastq", 35) // 2,
                "eventbridge",
            )
            for m, mate in ((0, "R1"), (3, "R2"))
        ],
    ]
    plan.samples += 2
    plan.arrivals.sort(key=lambda a: (a.at, a.key))
    return plan


def projects_toml() -> str:
    """The demo's project registry in the SEQLEDGER_PROJECTS file format."""
    lines = ["# Who pays for each project's runs (seqledger demo)."]
    for project, (cost_centre, requested_by, _) in PROJECTS.items():
        lines += [
            "",
            f"[projects.{project}]",
            f'cost_centre = "{cost_centre}"',
            f'requested_by = "{requested_by}"',
        ]
    return "\n".join(lines) + "\n"


@dataclass
class DemoResult:
    lake_uri: str
    events_dir: Path
    payloads: int = 0
    batch_events: int = 0
    quarantined: int = 0
    elapsed_s: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


def play(
    settings: Settings,
    *,
    samples: int = 50,
    seed: int = 7,
    month: str = "2026-10",
    workdir: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoResult:
    """Play the month into the lake of ``settings``; returns what happened, read from the lake."""
    import time

    from expectations.sample_qc import run_gate
    from ingest.ec2_describe import describer
    from ingest.results import spend_estimator
    from ingest.service import EventService
    from pipeline_runner.executors.simulated import SimulatedBatch
    from pipeline_runner.prices import PriceBook
    from pipeline_runner.projects import ProjectRegistry, ProjectTags
    from pipeline_runner.service import Runner
    from pipeline_runner.workflows import RunnerConfig
    from seqledger.demo_releases import play_validations

    started = time.perf_counter()
    month_start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    plan = plan_month(samples, seed, month_start)
    events_dir = workdir / "demo-events"
    outputs = workdir / "outputs"
    shutil.rmtree(events_dir, ignore_errors=True)
    events_dir.mkdir(parents=True)

    store = LakeStore(settings)
    config = RunnerConfig(output_prefix=str(outputs.resolve()), pipeline_release=PIPELINE_RELEASE)
    sim = SimulatedBatch(
        seed=seed,
        clock_start=month_start,
        spot_reclaim_rate=0.1,
        duplicate_rate=0.05,
        reorder_rate=0.05,
        alignment_outputs=True,
        instance_events=True,  # EC2 state changes: instance lives, whole-instance compute
    )
    prices = PriceBook.load_default()
    store.write("prices", prices.rows())  # the dated price tables, for savings baselines
    runner = Runner(store, sim, config, clock=lambda: sim.now)
    runner.estimate_spend = spend_estimator(runner, prices)
    projects = ProjectRegistry({p: ProjectTags(cc, who) for p, (cc, who, _) in PROJECTS.items()})
    # The same registry as a file, so `seqledger ingest event` can replay the demo's events.
    (workdir / "projects.toml").write_text(projects_toml())
    service = EventService(
        store,
        runner,
        projects,
        PriceBook.load_default(),
        output_prefix=config.output_prefix,
        pipeline_release=PIPELINE_RELEASE,
        shared_lake=False,  # the demo is the lake's only writer
        describe_instances=describer(sim, sim.region),
    )
    result = DemoResult(settings.lake_uri, events_dir)

    def handle(batch: list[tuple[str, Any]], now: datetime) -> None:
        if batch:
            out = service.process(batch, now=now)
            result.payloads += out.payloads
            result.quarantined += len(out.quarantine)

    # Arrival events, written as files too, so `seqledger ingest event` can replay any of them.
    arrival_events: list[tuple[datetime, str, Any]] = []
    for n, a in enumerate(plan.arrivals):
        payload = a.event(n)
        path = events_dir / f"{n:04d}-{a.envelope}.json"
        path.write_text(json.dumps(payload, indent=2))
        # named as a replay names them (`seqledger ingest event` resolves paths): same ids
        arrival_events.append((a.at, str(path.resolve()), payload))
    # S3 delivers at least once: redeliver one event; and one event file arrives broken.
    redelivered = arrival_events[len(arrival_events) // 3]
    arrival_events.append(
        (redelivered[0] + timedelta(minutes=7), redelivered[1] + "#redelivery", redelivered[2])
    )
    broken = events_dir / "9999-truncated.json"
    broken.write_text(json.dumps(arrival_events[0][2])[:150])
    arrival_events.append(
        (month_start + timedelta(days=3), str(broken.resolve()), broken.read_bytes()))
    arrival_events.sort(key=lambda e: e[0])

    clock = month_start
    i, total = 0, len(arrival_events)
    while i < total or sim.pending:
        clock += STEP
        batch_events = sim.advance(clock)
        result.batch_events += len(batch_events)
        handle([(f"batch:{e['id']}", e) for e in batch_events], clock)
        arrived = []
        while i < total and arrival_events[i][0] <= clock:
            arrived.append((arrival_events[i][1], arrival_events[i][2]))
            i += 1
        handle(arrived, clock)
        if progress:
            progress(clock.strftime("%Y-%m-%d %H:%M"), i, total)
    gate = run_gate(store, settings, evaluated_at=clock)
    validations = play_validations(settings, store, production_release=PIPELINE_RELEASE,
                                   month_start=month_start, output_prefix=config.output_prefix,
                                   seed=seed)
    take_inventories(store, outputs, month_start)
    compacted = compact_all(store)
    refresh_rollups(settings, store)
    result.elapsed_s = time.perf_counter() - started
    result.summary = summarize(settings, store)
    result.summary["qc_gated_now"] = len(gate.verdicts)
    result.summary["files_compacted"] = compacted
    result.summary["releases"] = [
        {"release": v.release, "baseline": v.baseline, "verdict": v.verdict,
         "failed": sorted({r["check_id"] for r in v.failed("fail")}), "report": v.report_uri}
        for v in validations]
    return result


def refresh_rollups(settings: Settings, store: LakeStore) -> None:
    """Recompute every month of the rollups, which the dashboards read."""
    from analytics.engine import connect
    from analytics.rollups import refresh

    refresh(connect(settings, store), store)


def compact_all(store: LakeStore) -> tuple[int, int]:
    """Compact every month of every table; (files before, files after)."""
    from lake.schemas import TABLES

    before = after = 0
    from analytics.rollups import BY_TABLE

    for name in (n for n in TABLES if n not in BY_TABLE):
        for m in sorted({f.split("/month=")[1].split("/")[0] for f in store.files(name)}):
            b, a = store.compact(name, m)
            before, after = before + b, after + a
    return before, after


# The production month's figures: the release-validation cohort is reported on its own.
_PROD = "project IS DISTINCT FROM 'giab-validation'"
_VERDICTS = f"SELECT count(*) FROM qc_results WHERE {_PROD} AND check_id = 'overall' AND verdict = "
SUMMARY_SQL = {
    "samples_arrived": "SELECT count(DISTINCT sample_id) FROM arrivals "
    "WHERE input_kind <> 'unknown' AND sample_id IS NOT NULL",
    "objects_not_inputs": "SELECT count(*) FROM arrivals "
    "WHERE input_kind IN ('unknown', 'sample_sheet')",
    "runs": f"SELECT count(*) FROM run_latest WHERE {_PROD}",
    "runs_succeeded": f"SELECT count(*) FROM run_latest WHERE {_PROD} AND status = 'SUCCEEDED'",
    "runs_failed": f"SELECT count(*) FROM run_latest WHERE {_PROD} AND status = 'FAILED'",
    "attempts": f"SELECT count(DISTINCT job_id) FROM job_attempts WHERE {_PROD}",
    "spot_reclaims": f"SELECT count(*) FROM decisions WHERE {_PROD} "
    "AND failure_kind = 'spot_reclaim'",
    "retries": f"SELECT count(*) FROM decisions WHERE {_PROD} "
    "AND action IN ('retry', 'retry_on_demand')",
    "moved_to_on_demand": f"SELECT count(*) FROM decisions WHERE {_PROD} "
    "AND action = 'retry_on_demand'",
    "application_errors": f"SELECT count(*) FROM decisions WHERE {_PROD} "
    "AND failure_kind = 'application_error'",
    "qc_pass": _VERDICTS + "'pass'",
    "qc_review": _VERDICTS + "'review'",
    "qc_fail": _VERDICTS + "'fail'",
    "quarantined": "SELECT count(*) FROM quarantine",
    "cost_usd": f"SELECT coalesce(sum(cost_usd), 0) FROM costs WHERE {_PROD}",
    # EC2 instances recorded (launch to termination) and the attempts charged a whole one
    "instances": "SELECT count(*) FROM instance_lives WHERE ended_at IS NOT NULL",
    "whole_instance_attempts": "SELECT count(*) FROM instance_tenancy "
    f"WHERE sole_job_id IS NOT NULL AND {_PROD}",
    "instance_boot_idle_usd": f"SELECT coalesce(sum(cost_usd), 0) FROM costs WHERE {_PROD} "
    "AND component IN ('compute:instance-boot', 'compute:instance-idle')",
    "validation_cost_usd": f"SELECT coalesce(sum(cost_usd), 0) FROM costs WHERE NOT ({_PROD})",
}
COST_BY_COMPONENT_SQL = f"""
    SELECT split_part(component, ':', 1) AS component, round(sum(cost_usd), 2) AS cost_usd,
           max(CASE WHEN price_status = 'assumed' THEN 1 ELSE 0 END) AS assumed,
           max(CASE WHEN price_status = 'approximate' THEN 1 ELSE 0 END) AS approximate
    FROM costs WHERE {_PROD} GROUP BY 1 ORDER BY 2 DESC
"""
COST_BY_PROJECT_SQL = f"""
    SELECT project, count(DISTINCT run_id) AS runs, round(sum(cost_usd), 2) AS cost_usd,
           round(sum(cost_usd) / count(DISTINCT run_id), 2) AS usd_per_run
    FROM costs WHERE {_PROD} GROUP BY project ORDER BY project
"""


INVENTORY_MONTHS = 3  # the demo's lake is measured through the end of its third month


def take_inventories(store: LakeStore, outputs: Path, month_start: datetime) -> int:
    """A daily local inventory of the output folder from the month's start to the end of its
    third month (01:00 UTC, as S3 Inventory scans): archival needs time to happen (30 days in
    Standard by default), so the demo measures storage past its month. Rows written."""
    from ingest.inventory import local_inventory, scan_folder

    end = month_start
    for _ in range(INVENTORY_MONTHS):
        end = (end + timedelta(days=32)).replace(day=1)
    day, rows = month_start + timedelta(hours=1), 0
    objects = scan_folder(str(outputs))  # every run has finished: the files are all there
    while day < end:
        batch = local_inventory(str(outputs), day, objects)
        rows += store.write("storage", batch).rows_written if batch else 0
        day += timedelta(days=1)
    return rows


STORAGE_SQL = f"""
    SELECT storage_class, round(sum(gb_months), 1) AS gb_months,
           round(sum(cost_usd), 2) AS cost_usd, round(sum(standard_cost_usd), 2) AS standard_usd,
           max(CASE WHEN approximate_rows > 0 THEN 1 ELSE 0 END) AS approximate,
           min(month) AS first_month, max(month) AS last_month
    FROM storage_costs WHERE {_PROD} GROUP BY storage_class ORDER BY storage_class
"""


def summarize(settings: Settings, store: LakeStore) -> dict[str, Any]:
    """The month's figures, read back from the lake with SQL (DuckDB views)."""
    from analytics.engine import connect

    con = connect(settings, store)
    out: dict[str, Any] = {k: con.sql(q).fetchall()[0][0] for k, q in SUMMARY_SQL.items()}
    rel = con.sql(COST_BY_PROJECT_SQL)
    out["cost_by_project"] = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    rel = con.sql(COST_BY_COMPONENT_SQL)
    out["cost_by_component"] = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    rel = con.sql(STORAGE_SQL)
    out["storage_by_class"] = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    out["automation"] = automation_cost(out["attempts"], out["samples_arrived"])
    return out


def automation_cost(attempts: int, samples: int) -> dict[str, Any]:
    """The month's automation (Lambda, SNS, EventBridge) at the demo's own event volume."""
    from pipeline_runner.cost import AutomationVolume, automation_monthly_cost
    from pipeline_runner.prices import PriceBook

    month = datetime.now(UTC)
    lines = automation_monthly_cost(
        AutomationVolume(batch_jobs_per_month=attempts, samples_per_month=samples),
        PriceBook.load_default(), month)
    return {"cost_usd": sum(x.cost_usd or 0 for x in lines),
            "approximate": any(x.price_status != "list" for x in lines),
            "unpriced": sum(x.cost_usd is None for x in lines)}
