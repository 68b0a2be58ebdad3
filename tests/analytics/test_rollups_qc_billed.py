"""The QC and billing rollups answer as the facts do, and a re-gate makes an older month stale.

The property: on random histories of runs, QC gates (re-gated later, sometimes in a later month),
estimated costs and billed lines (split rows, their instance-hours, plain lines, untagged ones),
redelivered, written in any order, with rollups refreshed and months compacted at any point in
between, the overview's QC figures (``overview.figures``, ``queries.qc_verdict_counts``: the
latest gate on its own day), the QC page's counts (``qc.verdicts_by_day``,
``qc.verdict_totals``), the monthly metric distributions (``qc.metric_summary``) and ``report
reconcile`` (``cost.reconcile``) equal the same questions asked of the fact views (``qc_gated``,
``qc_verdicts``, ``qc_results``, ``cost_lines``, ``billed_allocated``), as they were asked before
the rollups existed.
"""

from __future__ import annotations

import tempfile
from calendar import monthrange
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import cost, overview, qc, queries, rollups
from analytics.engine import connect
from analytics.filters import Filters
from lake.store import LakeStore
from seqledger.cli import main
from tests.analytics.histories import played

PROPERTY = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EDGE = datetime(2026, 2, 1, tzinfo=UTC)
MONTHS = ("2026-01", "2026-02", "2026-03")
TABLES = ("runs", "qc_results", "costs", "billed_costs")

FROM_FACTS = {
    "verdicts_by_day": """
        SELECT CAST(CAST(counted_at AS DATE) AS VARCHAR) AS day, verdict, count(*) AS runs
        FROM qc_gated GROUP BY 1, 2 ORDER BY day, verdict""",
    "verdict_totals": "SELECT verdict, count(*) FROM qc_gated GROUP BY 1 ORDER BY 1",
    "metric_summary": """
        SELECT strftime(g.counted_at, '%Y-%m') AS month, g.project, g.pipeline_release,
               c.check_id, c.metric_id, c.threshold, c.severity, count(*) AS runs,
               count(CASE WHEN c.passed THEN 1 END) AS passed, min(c.observed_value),
               quantile_cont(c.observed_value, 0.1), quantile_cont(c.observed_value, 0.5),
               quantile_cont(c.observed_value, 0.9), max(c.observed_value)
        FROM qc_gated g
        JOIN qc_results c ON c.run_id = g.run_id AND c.suite = 'sample_qc'
                         AND c.evaluated_at = g.evaluated_at
        WHERE c.check_id <> 'overall' AND c.observed_value IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        ORDER BY month, c.metric_id, c.check_id, g.project, g.pipeline_release""",
    # the view reconcile_months reads cost_lines and billed_allocated
    "reconcile": """
        SELECT month, project, estimated_usd, billed_usd, residual_usd, unused_capacity_usd,
               untagged_usd, unpriced_rows, approximate_rows
        FROM reconcile_months ORDER BY month, project""",
}


# the overview's questions: every month alone and the whole lake, for every project choice
GATE_FILTERS = [
    Filters(start=start, end=end, project=project)
    for start, end in [(None, None), *((date(2026, int(m[5:]), 1),
                                         date(2026, int(m[5:]), monthrange(2026, int(m[5:]))[1]))
                                        for m in MONTHS)]
    for project in [(), ("a",), (None, "b")]
]


def gates_from_rollups(con) -> list[tuple]:
    out = []
    for f in GATE_FILTERS:
        fig = overview.figures(con, f)
        counts = sorted(tuple(r.values()) for r in queries.qc_verdict_counts(con, filters=f)
                        .to_pylist())
        out.append((fig.qc_gated, fig.qc_passed, counts))
    return out


def gates_from_facts(con) -> list[tuple]:
    """The same counts from the latest verdicts' rows, filtered here (not by SQL)."""
    rows = con.execute("SELECT CAST(evaluated_at AS DATE), project, verdict FROM qc_verdicts "
                       "WHERE suite = 'sample_qc'").fetchall()
    out = []
    for f in GATE_FILTERS:
        kept = [v for day, project, v in rows
                if (f.start is None or f.start <= day <= f.end)
                and (not f.project or project in f.project)]
        counts = sorted((v, kept.count(v)) for v in set(kept))
        out.append((len(kept), kept.count("pass"), counts))
    return out


def from_rollups(con) -> dict[str, list[tuple]]:
    everything = Filters()
    return {
        "gates": gates_from_rollups(con),
        "verdicts_by_day": [tuple(r.values()) for r in qc.verdicts_by_day(con, everything)],
        "verdict_totals": sorted(
            (v, n) for v, n in qc.verdict_totals(con, everything).items() if n
        ),
        "metric_summary": [tuple(r.values()) for r in qc.metric_summary(con, everything)],
        "reconcile": [
            (r["month"], r["project"], r["estimated_usd"], r["billed_usd"], r["residual_usd"],
             r["unused_capacity_usd"], r["untagged_usd"], r["unpriced_rows"],
             r["approximate_rows"])
            for r in cost.reconcile(con)
        ],
    }


