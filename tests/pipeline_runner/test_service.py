"""The Runner end to end on a temporary lake, driven by the simulated Batch on Spot."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lake.errors import SubmitError
from lake.settings import Settings
from lake.store import LakeStore
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.records import JobStateChange
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig, input_size_for_coverage
from tests.pipeline_runner.events import to_change

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RATES = {"spot_reclaim_rate": 0.3, "app_failure_rate": 0.1, "infra_failure_rate": 0.1}


class Play:
    """One simulated production session: dispatch runs, deliver every event to the Runner."""

    def __init__(self, lake: Path, make_run, *, seed=21, n=10, config=None, estimate_spend=None,
                 **sim_options):
        self.store = LakeStore(Settings(lake_uri=str(lake)))
        self.sim = SimulatedBatch(seed=seed, clock_start=T0, **{**RATES, **sim_options})
        self.runner = Runner(self.store, self.sim, config or RunnerConfig(), estimate_spend,
                             clock=lambda: self.sim.now)
        size = input_size_for_coverage("fastq", 35)
        self.runs = [make_run(f"S{i:03d}", size=size) for i in range(n)]
        self.dispatched = self.runner.dispatch_many(self.runs, T0)
        self.delivered, self.results = [], []
        self.sim.run_until_idle(self.handle)

    def handle(self, events):
        self.delivered += events
        self.results.append(self.runner.on_job_state_changes([to_change(e) for e in events]))

    def table(self, name, dedupe=True):
        rows = self.store.read(name, dedupe=dedupe).to_pylist()
        for row in rows:
            row.pop("recorded_at")
        return sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))

    def finished(self, kind):
        return [f for r in self.results for f in getattr(r, kind)]


@pytest.fixture
def play(tmp_path, make_run):
    return Play(tmp_path / "lake", make_run)


def test_every_run_ends_succeeded_or_failed(play):
    assert all(d.dispatched for d in play.dispatched)
    assert play.sim.pending == 0
    statuses = {r.run_id: play.runner.run_status(r.run_id) for r in play.runs}
    assert set(statuses.values()) <= {"SUCCEEDED", "FAILED"}
    latest = {}
    for row in sorted(play.table("runs"), key=lambda r: r["status_at"]):
        latest[row["run_id"]] = row["status"]
    assert latest == statuses
    succeeded, failed = play.finished("succeeded_runs"), play.finished("failed_runs")
    assert sorted(f.run_id for f in succeeded + failed) == sorted(statuses)
    assert all(f.reason for f in failed)

    # one decision per finished job, one job per attempt, each job SUBMITTED then terminal
    jobs = play.table("job_attempts")
    by_job = defaultdict(set)
    for row in jobs:
        by_job[row["job_id"]].add(row["status"])
    assert set(by_job) == set(play.sim.jobs)
    assert all("SUBMITTED" in s and len(s & {"SUCCEEDED", "FAILED"}) == 1 for s in by_job.values())
    decisions = play.table("decisions")
    assert sorted(d["job_id"] for d in decisions) == sorted(play.sim.jobs)
    actions = Counter(d["action"] for d in decisions)
    assert actions["complete"] == len(succeeded) and actions["give_up"] == len(failed)
    assert actions["retry"] + actions["retry_on_demand"] > 0  # this seed has reclaims to retry


def test_retries_follow_the_decisions(play):
    decisions = {(d["run_id"], d["attempt"]): d for d in play.table("decisions")}
    submitted = {(r["run_id"], r["attempt"]): r for r in play.table("job_attempts")
                 if r["status"] == "SUBMITTED"}
    for (run_id, attempt), d in decisions.items():
        nxt = submitted.get((run_id, attempt + 1))
        if d["action"] in ("retry", "retry_on_demand"):
            assert nxt is not None and nxt["capacity"] == d["next_capacity"]
            assert nxt["job_queue"] == ("dragen-spot" if d["next_capacity"] == "spot"
                                        else "dragen-on-demand")
            assert nxt["job_name"] == f"{run_id}-a{attempt + 1}"
        else:
            assert nxt is None
    for d in decisions.values():
        if d["failure_kind"] == "application_error":
            assert d["action"] == "give_up"


def test_succeeded_runs_say_where_their_outputs_are(play):
    succeeded = play.finished("succeeded_runs")
    assert succeeded
    for run in succeeded:
        last = run.attempts[-1]
        assert last.status == "SUCCEEDED" and run.output_uri.endswith(f"attempt-{last.attempt}/")
        files = sorted(p.name for p in Path(run.output_uri).iterdir())
        # nine DRAGEN metric files (summaries and curves) and the replay
        assert f"{run.sample_id}.wgs_coverage_metrics.csv" in files and len(files) == 10
        assert last.instance_type in ("f1.4xlarge", "f2.6xlarge")
        assert last.started_at < last.stopped_at and last.submitted_at <= last.started_at
        assert [a.attempt for a in run.attempts] == list(range(1, len(run.attempts) + 1))
        assert run.tags["run_id"] == run.run_id


def test_duplicated_and_reordered_delivery_changes_no_row(tmp_path, make_run, play):
    messy = Play(tmp_path / "lake-messy", make_run, duplicate_rate=0.6, reorder_rate=0.6)
    assert len(messy.delivered) > len(play.delivered) * 1.4  # many copies arrived
    for name in ("job_attempts", "decisions", "runs"):
        assert messy.table(name) == play.table(name), name
    # nothing was written twice either: the raw tables are the deduplicated ones
    assert len(messy.table("job_attempts", dedupe=False)) == len(play.table("job_attempts"))


def test_every_event_fed_twice_and_shuffled_adds_nothing(play):
    before = play.table("job_attempts", dedupe=False)
    changes = [to_change(e) for e in play.delivered] * 2
    random.Random(5).shuffle(changes)
    cold = Runner(play.store, play.sim, RunnerConfig())  # a fresh process: reads the lake
    for runner in (play.runner, cold):
        for i in range(0, len(changes), 25):
            result = runner.on_job_state_changes(changes[i:i + 25])
            assert result.rows_written == {} and result.submitted == [] and result.decisions == []
    assert play.table("job_attempts", dedupe=False) == before
    assert play.sim.pending == 0


def test_dispatch_is_idempotent(play, make_run):
    jobs = len(play.sim.jobs)
    again = play.runner.dispatch(play.runs[0], T0 + timedelta(days=1))
    assert (again.dispatched, again.reason) == (False, "already dispatched")
    cold = Runner(play.store, play.sim, RunnerConfig())
    assert [d.dispatched for d in cold.dispatch_many(play.runs, T0)] == [False] * len(play.runs)
    assert len(play.sim.jobs) == jobs


def test_missing_tags_refuse_the_run_and_spare_the_others(tmp_path, make_run):
    store = LakeStore(Settings(lake_uri=str(tmp_path / "lake")))
    sim = SimulatedBatch(seed=1, clock_start=T0)
    runner = Runner(store, sim, RunnerConfig())
    bad = replace(make_run("S-bad"), cost_centre="")
    with pytest.raises(SubmitError, match=r"S-bad-\w+-a1 refused: invalid tag\(s\): cost_centre"):
        runner.dispatch(bad, T0)
    assert store.read("runs").num_rows == 0 and not sim.jobs
    results = runner.dispatch_many([make_run("S-1"), bad, make_run("S-2")], T0)
    assert [r.dispatched for r in results] == [True, False, True]
    assert "cost_centre" in results[1].reason and isinstance(results[1].error, SubmitError)
    assert store.read("runs").num_rows == 2 and store.read("job_attempts").num_rows == 2


def test_spend_cap_stops_retrying(tmp_path, make_run):
    capped = Play(tmp_path / "lake", make_run, n=6, spot_reclaim_rate=1.0, app_failure_rate=0,
                  infra_failure_rate=0, estimate_spend=lambda run_id: 75.0)
    decisions = capped.table("decisions")
    assert len(decisions) == 6 and all(d["action"] == "give_up" for d in decisions)
    assert all("reached the run's cap of $60.00" in d["reason"] for d in decisions)


def test_reclaims_move_to_on_demand_after_the_limit(tmp_path, make_run):
    p = Play(tmp_path / "lake", make_run, n=4, spot_reclaim_rate=1.0, app_failure_rate=0,
             infra_failure_rate=0)
    for run in p.runs:
        attempts = sorted((r["attempt"], r["capacity"]) for r in p.table("job_attempts")
                          if r["run_id"] == run.run_id and r["status"] == "SUBMITTED")
        assert attempts == [(1, "spot"), (2, "spot"), (3, "on-demand")]
        assert p.runner.run_status(run.run_id) == "SUCCEEDED"  # On-Demand is never reclaimed


def test_unknown_jobs_are_reported_not_recorded(play):
    stranger = JobStateChange(job_id="not-ours", job_name="someone-elses-job", status="RUNNING",
                              status_at=T0)
    result = play.runner.on_job_state_change(stranger)
    assert result.rows_written == {} and len(result.ignored) == 1
    assert "not dispatched by this runner" in result.ignored[0].reason


def test_a_job_recorded_nowhere_is_adopted_from_its_name(tmp_path, make_run):
    """The SUBMITTED write was lost after submitting: the job's events still find their run."""
    store = LakeStore(Settings(lake_uri=str(tmp_path / "lake")))
    sim = SimulatedBatch(seed=2, clock_start=T0, spot_reclaim_rate=0, app_failure_rate=0,
                         infra_failure_rate=0)
    runner = Runner(store, sim, RunnerConfig(), clock=lambda: sim.now)
    run = make_run("S-adopt")
    runner.dispatch(run, T0)
    from pipeline_runner.workflows import build_job_spec

    orphan = sim.submit(build_job_spec(run, 2, "on-demand", RunnerConfig()))
    events = [e for e in sim.advance(T0 + timedelta(days=1)) if e["detail"]["jobId"] == orphan]
    result = Runner(store, sim, RunnerConfig()).on_job_state_changes([to_change(e) for e in events])
    assert result.ignored == [] and result.rows_written["job_attempts"] == len(events)
    rows = [r for r in store.read("job_attempts").to_pylist() if r["job_id"] == orphan]
    assert {r["attempt"] for r in rows} == {2} and {r["capacity"] for r in rows} == {"on-demand"}
    assert result.succeeded_run is not None and result.succeeded_run.run_id == run.run_id


