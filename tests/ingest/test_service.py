"""The event path end to end: real S3 payloads and simulated Batch events through the service."""

from __future__ import annotations

import json
import random
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


def _service(settings, tmp_path, **sim) -> EventService:
    store = LakeStore(settings)
    executor = SimulatedBatch(seed=3, clock_start=T0, **sim)
    config = RunnerConfig(output_prefix=str(tmp_path / "out"))
    return EventService(
        store,
        Runner(store, executor, config),
        PROJECTS,
        PriceBook.load_default(),
        output_prefix=str(tmp_path / "out"),
        pipeline_release="dragen-4.2.4",
    )


def _pair(sample: str, envelope: str, at: datetime) -> list[tuple[str, dict]]:
    size = input_size_for_coverage("fastq", 38) // 2
    return [
        (
            f"{sample}-{mate}",
            object_created(
                envelope,
                "in",
                f"cardio/{sample}/{sample}_{mate}.fastq.gz",
                size,
                f"etag-{sample}-{mate}",
                at,
                f"{n:016X}",
            ),
        )
        for n, mate in enumerate(("R1", "R2"))
    ]


def _drain(service: EventService, step=timedelta(hours=1)) -> None:
    sim = service.runner.executor
    while (at := sim.next_event_at()) is not None:
        events = sim.advance(at + step)
        service.process([(f"batch:{e['id']}", e) for e in events], now=at)


def _content(store: LakeStore) -> dict[str, list]:
    skip = {"recorded_at"}
    out = {}
    for name in (
        "arrivals",
        "runs",
        "job_attempts",
        "decisions",
        "costs",
        "qc_metrics",
        "quarantine",
    ):
        rows = store.read(name).to_pylist()
        out[name] = sorted(
            json.dumps({k: v for k, v in r.items() if k not in skip}, default=str, sort_keys=True)
            for r in rows
        )
    return out


def test_real_s3_payloads_become_arrivals_and_non_inputs_are_recorded_not_quarantined(
    reference, lake_settings, tmp_path
):
    service = _service(lake_settings, tmp_path)
    files = sorted((reference / "aws-events").glob("*s3*ObjectCreated*.json")) + sorted(
        (reference / "aws-events").glob("eventbridge-s3-*.json")
    )
    out = service.process([(f.name, f.read_bytes()) for f in files])
    assert all(q["stage"] == "ingest.event" for q in out.quarantine)  # only unreadable events
    assert out.non_inputs and all("not a sequencing input" in r for r in out.non_inputs.values())
    arrivals = service.store.read("arrivals").to_pylist()
    keys = {a["object_key"] for a in arrivals}
    # the S3 user guide's example object, URL-decoded (it is "HappyFace.jpg")
    assert "HappyFace.jpg" in keys
    assert all(a["input_kind"] == "unknown" for a in arrivals)  # pictures are not inputs
    assert out.runs_dispatched == []


