"""The attempt state machine: never backwards, duplicates and delivery order change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lake.errors import InvalidEvent
from lake.schemas import table
from pipeline_runner.attempts import (
    RANK,
    AttemptContext,
    apply,
    histories_from_columns,
    history_from_rows,
    is_conflicting_terminal,
)
from pipeline_runner.records import JOB_STATES, JobStateChange

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TAGS = {"project": "allofus-wgs", "sample_id": "S1", "run_id": "S1-abc", "workflow":
        "dragen-germline-wgs", "pipeline_release": "dragen-4.2.4", "requested_by": "jdoe",
        "cost_centre": "CC-1"}
CTX = AttemptContext(attempt=2, capacity="spot", tags=TAGS, job_queue="dragen-spot", vcpus=16,
                     memory_mib=234496)


def change(status: str, minutes: float, **kw) -> JobStateChange:
    return JobStateChange(job_id="job-1", job_name="S1-abc-a2", status=status,
                          status_at=T0 + timedelta(minutes=minutes),
                          event_id=f"ev-{status}", **kw)


def fold(changes):
    history, rows = None, []
    for c in changes:
        history, new = apply(history, c, CTX)
        rows += new
    return history, rows


def key(row: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in row.items()))


@st.composite
def lifecycles(draw):
    """One job's real-looking state changes, in the order Batch makes them."""
    middle = sorted(draw(st.lists(st.sampled_from(["PENDING", "RUNNABLE", "STARTING", "RUNNING"]),
                                  unique=True)), key=JOB_STATES.index)
    statuses = (["SUBMITTED"] if draw(st.booleans()) else []) + middle
    statuses.append(draw(st.sampled_from(["SUCCEEDED", "FAILED"])))
    gaps = draw(st.lists(st.integers(1, 7200), min_size=len(statuses), max_size=len(statuses)))
    minute, changes, started = 0.0, [], None
    for status, gap in zip(statuses, gaps, strict=True):
        minute += gap / 60
        kw = {}
        if status == "RUNNING":
            started = T0 + timedelta(minutes=minute)
            kw = {"started_at": started, "instance_type": "f2.6xlarge"}
        elif status in ("STARTING",):
            kw = {"instance_type": "f2.6xlarge"}
        elif status == "SUCCEEDED":
            kw = {"started_at": started, "stopped_at": T0 + timedelta(minutes=minute),
                  "exit_code": 0, "status_reason": "Essential container in task exited",
                  "instance_type": "f2.6xlarge"}
        elif status == "FAILED":
            kw = {"started_at": started, "stopped_at": T0 + timedelta(minutes=minute),
                  "exit_code": draw(st.sampled_from([None, 1, 143])),
                  "status_reason": "Host EC2 (instance i-0abc123def4567890) terminated.",
                  "instance_id": "i-0abc123def4567890"}
        changes.append(change(status, minute, **kw))
    return changes


@settings(max_examples=300, deadline=None)
@given(lifecycles(), st.data())
def test_any_order_and_any_copies_give_the_same_rows_and_history(changes, data):
    expected_history, expected_rows = fold(changes)
    copies = data.draw(st.lists(st.sampled_from(changes), max_size=12))
    delivered = data.draw(st.permutations(changes + copies))

    history, rows, ranks = None, [], []
    for c in delivered:
        before = history
        history, new = apply(history, c, CTX)
        rows += new
        # never backwards: the current status only moves forward, a terminal one never moves
        if before is not None and before.status is not None:
            assert RANK[history.status] >= RANK[before.status]
            if before.is_terminal:
                assert history.status == before.status
        ranks.append(RANK[history.status])

    assert history == expected_history
    assert sorted(map(key, rows)) == sorted(map(key, expected_rows))
    assert len(rows) == len({c.status for c in changes})  # one row per status, copies add none
    assert history.status == changes[-1].status
    assert history_from_rows(reversed(rows)) == expected_history


def test_rows_have_the_job_attempts_columns_and_the_context():
    _, rows = fold([change("RUNNABLE", 1),
                    change("RUNNING", 9, started_at=T0, instance_type="f1.4xlarge")])
    assert set(rows[0]) <= set(table("job_attempts").columns)
    assert rows[1]["status"] == "RUNNING" and rows[1]["instance_type"] == "f1.4xlarge"
    assert rows[1]["attempt"] == 2 and rows[1]["capacity"] == "spot" and rows[1]["vcpus"] == 16
    assert rows[1]["run_id"] == "S1-abc" and rows[1]["job_queue"] == "dragen-spot"


