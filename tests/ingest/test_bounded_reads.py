"""One event costs the same on day 1 and day 365: what the dispatcher and the recorder read.

Each invocation is a fresh service (as a Lambda invocation is). The lake's history holds
unreadable files in an old partition: an invocation that scanned history would trip over them,
one that reads only the partitions around its event never opens them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.service import EventService
from lake.store import LakeStore
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.prices import PriceBook
from pipeline_runner.projects import ProjectRegistry, ProjectTags
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig, input_size_for_coverage
from seqledger.envelopes import object_created

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROJECTS = ProjectRegistry({"cardio": ProjectTags("CC-1", "a.lee")})
HISTORY = ("arrivals", "runs", "job_attempts", "decisions")


def _fresh(store: LakeStore, executor: SimulatedBatch, tmp_path) -> EventService:
    config = RunnerConfig(output_prefix=str(tmp_path / "out"))
    return EventService(store, Runner(store, executor, config), PROJECTS,
                        PriceBook.load_default(), output_prefix=str(tmp_path / "out"),
                        pipeline_release="dragen-4.2.4")


def _mate(sample: str, mate: str, at: datetime) -> tuple[str, dict]:
    size = input_size_for_coverage("fastq", 38) // 2
    key = f"cardio/{sample}/{sample}_{mate}.fastq.gz"
    return (f"{sample}-{mate}", object_created("s3", "in", key, size, f"etag-{sample}-{mate}",
                                               at, f"{at.timestamp():016.0f}"))


def _poison_history(store: LakeStore, month: str = "2024-01") -> None:
    """An unreadable file in an old partition of each table an event could look in."""
    for name in HISTORY:
        path = f"{store.table_path(name)}/month={month}"
        store.fs.create_dir(path, recursive=True)
        with store.fs.open_output_stream(f"{path}/part-0123456789abcdef01234567.parquet") as f:
            f.write(b"not parquet: reading this means the invocation scanned history")


def _events_until_done(store, executor, tmp_path, start: datetime) -> list:
    """Feed the simulated Batch's events, each batch to a fresh service; returns the outcomes."""
    outcomes = []
    while (at := executor.next_event_at()) is not None:
        events = executor.advance(at + timedelta(hours=1))
        service = _fresh(store, executor, tmp_path)
        outcomes.append(service.process([(f"batch:{e['id']}", e) for e in events],
                                        now=max(at, start)))
    return outcomes


def test_recent_months_are_the_event_month_and_the_one_before():
    from pipeline_runner.service import recent_months

    assert recent_months(datetime(2026, 3, 2, tzinfo=UTC)) == ["2026-01", "2026-02", "2026-03"]
    assert recent_months(datetime(2026, 3, 31, tzinfo=UTC)) == ["2026-02", "2026-03"]
    assert recent_months(datetime(2026, 1, 15, tzinfo=UTC)) == ["2025-12", "2026-01"]


def test_the_dispatcher_reads_the_sample_s_recent_arrivals_not_the_table(lake_settings,
                                                                          tmp_path):
    store = LakeStore(lake_settings)
    _poison_history(store)
    executor = SimulatedBatch(seed=3, clock_start=T0)

    # the mates arrive in two invocations, a day apart: the second finds the first's arrival
    first = _fresh(store, executor, tmp_path).process([_mate("S1", "R1", T0)], now=T0)
    later = T0 + timedelta(days=1)
    second = _fresh(store, executor, tmp_path).process([_mate("S1", "R2", later)], now=later)

    assert first.runs_dispatched == [] and first.quarantine == []
    assert len(second.runs_dispatched) == 1 and second.quarantine == []


def test_the_recorder_takes_the_run_from_the_event_and_reads_recent_months(lake_settings,
                                                                          tmp_path):
    store = LakeStore(lake_settings)
    executor = SimulatedBatch(seed=3, clock_start=T0)
    service = _fresh(store, executor, tmp_path)
    service.process([_mate("S2", "R1", T0), _mate("S2", "R2", T0)], now=T0)
    _poison_history(store)

    outcomes = _events_until_done(store, executor, tmp_path, T0)

    assert outcomes and all(o.quarantine == [] and o.transient == [] for o in outcomes)
    finished = [r.run_id for o in outcomes for r in o.finished]
    assert len(finished) == 1
    runs = store.read("runs", month="2026-03").to_pylist()
    assert {r["status"] for r in runs} >= {"DISPATCHED", "SUCCEEDED"}