class _Flaky:
    """An executor whose next submissions fail transiently (Batch throttling)."""

    name = "simulated"

    def __init__(self, inner, failures: int):
        self.inner, self.failures = inner, failures

    def submit(self, spec):
        from lake.errors import TransientError

        if spec.attempt > 1 and self.failures > 0:
            self.failures -= 1
            raise TransientError("TooManyRequestsException: slow down")
        return self.inner.submit(spec)


def test_a_transient_resubmission_failure_leaves_the_job_undecided(tmp_path, make_run):
    store = LakeStore(Settings(lake_uri=str(tmp_path / "lake")))
    sim = SimulatedBatch(seed=3, clock_start=T0, spot_reclaim_rate=1.0, app_failure_rate=0,
                         infra_failure_rate=0, write_outputs=False)
    runner = Runner(store, _Flaky(sim, failures=2), RunnerConfig(), clock=lambda: sim.now)
    runner.dispatch(make_run("S-flaky"), T0)
    events = sim.advance(T0 + timedelta(days=1))
    result = runner.on_job_state_changes([to_change(e) for e in events])
    assert "TooManyRequestsException" in result.errors[0] and result.decisions == []
    assert store.read("decisions").num_rows == 0
    assert store.read("job_attempts").num_rows == 1 + len(events)  # the FAILED is recorded
    # a redelivered terminal event tries again (and fails again), then resume succeeds
    terminal = [to_change(e) for e in events if e["detail"]["status"] == "FAILED"]
    assert runner.on_job_state_changes(terminal).errors
    resumed = runner.resume_undecided()
    assert [d.action for d in resumed.decisions] == ["retry"] and len(resumed.submitted) == 1
    assert resumed.submitted[0].attempt == 2 and store.read("decisions").num_rows == 1
    assert runner.resume_undecided().decisions == []


