"""The Runs page's turnaround comes from the ``run_turnaround`` rollup and answers as the facts do.

The property: on random histories of runs around a month edge (dispatched, started by one or two
attempts, finished, some never finishing, some with no run row at all), their samples' arrivals
and QC gates (re-gated up to six weeks later, across months), redelivered, written in any order,
with rollups refreshed and months compacted at any point in between, ``runs.turnaround`` and
``runs.turnaround_weeks`` equal the old query over the facts and its weekly percentiles in Python
(``tests/analytics/pages_from_facts.py``), for the whole lake and each project; for a date range,
the runs whose latest verdict falls in it (the old query read the range's months and one either
side only, so it lost a run re-gated more than a month after it finished).
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics import rollups, runs
from analytics.engine import connect
from analytics.filters import Filters
from lake.store import LakeStore
from tests.analytics import pages_from_facts as facts
from tests.analytics.histories import played
from tests.analytics.test_rollups_qc_billed import MONTHS, PROPERTY, _at, gate

TABLES = ("runs", "job_attempts", "qc_results", "arrivals")
TAG_FILTERS = [Filters(), Filters(project=("a", None)), Filters(release=("r2",))]
RANGES = [Filters(start=date(2026, 1, 20), end=date(2026, 2, 3)),
          Filters(start=date(2026, 2, 1), end=date(2026, 3, 31), project=("b",))]


@st.composite
def turnaround_run(draw, run: int) -> dict[str, list[dict]]:
    run_id, sample = f"run-{run}", f"S{run % 3}"  # samples run again
    tags = {"run_id": run_id, "sample_id": sample,
            "project": draw(st.sampled_from(["a", "b", None])),
            "pipeline_release": draw(st.sampled_from(["r1", "r2"]))}
    end = _at(draw)
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    dispatched = end - timedelta(hours=draw(st.integers(2, 30)))
    if draw(st.integers(0, 5)):  # else: gates of a run the lake does not hold
        rows["runs"].append({**tags, "status": "DISPATCHED", "status_at": dispatched})
        rows["runs"].append({**tags, "status": "RUNNING",
                             "status_at": dispatched + timedelta(hours=1)})
        if draw(st.integers(0, 4)):
            rows["runs"].append({**tags, "status": draw(st.sampled_from(["SUCCEEDED", "FAILED"])),
                                 "status_at": end})
    for k in range(draw(st.integers(0, 2))):  # attempts: started, or only RUNNING rows
        started = dispatched + timedelta(minutes=draw(st.integers(0, 90)) + 120 * k)
        common = {"run_id": run_id, "job_id": f"job-{run}-{k}", "attempt": k + 1,
                  "project": tags["project"]}
        rows["job_attempts"].append({**common, "status": "SUBMITTED", "status_at": dispatched})
        if draw(st.booleans()):
            rows["job_attempts"].append({**common, "status": "SUCCEEDED", "status_at": end,
                                         "started_at": started, "stopped_at": end})
        else:
            rows["job_attempts"].append({**common, "status": "RUNNING", "status_at": started})
    if draw(st.booleans()):  # the sample's first file, before (or after) dispatch
        at = dispatched - timedelta(hours=draw(st.integers(-3, 40)))
        key = f"p/{sample}/{run}.fastq.gz"
        rows["arrivals"].append({"arrival_id": key, "object_uri": f"s3://in/{key}",
                                 "etag": key, "event_at": at, "input_kind": "fastq",
                                 "mate": "R1", "project": tags["project"], "sample_id": sample})
    gate_at = end + timedelta(hours=draw(st.integers(1, 6)))
    for _ in range(draw(st.integers(0, 2))):
        rows["qc_results"] += gate(draw, tags, gate_at)
        gate_at += timedelta(days=draw(st.integers(1, 42)))  # a re-gate, maybe months later
    return rows


@st.composite
def histories(draw) -> list[tuple]:
    steps = []
    for i in range(draw(st.integers(1, 5))):
        steps += [("write", name, [row]) for name, rows in draw(turnaround_run(i)).items()
                  for row in rows]
    steps += [("write", n, r) for _, n, r in steps if draw(st.integers(0, 4)) == 0]
    steps += [("refresh", draw(st.sampled_from([None, *MONTHS])), None)
              for _ in range(draw(st.integers(0, 3)))]
    steps += [("compact", draw(st.sampled_from(TABLES)), draw(st.sampled_from(MONTHS)))
              for _ in range(draw(st.integers(0, 2)))]
    return draw(st.permutations(steps))


def _close(got: list[dict], want: list[dict]) -> None:
    assert [(r["week"], r.get("part"), r.get("run_id")) for r in got] == [
        (r["week"], r.get("part"), r.get("run_id")) for r in want]
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k, v in w.items():
            assert g[k] == (pytest.approx(v, abs=1e-9) if isinstance(v, float) else v), (k, g, w)


def _same(con) -> None:
    for f in TAG_FILTERS:
        want = facts.turnaround(con, f)
        _close(runs.turnaround(con, f).to_pylist(), want.to_pylist())
        _close(runs.turnaround_weeks(con, f), facts.turnaround_weekly(want))
    latest = dict(con.execute(
        "SELECT run_id, CAST(max(evaluated_at) AS DATE) FROM qc_results "
        "WHERE check_id = 'overall' AND suite = 'sample_qc' GROUP BY run_id").fetchall())
    for f in RANGES:
        everything = facts.turnaround(con, Filters(project=f.project))
        want = everything.filter(pa.array([f.start <= latest[r] <= f.end
                                           for r in everything.column("run_id").to_pylist()],
                                          pa.bool_()))
        _close(runs.turnaround(con, f).to_pylist(), want.to_pylist())
        _close(runs.turnaround_weeks(con, f), facts.turnaround_weekly(want))


@PROPERTY
@given(history=histories())
def test_turnaround_answers_as_the_facts_do(history):
    with tempfile.TemporaryDirectory() as tmp:
        lake, store = played(tmp, history)
        con = connect(lake, store)
        _same(con)
        rollups.refresh(con, store, rollups.stale_months(con, store))
        con = connect(lake, store)
        assert "rollup_run_turnaround_monthly" not in rollups.stale_months(con, store)
        _same(con)


def test_the_runs_page_turnaround_reads_the_rollup_not_the_facts(lake_settings):
    """What makes the page fast: its queries name the rollup's view, never the facts."""
    from datetime import UTC, datetime

    from analytics.engine import open_engine
    from tests.analytics.trino_roundtrip import Recorder

    at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    store = LakeStore(lake_settings)
    store.write("runs", [{"run_id": "R1", "sample_id": "S1", "project": "a", "status": s,
                          "status_at": at + timedelta(hours=h)}
                         for s, h in (("DISPATCHED", 0), ("SUCCEEDED", 4))])
    store.write("job_attempts", [{"run_id": "R1", "job_id": "j1", "attempt": 1,
                                  "status": "SUCCEEDED", "status_at": at + timedelta(hours=4),
                                  "started_at": at + timedelta(hours=1)}])
    store.write("qc_results", [{"run_id": "R1", "sample_id": "S1", "project": "a",
                                "suite": "sample_qc", "check_id": "overall", "verdict": "pass",
                                "passed": True, "evaluated_at": at + timedelta(hours=6)}])
    rec = Recorder(open_engine(lake_settings))
    weeks = runs.turnaround_weeks(rec, Filters())
    assert [(w["part"], w["runs"], w["median_h"]) for w in weeks] == [
        ("waiting_h", 1, 0.0), ("queue_h", 1, 1.0), ("run_h", 1, 3.0), ("qc_h", 1, 2.0),
        ("turnaround_h", 1, 6.0)]
    sql = " ".join(s for s, _ in rec.sent)
    assert "run_turnaround" in sql
    assert [t for t in ("FROM runs", "job_attempts", "qc_results", "arrivals") if t in sql] == []
    rec.close()