def from_facts(con) -> dict[str, list[tuple]]:
    return {"gates": gates_from_facts(con),
            **{name: con.execute(sql).fetchall() for name, sql in FROM_FACTS.items()}}


def _close(a: dict, b: dict) -> None:
    """Equal, with sums of money compared to a millionth of a cent (addition order differs)."""
    assert a.keys() == b.keys()
    for name in a:
        assert len(a[name]) == len(b[name]), (name, a[name], b[name])
        for ra, rb in zip(a[name], b[name], strict=True):
            want = [pytest.approx(x, abs=1e-9) if isinstance(x, float) else x for x in rb]
            assert list(ra) == want, name


def _at(draw, spread: int = 30) -> datetime:
    return EDGE + timedelta(hours=draw(st.integers(-spread, spread)))


@st.composite
def gated_run(draw, run: int) -> dict[str, list[dict]]:
    """A run around the month edge (or none: a gate of a run the lake does not hold), its gates
    (a re-gate up to six weeks later), and its estimated costs."""
    run_id, sample = f"run-{run}", f"S{run}"
    project = draw(st.sampled_from(["a", "b", None]))
    tags = {"run_id": run_id, "sample_id": sample, "project": project,
            "pipeline_release": draw(st.sampled_from(["r1", "r2"]))}
    end = _at(draw)
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    if draw(st.booleans()) or run == 0:
        rows["runs"] += [{**tags, "status": "RUNNING", "status_at": end - timedelta(hours=5)},
                         {**tags, "status": "SUCCEEDED", "status_at": end}]
    gate_at = end + timedelta(hours=draw(st.integers(1, 6)))
    for _ in range(draw(st.integers(1, 2))):
        rows["qc_results"] += gate(draw, tags, gate_at)
        gate_at += timedelta(days=draw(st.integers(1, 42)))  # a re-gate, maybe months later
    rows["costs"].append({**tags, "job_id": f"job-{run}", "attempt": 1, "component": "compute",
                          "usage_start_at": end - timedelta(hours=3),
                          "cost_usd": draw(st.none() | st.floats(0, 50, allow_nan=False)),
                          "price_status": draw(st.sampled_from(["list", "approximate",
                                                                "assumed"]))})
    return rows


def gate(draw, tags: dict, at: datetime) -> list[dict]:
    """One gate of a run: two numeric checks and the overall verdict."""
    common = {"run_id": tags["run_id"], "sample_id": tags["sample_id"],
              "project": tags["project"], "suite": "sample_qc", "suite_version": "v1",
              "evaluated_at": at, "pipeline_release": tags["pipeline_release"]}
    checks = []
    for metric, rule in (("mean_coverage_x", ">= 30"), ("contamination_pct", "<= 2")):
        value = draw(st.floats(0, 60, allow_nan=False))
        passed = value >= 30 if rule.startswith(">=") else value <= 2
        checks.append({**common, "check_id": f"{metric}_check", "metric_id": metric,
                       "observed_value": value, "threshold": rule, "passed": passed,
                       "severity": "fail", "verdict": "pass" if passed else "fail"})
    verdict = draw(st.sampled_from(["pass", "review", "fail"]))
    return [*checks, {**common, "check_id": "overall", "passed": verdict == "pass",
                      "verdict": verdict}]


def billed(draw, i: int) -> list[dict]:
    """An instance-hour shared by split rows (the rest unused), or a plain line, maybe untagged."""
    at = _at(draw).replace(minute=0)
    base = {"time_interval": at.isoformat(), "usage_start_at": at, "export_format": "cur2"}
    project = draw(st.sampled_from(["a", "b", None]))
    if draw(st.booleans()):
        return [{**base, "line_item_id": f"line-{i}", "usage_type": "TimedStorage",
                 "product_code": "AmazonS3", "resource_id": "bucket", "project": project,
                 "unblended_cost_usd": draw(st.floats(0, 5, allow_nan=False))}]
    host = f"i-{i}"
    rows = [{**base, "line_item_id": f"host-{i}", "usage_type": "USE1-SpotUsage:f2.6xlarge",
             "product_code": "AmazonEC2", "resource_id": host, "capacity": "spot",
             "instance_type": "f2.6xlarge", "project": project, "unblended_cost_usd": 2.0}]
    tasks = [{**base, "line_item_id": f"task-{i}-{k}", "usage_type": "ECS-vCPU-Hours",
              "product_code": "AmazonECS", "resource_id": f"task-{i}-{k}",
              "split_parent_resource_id": host, "unblended_cost_usd": 0.0,
              "project": draw(st.sampled_from(["a", "b"])),
              "split_cost_usd": draw(st.floats(0, 0.9, allow_nan=False))}
             for k in range(draw(st.integers(0, 2)))]
    return rows + tasks