def test_a_complete_pair_dispatches_once_even_when_redelivered(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    first = service.process(_pair("S1", "sns", T0)[:1], now=T0)
    assert first.runs_dispatched == []  # one mate is not a sample
    second = service.process(_pair("S1", "sqs-sns", T0), now=T0)
    assert len(second.runs_dispatched) == 1
    again = service.process(_pair("S1", "eventbridge", T0), now=T0)
    assert again.runs_dispatched == [] and again.arrivals_written == 0
    runs = service.store.read("runs").to_pylist()
    assert [(r["status"], r["sample_id"], r["project"], r["cost_centre"]) for r in runs] == [
        ("DISPATCHED", "S1", "cardio", "CC-1")
    ]


def test_a_project_nobody_pays_for_is_refused_and_quarantined(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    pair = [
        (s, json.loads(json.dumps(p).replace("cardio/", "pilot/")))
        for s, p in _pair("P1", "s3", T0)
    ]
    out = service.process(pair, now=T0)
    assert out.runs_dispatched == []
    (q,) = service.store.read("quarantine").to_pylist()
    assert (
        q["stage"] == "dispatch" and "pilot" in q["reason"] and "SEQLEDGER_PROJECTS" in q["reason"]
    )


def test_a_run_is_tracked_priced_and_its_metrics_loaded(lake_settings, tmp_path):
    service = _service(
        lake_settings, tmp_path, spot_reclaim_rate=0.0, app_failure_rate=0.0, infra_failure_rate=0.0
    )
    service.process(_pair("S1", "s3", T0), now=T0)
    _drain(service)
    store = service.store
    (run,) = [r for r in store.read("runs").to_pylist() if r["status"] == "SUCCEEDED"]
    statuses = {r["status"] for r in store.read("job_attempts").to_pylist()}
    assert {"SUBMITTED", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"} <= statuses
    costs = {r["component"]: r for r in store.read("costs").to_pylist()}
    compute = costs["compute"]
    assert compute["run_id"] == run["run_id"] and compute["capacity"] == "spot"
    (done,) = [r for r in store.read("job_attempts").to_pylist() if r["status"] == "SUCCEEDED"]
    wall_h = (done["stopped_at"] - done["started_at"]).total_seconds() / 3600
    assert 1.0 < wall_h < 3.0  # a 38x genome on DRAGEN: about two hours
    # the attempt's share of the instance-hours it ran, priced at the Spot rate of that day
    assert 0.5 * wall_h < compute["quantity"] <= wall_h
    assert compute["cost_usd"] == pytest.approx(compute["quantity"] * compute["rate_usd"])
    assert {"licence", "scratch_storage"} <= set(costs)
    metrics = store.read("qc_metrics").to_pylist()
    assert {m["run_id"] for m in metrics} == {run["run_id"]}
    mapped = [
        m
        for m in metrics
        if m["metric_name"] == "Mapped reads" and m["section"] == "MAPPING/ALIGNING SUMMARY"
    ]
    assert len(mapped) == 1 and 90 < mapped[0]["value_pct"] <= 100


def test_duplicated_and_reordered_events_change_nothing(lake_settings, tmp_path, s3_settings=None):
    """The same month twice: once in order, once with every event doubled and shuffled."""
    arrivals = [p for i in range(4) for p in _pair(f"S{i}", "s3", T0 + timedelta(minutes=i))]

    def play(settings, messy: bool, root):
        service = _service(settings, root, spot_reclaim_rate=0.3)
        service.process(arrivals, now=T0)
        sim = service.runner.executor
        rng = random.Random(5)
        while (at := sim.next_event_at()) is not None:
            events = sim.advance(at + timedelta(hours=3))
            batch = [(f"batch:{e['id']}", e) for e in events]
            if messy:
                batch = batch + batch
                rng.shuffle(batch)
            service.process(batch, now=at)
        if messy:  # and the arrivals again, late
            service.process(list(reversed(arrivals)), now=T0 + timedelta(days=2))
        return _content(service.store)

    from lake.settings import Settings

    clean = play(lake_settings, False, tmp_path / "a")
    messy = play(Settings(lake_uri=str(tmp_path / "lake2")), True, tmp_path / "b")
    assert clean["job_attempts"] and clean["decisions"]
    for table in clean:
        if table in {"qc_metrics"}:  # output folders differ (a vs b): compare without source
            continue
        assert _strip_paths(messy[table]) == _strip_paths(clean[table]), table


def _strip_paths(rows):
    return [r.replace("/a/", "/X/").replace("/b/", "/X/") for r in rows]


@pytest.mark.parametrize("bad", [b"", b"\xff\xfe not json", b"[1, 2]", b'{"detail-type": "Nope"}'])
def test_bad_payloads_are_quarantined_and_the_batch_goes_on(lake_settings, tmp_path, bad):
    service = _service(lake_settings, tmp_path)
    out = service.process([("bad.json", bad), *_pair("S9", "s3", T0)], now=T0)
    assert len(out.runs_dispatched) == 1
    (q,) = service.store.read("quarantine").to_pylist()
    assert q["source"] == "bad.json" and q["stage"] == "ingest.event" and q["reason"]


def test_a_succeeded_run_is_tagged_by_its_projects_policy_and_inventoried(lake_settings, tmp_path):
    from ingest.inventory import local_inventory
    from ingest.tagging import local_tags
    from pipeline_runner.retention import RetentionPolicy

    store = LakeStore(lake_settings)
    executor = SimulatedBatch(seed=3, clock_start=T0, spot_reclaim_rate=0.0, app_failure_rate=0.0,
                              infra_failure_rate=0.0, alignment_outputs=True)
    out = str(tmp_path / "out")
    projects = ProjectRegistry({"cardio": ProjectTags(
        "CC-1", "a.lee", retention=RetentionPolicy(("alignment",), 90, "DEEP_ARCHIVE"))})
    service = EventService(store, Runner(store, executor, RunnerConfig(output_prefix=out)),
                           projects, PriceBook.load_default(), output_prefix=out,
                           pipeline_release="dragen-4.2.4")
    service.process(_pair("S1", "s3", T0), now=T0)
    _drain(service)
    (run,) = store.read("runs").to_pylist()[-1:]
    [folder] = list((tmp_path / "out" / "cardio" / "S1").glob("*/attempt-*"))
    written = local_tags(folder)
    assert written["files"]["S1.cram"] == {"seqledger:archive": "deep-archive-90d",
                                           "seqledger:data-class": "alignment"}
    assert {t["seqledger:archive"] for n, t in written["files"].items() if n != "S1.cram"} == {
        "false"}
    finished = datetime.fromisoformat(written["tagged_at"])
    size = input_size_for_coverage("fastq", 38) // 2 * 2
    rows = {r["object_key"].rpartition("/")[2]: r
            for r in local_inventory(out, finished + timedelta(days=100))}
    assert rows["S1.cram"]["storage_class"] == "DEEP_ARCHIVE"
    assert rows["S1.cram"]["size_bytes"] == int(size * 0.33)
    assert rows["S1.cram"]["run_id"] == run["run_id"]
