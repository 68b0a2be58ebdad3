"""The runs table, one run's drill-down, turnaround and backlog on the hand-checked lake
(``tests.analytics.overview_lake``), and the overview's period figures and attention list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from analytics import overview, runs
from analytics.engine import open_engine
from analytics.filters import Filters
from tests.analytics.overview_lake import write_overview_lake
from tests.analytics.trino_roundtrip import Recorder, assert_same_on_trino


@pytest.fixture
def engine(lake_settings):
    write_overview_lake(lake_settings)
    eng = open_engine(lake_settings)
    yield eng
    eng.close()


def test_the_runs_table_joins_attempts_cost_and_verdict(engine):
    page = runs.runs_table(engine, Filters())
    assert page.total == 5
    got = {r["run_id"]: (r["status"], r["attempts"], r["spot_reclaims"], r["cost_usd"],
                         r["qc_verdict"]) for r in page.rows.to_pylist()}
    assert got == {
        "run-5": ("FAILED", 2, 2, None, None),
        "run-4": ("RUNNING", 1, 0, None, None),
        "run-3": ("FAILED", 1, 0, 0.75, None),  # the unpriced scratch row adds nothing
        "run-2": ("SUCCEEDED", 1, 0, 4.0, "review"),  # the later verdict wins
        "run-1": ("SUCCEEDED", 2, 1, 6.75, "pass"),
    }
    assert page.rows.column("run_id").to_pylist() == ["run-5", "run-4", "run-3", "run-2", "run-1"]
    first = page.rows.to_pylist()[-1]
    assert first["dispatched_at"] == datetime(2026, 10, 30, 23, tzinfo=UTC)
    assert first["finished_at"] == datetime(2026, 10, 31, 2, tzinfo=UTC)


def test_the_runs_table_filters_by_day_tag_and_status_and_limits(engine):
    page = runs.runs_table(engine, Filters(start=date(2026, 11, 1), end=date(2026, 11, 1),
                                           project=("aou-wgs",)))
    assert (page.total, page.rows.column("run_id").to_pylist()) == (1, ["run-2"])
    page = runs.runs_table(engine, Filters(project=("pgx",)), status=("FAILED",))
    assert page.rows.column("run_id").to_pylist() == ["run-3"]
    page = runs.runs_table(engine, Filters(), limit=2)
    assert (page.total, page.rows.num_rows) == (5, 2)
    # a range in a month with no runs: nothing, and no error from the pruned months
    assert runs.runs_table(engine, Filters(start=date(2026, 1, 1), end=date(2026, 1, 31))).total \
        == 0


def test_one_run_has_its_attempts_on_a_timeline_its_decisions_costs_and_checks(engine):
    detail = runs.run_detail(engine, "run-1")
    assert detail.found
    assert detail.statuses.column("status").to_pylist() == ["DISPATCHED", "RUNNING", "SUCCEEDED"]
    a = detail.attempts.to_pylist()
    assert [(x["job_id"], x["attempt"], x["status"], x["capacity"], x["failure_kind"],
             x["action"], x["queue_s"], x["run_s"]) for x in a] == [
        ("job-1a", 1, "FAILED", "spot", "spot_reclaim", "retry", 3600.0, 3600.0),
        ("job-1b", 2, "SUCCEEDED", "spot", "none", "complete", 3600.0, 3600.0)]
    assert a[0]["status_reason"].startswith("Host EC2")
    assert detail.decisions.column("action").to_pylist() == ["retry", "complete"]
    assert sorted(zip(detail.costs.column("component").to_pylist(),
                      detail.costs.column("cost_usd").to_pylist(), strict=True)) == [
        ("compute", 1.25), ("compute", 3.5), ("licence", 2.0)]
    assert detail.qc_checks.column("verdict").to_pylist() == ["pass"]
    assert not runs.run_detail(engine, "run-404").found


def test_an_attempts_zone_comes_from_its_instance(lake_settings):
    from tests.analytics.overview_lake import place_the_reclaimed_attempt

    place_the_reclaimed_attempt(write_overview_lake(lake_settings))
    eng = open_engine(lake_settings)
    try:
        a = runs.run_detail(eng, "run-1").attempts.to_pylist()
    finally:
        eng.close()
    assert [(x["job_id"], x["instance_id"], x["az"]) for x in a] == [
        ("job-1a", "i-0282b396e52b4c95d", "us-east-1c"), ("job-1b", None, None)]


def test_turnaround_parts_per_week(engine):
    rows = runs.turnaround(engine, Filters())
    got = {r["run_id"]: (r["week"], r["queue_h"], r["run_h"], r["qc_h"], r["turnaround_h"])
           for r in rows.to_pylist()}
    # run-1: dispatched 10-30 23:00, first attempt running 23:00, done 10-31 02:00, verdict
    # 11-01 00:00; run-2: dispatched 11-01 01:00, its attempt submitted 03:00 and running 04:00,
    # done 05:00, verdict 11-03 00:00 (re-evaluated). No arrivals: waiting counts from dispatch.
    assert got == {"run-1": (date(2026, 10, 26), 0.0, 3.0, 22.0, 25.0),
                   "run-2": (date(2026, 11, 2), 3.0, 1.0, 43.0, 47.0)}
    weekly = runs.turnaround_weeks(engine, Filters())
    assert [(w["week"], w["part"], w["runs"], w["median_h"], w["max_h"]) for w in weekly] == [
        (date(2026, 10, 26), "waiting_h", 1, 0.0, 0.0),
        (date(2026, 10, 26), "queue_h", 1, 0.0, 0.0),
        (date(2026, 10, 26), "run_h", 1, 3.0, 3.0), (date(2026, 10, 26), "qc_h", 1, 22.0, 22.0),
        (date(2026, 10, 26), "turnaround_h", 1, 25.0, 25.0),
        (date(2026, 11, 2), "waiting_h", 1, 0.0, 0.0), (date(2026, 11, 2), "queue_h", 1, 3.0, 3.0),
        (date(2026, 11, 2), "run_h", 1, 1.0, 1.0), (date(2026, 11, 2), "qc_h", 1, 43.0, 43.0),
        (date(2026, 11, 2), "turnaround_h", 1, 47.0, 47.0)]
    assert runs.turnaround_weeks(engine, Filters(project=("pgx",))) == []
    assert runs.turnaround(engine, Filters(project=("pgx",))).num_rows == 0


def test_backlog_counts_open_runs_every_day_zeros_included(engine):
    flow = runs.run_flow(engine, Filters())
    days = runs.backlog(flow, date(2026, 10, 29), date(2026, 11, 3))
    assert [(d["day"].day, d["dispatched"], d["finished"], d["open_runs"]) for d in days] == [
        (29, 0, 0, 0), (30, 1, 0, 1), (31, 0, 1, 0), (1, 2, 2, 0), (2, 2, 1, 1), (3, 0, 0, 1)]
    later = runs.backlog(flow, date(2026, 11, 2), date(2026, 11, 2))
    assert later == [{"day": date(2026, 11, 2), "dispatched": 2, "finished": 1, "open_runs": 1}]
    assert runs.backlog(pa.table({"day": pa.array([], pa.date32()), "dispatched": [],
                                  "finished": []})) == []


def test_period_figures_and_this_month_against_last(engine):
    assert overview.figures(engine, Filters()) == overview.Figures(4, 2, 11.6, 2, 1)
    this, last = overview.month_bounds(date(2026, 11, 2))
    assert (this.start, this.end, last.start, last.end) == (
        date(2026, 11, 1), date(2026, 11, 2), date(2026, 10, 1), date(2026, 10, 31))
    assert overview.figures(engine, this) == overview.Figures(3, 2, 11.6, 1, 1)
    assert overview.figures(engine, last) == overview.Figures(1, 0, 0.0, 0, 0)
    pgx = overview.figures(engine, Filters(project=("pgx",)))
    assert (pgx.runs_finished, pgx.cost_usd, pgx.qc_pass_rate) == (1, 0.75, None)


def test_the_overviews_qc_figures_read_the_gates_rollup_not_the_verdict_facts(engine):
    # the verdict facts are windowed over every month on each query: 336 ms on a seed-scale year
    from analytics import queries

    rec = Recorder(engine)
    f = Filters(start=date(2026, 11, 1), end=date(2026, 11, 2), project=("aou-wgs",))
    overview.figures(rec, f)
    queries.overview(rec, filters=f)
    queries.qc_verdict_counts(rec, filters=f)
    queries.qc_pass_rate(rec, filters=f)
    qc_sql = [sql for sql, _ in rec.sent if "verdict" in sql]
    assert len(qc_sql) == 4
    assert all("qc_gates_daily" in sql and "qc_verdicts" not in sql for sql in qc_sql)


def test_days_without_runs_are_zeros():
    rows = [{"day": date(2026, 11, 1), "status": "FAILED", "runs": 2}]
    assert overview.with_zero_days(rows, date(2026, 10, 31), date(2026, 11, 1)) == [
        {"day": date(2026, 10, 31), "status": "SUCCEEDED", "runs": 0},
        {"day": date(2026, 10, 31), "status": "FAILED", "runs": 0},
        {"day": date(2026, 11, 1), "status": "SUCCEEDED", "runs": 0},
        {"day": date(2026, 11, 1), "status": "FAILED", "runs": 2}]


def test_attention_lists_stuck_runs_reviews_and_the_month_spend(engine):
    now = datetime(2026, 11, 3, 12, tzinfo=UTC)
    a = overview.attention(engine, now, stuck_after_h=24)
    assert [(r["run_id"], r["open_h"]) for r in a.stuck_runs.to_pylist()] == [("run-4", 35.0)]
    assert overview.attention(engine, now, stuck_after_h=36).stuck_runs.num_rows == 0
    assert a.qc_reviews.column("run_id").to_pylist() == ["run-2"]
    assert a.waiting_samples.num_rows == 0
    assert a.month_cost_usd == pytest.approx(11.6)


def test_a_sample_whose_mate_has_not_arrived_waits_and_arrival_starts_the_turnaround(
        lake_settings):
    from lake.store import LakeStore

    write_overview_lake(lake_settings)

    def arrival(sample: str, mate: str, at: datetime) -> dict:
        key = f"aou-wgs/{sample}/{sample}_S1_L001_{mate}_001.fastq.gz"
        return {"arrival_id": key, "object_uri": f"s3://in/{key}", "object_key": key,
                "etag": key, "event_at": at, "input_kind": "fastq", "mate": mate,
                "project": "aou-wgs", "sample_id": sample, "lane": "L001"}

    LakeStore(lake_settings).write("arrivals", [
        arrival("S9", "R1", datetime(2026, 11, 2, 6, tzinfo=UTC)),  # its R2 never came
        arrival("S2", "R1", datetime(2026, 10, 31, 22, tzinfo=UTC)),
        arrival("S2", "R2", datetime(2026, 10, 31, 23, tzinfo=UTC))])
    eng = open_engine(lake_settings)
    waiting = overview.attention(eng, datetime(2026, 11, 3, tzinfo=UTC)).waiting_samples
    assert [(w["sample_id"], w["r1_files"], w["r2_files"]) for w in waiting.to_pylist()] == [
        ("S9", 1, 0)]
    # S2's first file came 10-31 22:00, its run was dispatched 11-01 01:00: 3 h waiting
    got = {r["run_id"]: (r["waiting_h"], r["turnaround_h"])
           for r in runs.turnaround(eng, Filters()).to_pylist()}
    assert got["run-2"] == (3.0, 50.0)
    eng.close()


def test_the_runs_and_overview_queries_go_to_athena_as_trino_sql_meaning_the_same(engine):
    rec = Recorder(engine)
    ranged = Filters(start=date(2026, 10, 31), end=date(2026, 11, 2), project=("aou-wgs", None))
    for f in (Filters(), ranged):
        runs.runs_table(rec, f)
        runs.runs_table(rec, f, status=("FAILED",), limit=2)
        runs.turnaround(rec, f)
        runs.turnaround_weeks(rec, f)
        runs.run_flow(rec, f)
        overview.figures(rec, f)
        overview.daily_runs(rec, f)
    runs.run_detail(rec, "run-1")
    overview.attention(rec, datetime(2026, 11, 3, 12, tzinfo=UTC))
    assert len(rec.sent) >= 20
    assert_same_on_trino(engine, rec.sent)


def test_with_no_date_range_the_runs_table_windows_only_the_months_of_its_newest_runs(
        lake_settings, monkeypatch):
    """The newest runs and the count come from the last months (``runs_daily`` says which) and
    are those a window over every month gives, whatever the limit, tags and statuses."""
    from lake.store import LakeStore

    statuses = ("SUCCEEDED", "FAILED", "RUNNING")
    rows = []
    for i in range(40):  # runs over five months; some dispatched in one month, done the next
        start = datetime(2026, 3 + i // 10, 1 + 3 * (i % 10), 20, tzinfo=UTC)
        end = start.replace(day=start.day + 2) if i % 10 < 9 else start.replace(
            month=start.month + 1, day=2)
        tags = {"run_id": f"run-{i:02d}", "sample_id": f"S{i}", "executor": "simulated",
                "project": ("aou-wgs", "pgx", None)[i % 3], "workflow": "wgs",
                "pipeline_release": "r1", "cost_centre": "cc-1", "input_kind": "fastq"}
        rows += [{**tags, "status": "DISPATCHED", "status_at": start},
                 {**tags, "status": statuses[i % 3], "status_at": end}]
    LakeStore(lake_settings).write("runs", rows)
    eng = open_engine(lake_settings)
    rec = Recorder(eng)
    cases = [(Filters(), (), 5), (Filters(), (), 500), (Filters(project=("pgx", None)), (), 7),
             (Filters(), ("FAILED",), 4), (Filters(workflow=("wgs",)), ("SUCCEEDED",), 12)]
    pruned = [runs.runs_table(rec, f, status, limit) for f, status, limit in cases]
    # the newest 5 ended in June and July: June and the month before are windowed, not March-April
    assert any("month >= '2026-05'" in sql for sql, _ in rec.sent)
    monkeypatch.setattr(runs, "_newest", lambda *a: None)  # every run status row windowed
    every = [runs.runs_table(eng, f, status, limit) for f, status, limit in cases]
    for (f, status, limit), p, e in zip(cases, pruned, every, strict=True):
        assert p.total == e.total, (f, status, limit)
        assert p.rows.to_pylist() == e.rows.to_pylist(), (f, status, limit)
    assert [p.total for p in pruned] == [40, 40, 26, 13, 14]
    eng.close()