def test_an_event_long_after_the_dispatch_still_finds_its_run(lake_settings, tmp_path):
    store = LakeStore(lake_settings)
    executor = SimulatedBatch(seed=3, clock_start=T0)
    _fresh(store, executor, tmp_path).process(
        [_mate("S3", "R1", T0), _mate("S3", "R2", T0)], now=T0)
    (job_id,) = {r["job_id"] for r in store.read("job_attempts").to_pylist()}
    (run,) = store.read("runs").to_pylist()
    late = T0 + timedelta(days=75)  # past the months an event normally reads
    event = {
        "version": "0", "id": "late-1", "detail-type": "Batch Job State Change",
        "source": "aws.batch", "account": "123456789012", "time": late.isoformat(),
        "region": "us-east-1", "resources": [],
        "detail": {"jobId": job_id, "jobName": f"{run['run_id']}-a1", "status": "RUNNING",
                   "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/dragen-spot",
                   "tags": {}, "createdAt": int(T0.timestamp() * 1000),
                   "startedAt": int(late.timestamp() * 1000)},
    }
    out = _fresh(store, executor, tmp_path).process([("late", event)], now=late)
    assert out.quarantine == [], out.quarantine
    statuses = {r["status"] for r in store.read("runs").to_pylist()}
    assert statuses == {"DISPATCHED", "RUNNING"}


@pytest.mark.parametrize("months", [None, ["2026-03"], ["2026-02", "2026-04"]])
def test_files_lists_only_the_partitions_asked_for(lake_settings, months):
    store = LakeStore(lake_settings)
    for month in (2, 3, 4):
        store.write("runs", [{"run_id": f"r{month}", "sample_id": "S", "status": "DISPATCHED",
                              "status_at": datetime(2026, month, 5, tzinfo=UTC)}])
    listed = {f.split("/month=")[1][:7] for f in store.files("runs", months)}
    assert listed == set(months or ["2026-02", "2026-03", "2026-04"])
    assert store.months("runs") == ["2026-02", "2026-03", "2026-04"]


def test_arrivals_replayed_long_after_do_not_dispatch_again(lake_settings, tmp_path):
    store = LakeStore(lake_settings)
    executor = SimulatedBatch(seed=3, clock_start=T0)
    pair = [_mate("S4", "R1", T0), _mate("S4", "R2", T0)]
    first = _fresh(store, executor, tmp_path).process(pair, now=T0)
    # `seqledger ingest event` on last spring's files: the events keep their own times
    replay = _fresh(store, executor, tmp_path).process(pair, now=T0 + timedelta(days=200))
    assert len(first.runs_dispatched) == 1
    assert replay.runs_dispatched == [] and replay.quarantine == []
    assert [r.reason for r in replay.dispatched] == ["already dispatched"]
    assert store.read("runs").num_rows == 1


def test_a_mate_read_back_from_the_lake_pairs_with_a_fresh_one(lake_settings):
    from ingest.arrivals import arrival_row, ready_samples
    from ingest.classify import classify
    from ingest.s3_events import read_s3_events

    store = LakeStore(lake_settings)
    rows = []
    for n, mate in enumerate(("R1", "R2")):  # Illumina names: the lane is in the key
        event = object_created("s3", "in", f"cardio/S5/S5_S1_L001_{mate}_001.fastq.gz",
                               10**9, f"e{n}", T0, f"{n:016X}")
        (obj,) = read_s3_events(event, "t").created
        rows.append(arrival_row(obj, classify(obj.key)))
    store.write("arrivals", rows[:1])
    (read_back,) = store.read("arrivals").to_pylist()  # has a lane column, left empty

    (ready,) = ready_samples([read_back, rows[1]])
    assert ready.sample_id == "S5" and len(ready.input_uris) == 2