def test_a_re_gate_months_later_moves_the_run_and_stales_the_old_month(lake_settings):
    """The re-gate rule: a month reads every later month's gates, and every earlier month's runs
    and attempts, so a late gate or a late attempt row makes exactly those months stale."""
    from datetime import UTC, datetime

    store = LakeStore(lake_settings)

    def run(run_id: str, at: datetime) -> None:
        store.write("runs", [{"run_id": run_id, "sample_id": run_id, "project": "a",
                              "status": s, "status_at": at + timedelta(hours=h)}
                             for s, h in (("DISPATCHED", 0), ("SUCCEEDED", 4))])
        gate_at(run_id, at + timedelta(hours=6))

    def gate_at(run_id: str, at: datetime) -> None:
        store.write("qc_results", [{"run_id": run_id, "sample_id": run_id, "project": "a",
                                    "suite": "sample_qc", "check_id": "overall",
                                    "verdict": "pass", "passed": True, "evaluated_at": at}])

    run("R1", datetime(2026, 1, 10, tzinfo=UTC))
    run("R3", datetime(2026, 3, 10, tzinfo=UTC))
    run("R5", datetime(2026, 5, 10, tzinfo=UTC))
    con = connect(lake_settings, store)
    rollups.refresh(con, store)
    con = connect(lake_settings, store)
    assert "rollup_run_turnaround_monthly" not in rollups.stale_months(con, store)
    gate_at("R1", datetime(2026, 3, 20, tzinfo=UTC))  # R1 re-gated two months on
    con = connect(lake_settings, store)
    # the months with facts are January, March and May: January reads March's gates
    assert rollups.stale_months(con, store)["rollup_run_turnaround_monthly"] == [
        "2026-01", "2026-03"]
    rollups.refresh(con, store, rollups.stale_months(con, store))
    con = connect(lake_settings, store)
    got = {r["run_id"]: (r["week"], r["qc_h"])
           for r in runs.turnaround(con, Filters()).to_pylist()}
    assert got == {"R1": (date(2026, 3, 16), 1652.0), "R3": (date(2026, 3, 9), 2.0),
                   "R5": (date(2026, 5, 4), 2.0)}
    # an attempt row of March: March's month and the ones after read it, January does not
    store.write("job_attempts", [{"run_id": "R3", "job_id": "j3", "attempt": 1,
                                  "status": "RUNNING", "status_at": datetime(2026, 3, 10, 1,
                                                                             tzinfo=UTC)}])
    con = connect(lake_settings, store)
    assert rollups.stale_months(con, store)["rollup_run_turnaround_monthly"] == [
        "2026-03", "2026-05"]