def test_a_duplicate_changes_nothing():
    history, rows = fold([change("RUNNABLE", 1), change("RUNNING", 5)])
    again, new = apply(history, change("RUNNING", 5), CTX)
    assert new == [] and again is history


def test_skipped_states_are_allowed():
    history, rows = fold([change("RUNNABLE", 1), change("FAILED", 30, status_reason="x")])
    assert [r["status"] for r in rows] == ["RUNNABLE", "FAILED"]
    assert history.is_terminal and history.status_reason == "x"


def test_a_late_earlier_state_keeps_its_information_but_not_the_attempt():
    done, _ = fold([change("SUCCEEDED", 130, exit_code=0, stopped_at=T0 + timedelta(minutes=130))])
    started = T0 + timedelta(minutes=10)
    late, rows = apply(done, change("RUNNING", 10, started_at=started, instance_type="f1.4xlarge"),
                       CTX)
    assert late.status == "SUCCEEDED" and late.status_at == T0 + timedelta(minutes=130)
    assert late.started_at == started and late.instance_type == "f1.4xlarge"
    assert [r["status"] for r in rows] == ["RUNNING"]
    assert rows[0]["status_at"] < late.status_at  # its own, earlier time: history, not regress


def test_succeeded_after_failed_for_the_same_job_is_ignored():
    reclaimed = change("FAILED", 60, exit_code=143,
                       status_reason="Host EC2 (instance i-1) terminated.")
    failed, _ = fold([change("RUNNING", 5), reclaimed])
    late = change("SUCCEEDED", 61, exit_code=0)
    assert is_conflicting_terminal(failed, late)
    after, rows = apply(failed, late, CTX)
    assert rows == [] and after is failed and after.status == "FAILED" and after.exit_code == 143


def test_unknown_status_and_foreign_job_are_refused():
    with pytest.raises(InvalidEvent, match="unknown status 'DONE'"):
        apply(None, change("DONE", 1), CTX)
    history, _ = fold([change("RUNNABLE", 1)])
    other = JobStateChange(job_id="job-2", job_name="x", status="RUNNING", status_at=T0)
    with pytest.raises(ValueError, match="job-2"):
        apply(history, other, CTX)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        apply(None, JobStateChange(job_id="j", job_name="n", status="RUNNABLE",
                                   status_at=datetime(2026, 1, 5)), CTX)


_ROW_STATUSES = st.sampled_from(JOB_STATES)
_INSTANCES = st.sampled_from([None, "", "i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "status": _ROW_STATUSES, "minutes": st.integers(0, 50),
    "started": st.one_of(st.none(), st.integers(0, 50)),
    "stopped": st.one_of(st.none(), st.integers(0, 50)),
    "instance_id": _INSTANCES, "instance_type": st.sampled_from([None, "f1.4xlarge", "f2.6x"]),
    "reason": st.sampled_from([None, "Essential container in task exited"]),
    "exit_code": st.sampled_from([None, 0, 1, 143]),
}), min_size=1, max_size=10))
def test_a_history_rebuilt_from_rows_is_the_one_apply_folds(drawn):
    """``history_from_rows`` (one mutable fold) gives exactly what ``apply`` folds row by row,
    whatever the rows: repeated statuses, contradicting terminal states, any order, times and
    instances that disagree."""
    from pipeline_runner.attempts import _applied

    def at(m):
        return None if m is None else T0 + timedelta(minutes=m)

    rows = [{**TAGS, "job_id": "job-1", "job_name": "S1-abc-a2", "attempt": 2,
             "capacity": "spot", "job_queue": "dragen-spot", "vcpus": 16, "memory_mib": 234496,
             "status": d["status"], "status_at": at(d["minutes"]), "started_at": at(d["started"]),
             "stopped_at": at(d["stopped"]), "instance_id": d["instance_id"],
             "instance_type": d["instance_type"], "status_reason": d["reason"],
             "exit_code": d["exit_code"], "event_id": None} for d in drawn]
    rebuilt, applied = history_from_rows(rows), _applied(rows)
    assert rebuilt == applied
    assert rebuilt.instance_from == applied.instance_from  # not in ==
    assert list(rebuilt.times) == list(applied.times)