@st.composite
def histories(draw) -> list[tuple]:
    """Writes (some redelivered), rollup refreshes and compactions, in any order."""
    steps = []
    for i in range(draw(st.integers(1, 5))):
        # one write per row: a re-gate may land after the rollup of the first gate's month
        steps += [("write", name, [row]) for name, rows in draw(gated_run(i)).items()
                  for row in rows]
    steps += [("write", "billed_costs", billed(draw, i)) for i in range(draw(st.integers(0, 3)))]
    steps += [("write", n, r) for _, n, r in steps if draw(st.integers(0, 4)) == 0]  # redelivered
    steps += [("refresh", draw(st.sampled_from([None, *MONTHS])), None)
              for _ in range(draw(st.integers(0, 3)))]
    steps += [("compact", draw(st.sampled_from(TABLES)), draw(st.sampled_from(MONTHS)))
              for _ in range(draw(st.integers(0, 2)))]
    return draw(st.permutations(steps))


@PROPERTY
@given(history=histories())
def test_qc_and_billed_rollups_answer_as_the_facts_do(history):
    with tempfile.TemporaryDirectory() as tmp:
        lake, store = played(tmp, history)
        con = connect(lake, store)
        _close(from_rollups(con), from_facts(con))
        rollups.refresh(con, store, rollups.stale_months(con, store))
        con = connect(lake, store)
        assert rollups.stale_months(con, store) == {}  # the stored rows alone answer
        _close(from_rollups(con), from_facts(con))


def _stored(store: LakeStore, month: str) -> list[tuple]:
    """The stored rows of one month of ``rollup_qc_verdicts_daily`` (not the view)."""
    import duckdb

    files = [f for f in store.files("rollup_qc_verdicts_daily") if f"/month={month}/" in f]
    if not files:
        return []
    return duckdb.sql(
        f"SELECT CAST(CAST(day_at AS DATE) AS VARCHAR), verdict, runs FROM read_parquet({files}) "
        "ORDER BY 1, 2"
    ).fetchall()


def test_a_regate_in_a_later_month_changes_the_earlier_months_rollup_after_stale(
    lake_settings, monkeypatch
):
    """Run R finished on 31 January and was gated 'fail'; re-gated 'pass' on 3 March (new
    thresholds). January's stored rollup counted a fail; after the re-gate January is stale, and
    ``seqledger lake rollup --stale`` makes it count a pass (still on 31 January, the day R is
    counted on), leaving February as it was."""
    store = LakeStore(lake_settings)
    jan, feb = datetime(2026, 1, 31, 20, tzinfo=UTC), datetime(2026, 2, 10, 9, tzinfo=UTC)
    tags = {"sample_id": "S1", "project": "a", "pipeline_release": "r1"}
    store.write("runs", [{**tags, "run_id": "R", "status": "SUCCEEDED", "status_at": jan},
                         {**tags, "run_id": "Q", "status": "SUCCEEDED", "status_at": feb}])
    overall = {"suite": "sample_qc", "check_id": "overall", "sample_id": "S1", "project": "a"}
    store.write("qc_results", [
        {**overall, "run_id": "R", "verdict": "fail", "passed": False,
         "evaluated_at": jan + timedelta(hours=2)},
        {**overall, "run_id": "Q", "verdict": "pass", "passed": True,
         "evaluated_at": feb + timedelta(hours=2)},
    ])
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    runner = CliRunner()
    args = ["lake", "rollup"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert _stored(store, "2026-01") == [("2026-01-31", "fail", 1)]
    assert _stored(store, "2026-02") == [("2026-02-10", "pass", 1)]

    store.write("qc_results", [{**overall, "run_id": "R", "verdict": "pass", "passed": True,
                                "evaluated_at": datetime(2026, 3, 3, 8, tzinfo=UTC)}])
    con = connect(lake_settings, store)
    assert "2026-01" in rollups.stale_months(con, store)["rollup_qc_verdicts_daily"]
    # Read before the rollup runs again: the stale month is computed from the facts.
    assert qc.verdict_totals(con, Filters()) == {"pass": 2, "review": 0, "fail": 0}

    result = runner.invoke(main, [*args, "--stale"])
    assert result.exit_code == 0, result.output
    assert _stored(store, "2026-01") == [("2026-01-31", "pass", 1)]
    assert _stored(store, "2026-02") == [("2026-02-10", "pass", 1)]
    assert _stored(store, "2026-03") == []  # counted on R's day, not the re-gate's
    con = connect(lake_settings, store)
    assert rollups.stale_months(con, store) == {}
