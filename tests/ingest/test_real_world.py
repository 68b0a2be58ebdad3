"""The defects an acceptance run with real-world streams found (issue 9), each as a test.

Each test here fails on the code before the fix: layouts with folders between project and
sample, lanes, tiny inputs, reclaims the job-level reason hides, the spend cap on the Lambda
path, and which delivery of an object wins deduplication.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ingest import handlers
from ingest.service import EventService
from lake.settings import Settings
from lake.store import LakeStore
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.prices import PriceBook
from pipeline_runner.projects import ProjectRegistry, ProjectTags
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig
from seqledger.envelopes import ENVELOPES, object_created
from tests.ingest.batch_payloads import job_event

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROJECTS = ProjectRegistry({"cardio": ProjectTags("CC-1", "a.lee"),
                            "PRJ-X": ProjectTags("CC-2", "b.kim")})
GB = 10**9


def _service(lake: Settings, tmp_path, **sim) -> EventService:
    store = LakeStore(lake)
    config = RunnerConfig(output_prefix=str(tmp_path / "out"))
    return EventService(store, Runner(store, SimulatedBatch(seed=3, clock_start=T0, **sim), config),
                        PROJECTS, PriceBook.load_default(), output_prefix=str(tmp_path / "out"),
                        pipeline_release="dragen-4.2.4")


def _obj(key: str, size: int = 20 * GB, envelope: str = "s3", at: datetime = T0):
    return (key, object_created(envelope, "in", key, size, f"etag-{key}", at, "0" * 16))


def _drain(service: EventService) -> None:
    sim = service.runner.executor
    while (at := sim.next_event_at()) is not None:
        events = sim.advance(at + timedelta(hours=1))
        service.process([(f"batch:{e['id']}", e) for e in events], now=at)


# -- 1. layouts ---------------------------------------------------------------------------------
def test_a_folder_between_project_and_sample_is_not_taken_for_the_project(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    keys = [f"incoming/PRJ-X/{folder}/{s}/{s}_S1_L001_{m}_001.fastq.gz"
            for folder, s in (("2024-05-01", "NA1"), ("batch=7", "NA2"), ("HJ7TNDSX3", "NA3"),
                              ("batch-seven", "NA4"))
            for m in ("R1", "R2")]
    out = service.process([_obj(k) for k in keys], now=T0)
    assert len(out.runs_dispatched) == 4 and not out.quarantine
    runs = service.store.read("runs").to_pylist()
    assert sorted((r["project"], r["sample_id"], r["cost_centre"]) for r in runs) == [
        ("PRJ-X", f"NA{i}", "CC-2") for i in range(1, 5)]


def test_a_refusal_never_advises_registering_a_folder_as_a_project(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    keys = [f"incoming/NOBODY/2024-05-01/S1/S1_{m}.fastq.gz" for m in ("R1", "R2")]
    out = service.process([_obj(k) for k in keys], now=T0)
    (q,) = out.quarantine
    assert q["stage"] == "dispatch" and "2024-05-01" not in q["reason"]
    assert "add its cost_centre" not in q["reason"] and "SEQLEDGER_INPUT_LAYOUT" in q["reason"]


# -- 2. lanes -----------------------------------------------------------------------------------
def test_mates_pair_only_within_a_lane_and_all_lanes_are_one_run(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    key = "cardio/X/X_S1_{lane}_{mate}_001.fastq.gz"
    first = service.process([_obj(key.format(lane="L001", mate="R1")),
                             _obj(key.format(lane="L002", mate="R2"))], now=T0)
    assert first.runs_dispatched == []  # R1 of lane 1 and R2 of lane 2 are not a pair
    second = service.process([_obj(key.format(lane="L002", mate="R1")),
                              _obj(key.format(lane="L001", mate="R2"))], now=T0)
    assert len(second.runs_dispatched) == 1 and not second.quarantine
    lanes = {(a["lane"], a["mate"]) for a in service.store.read("arrivals").to_pylist()}
    assert lanes == {(f"L00{n}", m) for n in (1, 2) for m in ("R1", "R2")}
    (run,) = service.store.read("runs").to_pylist()
    assert [u.rsplit("/", 1)[1] for u in run["input_uris"]] == [
        "X_S1_L001_R1_001.fastq.gz", "X_S1_L001_R2_001.fastq.gz",
        "X_S1_L002_R1_001.fastq.gz", "X_S1_L002_R2_001.fastq.gz"]
    (job,) = service.runner.executor.jobs.values()
    command = job.spec.command
    assert "--fastq-list" in command and "-1" not in command
    rows = job.spec.environment["SEQLEDGER_FASTQ_LIST"].splitlines()
    assert rows[0] == "RGID,RGSM,RGLB,Lane,Read1File,Read2File"
    assert [r.split(",")[3] for r in rows[1:]] == ["1", "2"]
    assert all(r.split(",")[4].endswith("R1_001.fastq.gz") for r in rows[1:])


# -- 3. tiny inputs -----------------------------------------------------------------------------
def test_a_smoke_test_pair_never_stops_the_batch(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path, spot_reclaim_rate=0.0, app_failure_rate=0.0,
                       infra_failure_rate=0.0)
    out = service.process([_obj("cardio/TINY/TINY_R1.fastq.gz", 100),
                           _obj("cardio/TINY/TINY_R2.fastq.gz", 100),
                           _obj("cardio/BIG/BIG.cram", 30 * GB)], now=T0)
    assert len(out.runs_dispatched) == 2 and not out.quarantine
    _drain(service)
    final = {r["sample_id"]: r["status"] for r in service.store.read("runs").to_pylist()
             if r["status"] in ("SUCCEEDED", "FAILED")}
    assert final == {"TINY": "SUCCEEDED", "BIG": "SUCCEEDED"}
    assert not service.store.read("quarantine").num_rows


# -- 5. reclaims --------------------------------------------------------------------------------
RECLAIMED = "Host EC2 (instance i-0282b396e52b4c95d) terminated."


def _fail(service: EventService, job_id: str, name: str, queue: str, start: datetime, **why):
    tags = service.runner.run_request(name.rsplit("-a", 1)[0]).tags
    events = [job_event(job_id, name, "RUNNING", start, queue=queue, tags=tags, created_at=start,
                        started_at=start),
              job_event(job_id, name, "FAILED", start + timedelta(hours=2), queue=queue, tags=tags,
                        created_at=start, started_at=start, stopped_at=start + timedelta(hours=2),
                        **why)]
    return service.process([(f"batch:{e['id']}", e) for e in events])


@pytest.mark.parametrize(("reason", "attempt_reason", "exit_code"), [
    ("Essential container in task exited", RECLAIMED, 143),  # only the attempt names the host
    ("Essential container in task exited", RECLAIMED, None),
    (RECLAIMED.lower(), None, 143),  # case
    ("Essential container in task exited", RECLAIMED, 137),  # SIGKILL after the stop timeout
])
def test_a_reclaim_is_recognised_whichever_reason_names_it(lake_settings, tmp_path, reason,
                                                           attempt_reason, exit_code):
    service = _service(lake_settings, tmp_path)
    (d,) = service.process([_obj("cardio/S/S_R1.fastq.gz"), _obj("cardio/S/S_R2.fastq.gz")],
                           now=T0).dispatched
    out = _fail(service, d.job_id, d.job_name, "dragen-spot", T0, reason=reason,
                attempt_reason=attempt_reason, exit_code=exit_code)
    (decision,) = out.track.decisions
    assert (decision.failure_kind, decision.action) == ("spot_reclaim", "retry")
    assert [s.capacity for s in out.track.submitted] == ["spot"]


def test_reclaims_without_an_exit_code_move_to_on_demand_after_n(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    (d,) = service.process([_obj("cardio/S/S_R1.fastq.gz"), _obj("cardio/S/S_R2.fastq.gz")],
                           now=T0).dispatched
    job, name, queue, at, actions = d.job_id, d.job_name, "dragen-spot", T0, []
    for _ in range(2):
        out = _fail(service, job, name, queue, at, reason="Essential container in task exited",
                    attempt_reason=RECLAIMED)
        actions.append(out.track.decisions[0].action)
        (sub,) = out.track.submitted
        job, name, at = sub.job_id, sub.job_name, at + timedelta(hours=3)
        queue = "dragen-spot" if sub.capacity == "spot" else "dragen-on-demand"
    assert actions == ["retry", "retry_on_demand"] and queue == "dragen-on-demand"


def test_an_application_error_is_still_not_a_reclaim(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    (d,) = service.process([_obj("cardio/S/S_R1.fastq.gz"), _obj("cardio/S/S_R2.fastq.gz")],
                           now=T0).dispatched
    out = _fail(service, d.job_id, d.job_name, "dragen-spot", T0,
                reason="Essential container in task exited", exit_code=137)
    assert out.track.decisions[0].action == "give_up" and not out.track.submitted


# -- 6. the spend cap on the Lambda path --------------------------------------------------------
@pytest.fixture
def lambda_env(tmp_path, monkeypatch) -> Settings:
    projects = tmp_path / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    monkeypatch.setenv("SEQLEDGER_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("SEQLEDGER_PROJECTS", str(projects))
    monkeypatch.setenv("SEQLEDGER_OUTPUT_PREFIX", str(tmp_path / "out"))
    return Settings.from_env()


def test_ten_hour_attempts_stop_at_the_spend_cap_on_the_lambda_path(lambda_env):
    """Each 10-hour Spot attempt costs ~$20: four of them would pass the $60 cap."""
    records = []
    for n, mate in enumerate(("R1", "R2")):
        records += object_created("s3", "in", f"cardio/S/S_{mate}.fastq.gz", 40 * GB, f"e{n}",
                                  T0, f"{n:08X}")["Records"]
    (run_id,) = handlers.on_object_created({"Records": records})["dispatched"]
    store = LakeStore(lambda_env)
    start = T0
    for attempt in range(1, 5):
        subs = [r for r in store.read("job_attempts").to_pylist()
                if r["status"] == "SUBMITTED" and r["attempt"] == attempt]
        if not subs:
            break
        (sub,) = subs
        tags = {k: sub[k] for k in ("project", "sample_id", "run_id", "workflow",
                                    "pipeline_release", "requested_by", "cost_centre")}
        stop = start + timedelta(hours=10)
        for status in ("RUNNING", "FAILED"):
            event = job_event(sub["job_id"], f"{run_id}-a{attempt}", status,
                              start if status == "RUNNING" else stop, queue=sub["job_queue"],
                              tags=tags, created_at=start, started_at=start,
                              stopped_at=stop if status == "FAILED" else None,
                              reason=RECLAIMED, attempt_reason=RECLAIMED, exit_code=143)
            handlers.on_job_state_change(event)
        start = stop + timedelta(minutes=10)
    decisions = sorted(store.read("decisions").to_pylist(), key=lambda r: r["attempt"])
    assert [d["action"] for d in decisions][-1] == "give_up"
    assert "cap of $60.00" in decisions[-1]["reason"]
    assert len(decisions) < 4  # stopped by the cap, not by the attempt limit
    assert {r["status"] for r in store.read("runs").to_pylist()} >= {"FAILED"}


# -- 8. which delivery wins ---------------------------------------------------------------------
def test_the_winning_delivery_of_an_object_does_not_depend_on_order(tmp_path):
    keys = [f"cardio/S{i}/S{i}_{m}.fastq.gz" for i in range(3) for m in ("R1", "R2")]
    deliveries = [(f"{k}@{env}", object_created(env, "in", k, GB, f"etag-{k}", T0, "0" * 16))
                  for k in keys for env in ENVELOPES]
    lakes = []
    for seed in range(3):
        order = list(deliveries)
        random.Random(seed).shuffle(order)
        lake = Settings(lake_uri=str(tmp_path / f"lake{seed}"))
        service = _service(lake, tmp_path / f"o{seed}")
        cut = len(order) // (seed + 1)
        for part in (order[:cut], order[cut:]):  # split across invocations differently
            if part:
                service.process(part, now=T0)
        rows = LakeStore(lake).read("arrivals").to_pylist()
        lakes.append(sorted((r["object_key"], r["event_id"], r["envelope"]) for r in rows))
        # and the SQL views (DuckDB here, Athena the same SQL) pick the same row
        from analytics.engine import connect

        view = connect(lake).execute(
            "SELECT object_key, event_id, envelope FROM arrivals ORDER BY 1").fetchall()
        assert view == lakes[-1]
    assert len(lakes[0]) == len(keys)
    assert lakes[0] == lakes[1] == lakes[2]


# -- 7. a finished run stays finished ----------------------------------------------------------
def _finished_run(service: EventService):
    (d,) = service.process([_obj("cardio/S/S_R1.fastq.gz"), _obj("cardio/S/S_R2.fastq.gz")],
                           now=T0).dispatched
    tags = service.runner.run_request(d.run_id).tags
    start, stop = T0 + timedelta(minutes=10), T0 + timedelta(hours=2)
    done = job_event(d.job_id, d.job_name, "SUCCEEDED", stop, queue="dragen-spot", tags=tags,
                     created_at=T0, started_at=start, stopped_at=stop, exit_code=0)
    service.process([("done", done)])
    return d, tags


def test_a_late_running_never_reopens_a_finished_run(lake_settings, tmp_path):
    from analytics.engine import connect

    service = _service(lake_settings, tmp_path)
    d, tags = _finished_run(service)
    # the RUNNING event of the same job, late and stamped after the success (another clock)
    late = job_event(d.job_id, d.job_name, "RUNNING", T0 + timedelta(hours=5), queue="dragen-spot",
                     tags=tags, created_at=T0, started_at=T0 + timedelta(hours=5))
    service.process([("late", late)])
    assert service.runner.run_status(d.run_id) == "SUCCEEDED"
    con = connect(lake_settings)
    assert con.execute("SELECT status FROM run_latest WHERE run_id = ?",
                       [d.run_id]).fetchall() == [("SUCCEEDED",)]


def test_an_unknown_job_named_like_an_attempt_is_not_adopted_on_a_finished_run(lake_settings,
                                                                               tmp_path):
    service = _service(lake_settings, tmp_path)
    d, tags = _finished_run(service)
    stranger = f"{d.run_id}-a2"
    events = [job_event("job-stranger", stranger, s, T0 + timedelta(hours=h), queue="dragen-spot",
                        tags=tags, created_at=T0 + timedelta(hours=3),
                        started_at=T0 + timedelta(hours=3),
                        stopped_at=T0 + timedelta(hours=4) if s == "FAILED" else None,
                        reason=RECLAIMED if s == "FAILED" else None,
                        exit_code=143 if s == "FAILED" else None)
              for s, h in (("RUNNING", 3), ("FAILED", 4))]
    out = service.process([(e["id"], e) for e in events])
    assert not out.track.decisions and not out.track.submitted
    assert all("is finished (SUCCEEDED)" in ig.reason for ig in out.track.ignored)
    decisions = service.store.read("decisions").to_pylist()
    assert [(r["attempt"], r["action"]) for r in decisions] == [(1, "complete")]
    assert {r["job_id"] for r in service.store.read("job_attempts").to_pylist()} == {d.job_id}