def test_rows_apply_refuses_are_refused_as_apply_does():
    row = {**TAGS, "job_id": "job-1", "job_name": "S1-abc-a2", "attempt": 2, "status": "GONE",
           "status_at": T0}
    with pytest.raises(InvalidEvent, match="unknown status 'GONE'"):
        history_from_rows([row])
    with pytest.raises(ValueError, match="applied to the history of job-1"):
        history_from_rows([{**row, "status": "RUNNABLE"}, {**row, "job_id": "job-2",
                                                             "status": "RUNNING"}])


def _columns(rows):
    names = dict.fromkeys(k for r in rows for k in r)
    return {n: [r.get(n) for r in rows] for n in names}


def test_histories_from_columns_are_history_from_rows_per_job():
    """A batch's lake read rebuilds each job's history as ``history_from_rows`` does from that
    job's rows alone, with the context of its SUBMITTED row and where its first row is."""
    base = {**TAGS, "job_name": "S1-abc-a2", "attempt": 2, "capacity": "spot",
            "job_queue": "dragen-spot", "vcpus": 16, "memory_mib": 234496, "status_reason": None,
            "exit_code": None, "started_at": None, "stopped_at": None, "instance_id": None,
            "instance_type": None, "event_id": None}
    rows = [
        {**base, "job_id": "job-1", "status": "RUNNING", "status_at": T0 + timedelta(minutes=9),
         "started_at": T0 + timedelta(minutes=8), "instance_type": "f1.4xlarge"},
        {**base, "job_id": "job-2", "job_name": "S1-abc-a3", "attempt": 3, "capacity":
         "on_demand", "status": "SUBMITTED", "status_at": T0 + timedelta(minutes=20)},
        {**base, "job_id": "job-1", "status": "SUBMITTED", "status_at": T0, "vcpus": 8},
        {**base, "job_id": "job-1", "status": "FAILED", "status_at": T0 + timedelta(minutes=30),
         "status_reason": "Host EC2 terminated", "exit_code": 143},
        {**base, "job_id": "job-1", "status": "SUCCEEDED", "status_at": T0 + timedelta(minutes=31)},
    ]
    got = histories_from_columns(_columns(rows))
    assert [(h.job_id, first) for h, _, first in got] == [("job-1", 0), ("job-2", 1)]
    one, two = got[0][0], got[1][0]
    assert one == history_from_rows([rows[0], rows[2], rows[3], rows[4]])
    assert (one.status, one.status_reason, one.exit_code) == ("FAILED", "Host EC2 terminated", 143)
    assert one.statuses == {"RUNNING", "SUBMITTED", "FAILED"}  # the late SUCCEEDED contradicts
    assert one.vcpus == 16  # the history's context is its first row's, as history_from_rows
    assert got[0][1].vcpus == 8  # the context remembered is the SUBMITTED row's
    assert (two.attempt, two.capacity, two.status) == (3, "on_demand", "SUBMITTED")
    assert two == history_from_rows([rows[1]])


def test_histories_from_columns_refuse_an_unknown_status_as_apply_does():
    row = {**TAGS, "job_id": "job-1", "job_name": "S1-abc-a2", "attempt": 2, "status": "GONE",
           "status_at": T0}
    with pytest.raises(InvalidEvent, match="unknown status 'GONE'"):
        histories_from_columns(_columns([row]))


def test_evolved_is_dataclasses_replace_of_the_folded_fields():
    """``evolved`` builds the history positionally: it must name every field in order, and a
    field added to AttemptHistory must be added to it (or FOLDED) too."""
    import dataclasses

    from pipeline_runner.attempts import FOLDED, AttemptHistory, evolved

    names = [f.name for f in dataclasses.fields(AttemptHistory)]
    assert names[-len(FOLDED):] == list(FOLDED)
    history, _ = fold([change("RUNNABLE", 1), change("RUNNING", 9, instance_id="i-1")])
    updates = {"statuses": frozenset({"RUNNING", "FAILED"}), "status": "FAILED",
               "status_at": T0 + timedelta(minutes=30), "status_reason": "Host EC2 terminated",
               "exit_code": None, "instance_from": {"instance_id": "FAILED"},
               "times": {"FAILED": T0}}
    got = evolved(history, updates)
    assert got == dataclasses.replace(history, **updates)
    assert (got.instance_from, got.instance_id, got.job_queue) == \
        ({"instance_id": "FAILED"}, "i-1", "dragen-spot")
    assert evolved(history, {}) == history