def test_a_fresh_runner_finds_a_run_dispatched_in_an_earlier_month(tmp_path, make_run):
    """A Lambda invocation starts empty and reads only the months a run can have rows in."""
    store = LakeStore(Settings(lake_uri=str(tmp_path / "lake")))
    start = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    sim = SimulatedBatch(seed=4, clock_start=start, spot_reclaim_rate=0.0, app_failure_rate=0.0,
                         infra_failure_rate=0.0)
    run = make_run()
    Runner(store, sim, RunnerConfig()).dispatch(run, start)
    events = sim.advance(start + timedelta(days=1))
    assert {e["detail"]["status"] for e in events} >= {"RUNNING", "SUCCEEDED"}
    result = None
    for event in events:  # each event in its own invocation, as the recorder Lambda sees them
        result = Runner(store, sim, RunnerConfig()).on_job_state_changes([to_change(event)])
        assert not result.ignored
    assert [r.run_id for r in result.succeeded_runs] == [run.run_id]
    months = {f.split("/month=")[1][:7] for f in store.files("job_attempts")}
    assert months == {"2026-01", "2026-02"}


def test_a_batch_of_reclaims_is_resubmitted_as_one_by_one_with_one_claim_batch(
        tmp_path, make_run, monkeypatch):
    """Every run reclaimed at once, each final event delivered twice in one batch: the
    resubmissions are claimed together (two barriers for the claims, two for their jobs), and
    the lake ends as when the events come one at a time."""
    import lake.claims as claims_module

    def session(lake: Path, batched: bool):
        store = LakeStore(Settings(lake_uri=str(lake)))
        sim = SimulatedBatch(seed=5, clock_start=T0, spot_reclaim_rate=1.0, app_failure_rate=0,
                             infra_failure_rate=0)
        runner = Runner(store, sim, RunnerConfig(), clock=lambda: sim.now)
        size = input_size_for_coverage("fastq", 35)
        runner.dispatch_many([make_run(f"S{i:03d}", size=size) for i in range(8)], T0)
        events = []
        while (at := sim.next_event_at()) is not None and len(events) < 200:
            events += [e for e in sim.advance(at) if e["detail"]["status"] != "SUBMITTED"]
            if sum(e["detail"]["status"] == "FAILED" for e in events) == 8:
                break
        changes = sorted([to_change(e) for e in events] * 2, key=lambda c: c.status_at)
        results = ([runner.on_job_state_changes(changes)] if batched
                   else [runner.on_job_state_change(c) for c in changes])
        tables = {}
        for name in ("job_attempts", "decisions", "runs"):
            rows = store.read(name).to_pylist()
            for row in rows:
                row.pop("recorded_at")
            tables[name] = sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))
        return results, tables

    _, one_by_one = session(tmp_path / "one", batched=False)
    barriers = []
    real = claims_module._barrier
    monkeypatch.setattr(claims_module, "_barrier", lambda fn, p: barriers.append(p) or real(fn, p))
    (result,), batched = session(tmp_path / "batch", batched=True)
    dispatch_barriers = 4  # the eight first attempts, claimed together too
    assert len(barriers) - dispatch_barriers == 4
    assert sorted((s.attempt, s.capacity) for s in result.submitted) == [(2, "spot")] * 8
    assert [d.action for d in result.decisions] == ["retry"] * 8
    assert batched == one_by_one


def test_finished_runs_forgotten_are_read_again_and_their_events_change_nothing(play):
    before = {n: play.table(n) for n in ("job_attempts", "decisions", "runs")}
    jobs = {e["detail"]["jobId"] for e in play.delivered}
    assert play.runner.forget_finished() == len(play.runs)  # every run of the session is over
    assert [j for j in jobs if play.runner.history(j) is not None] == []
    again = play.runner.on_job_state_changes([to_change(e) for e in play.delivered])
    assert (again.decisions, again.submitted) == ([], [])
    assert {n: play.table(n) for n in before} == before
    assert {j for j in jobs if play.runner.history(j) is not None} == jobs  # read back
