import re
from importlib import resources

import pytest

from analytics import cost as queries
from analytics.engine import connect
from tests.cost.text_tables import table_rows

COST_SQL = sorted(
    f for f in resources.files("analytics.sql").iterdir() if re.match(r"4\d_.*\.sql$", f.name)
)

# Constructs DuckDB accepts but Athena (Trino) does not; the views must run on both.
NOT_PORTABLE = [
    r"\bQUALIFY\b",
    r"\bEXCLUDE\b",
    r"::",
    r"\bstrftime\b",
    r"\blist_\w+",
    r"\bstruct_pack\b",
    r"\bILIKE\b",
    r"\bifnull\b",
    r"\bdatediff\b",
    r"\bepoch\b",
    r"\bSTRING_AGG\b",
    r'"[^"]*"\s*\[',
    r"\bGROUP BY ALL\b",
    r"\bcount_if\b",
]


def test_there_are_thirteen_cost_views_and_they_use_portable_sql():
    assert [f.name.split("_", 1)[1] for f in COST_SQL] == [
        "cost_lines.sql",
        "cost_attempts.sql",
        "instance_lives.sql",
        "billed_lines.sql",
        "instance_tenancy.sql",
        "billed_allocated.sql",
        "cost_by_month.sql",
        "storage_costs.sql",
        "cost_per_sample.sql",
        "savings.sql",
        "reconcile_attempts.sql",
        "reconcile_months.sql",
        "untagged_spend.sql",
    ]
    for f in COST_SQL:
        text = f.read_text()
        assert text.startswith("--"), f"{f.name}: say what the view is for"
        for pattern in NOT_PORTABLE:
            assert not re.search(pattern, text, re.I), f"{f.name}: {pattern}"


def test_every_query_works_on_an_empty_lake(lake_settings):
    con = connect(lake_settings)
    for f in COST_SQL:
        name = f.name.removesuffix(".sql").split("_", 1)[1]
        assert con.sql(f"SELECT count(*) FROM {name}").fetchone() == (0,)
    assert queries.cost_by(con, ["project", "month"]) == []
    assert queries.cost_by(con, ["cost_kind"]) == []
    assert queries.savings(con) == [] and queries.savings(con, by_month=True) == []
    assert queries.reconcile(con) == [] and queries.reconcile_attempts(con, "2026-01", 0.1) == []
    assert queries.untagged_spend(con) == [] and queries.cost_trend(con, "P") == []
    assert queries.cost_per_sample(con, limit=5) == []
    t = queries.totals(con)
    assert (t.estimated_usd, t.billed_usd, t.unpriced_rows) == (0, 0, 0)


def test_unpriced_rows_are_counted_not_summed_as_zero(lake_settings):
    from datetime import UTC, datetime, timedelta

    from lake.store import LakeStore
    from pipeline_runner.cost import AttemptUsage, estimate_attempt_cost
    from pipeline_runner.prices import PriceBook

    t0 = datetime(2026, 6, 3, 10, tzinfo=UTC)
    book = PriceBook.load_default()
    tags = {"project": "P1", "sample_id": "S1", "run_id": "R1"}
    rows = []
    for i, itype in enumerate(("f1.2xlarge", "x9.unknown")):
        rows += estimate_attempt_cost(
            AttemptUsage(
                f"j{i}", 1, tags, "on-demand", itype, t0, t0 + timedelta(hours=1), licensed=False
            ),
            book,
        )
    LakeStore(lake_settings).write("costs", rows)
    con = connect(lake_settings)
    (p1,) = queries.cost_by(con, ["project"])
    assert (
        p1["estimated_usd"] == pytest.approx(1.65)
        and p1["unpriced_rows"] == 1
        and p1["line_count"] == 2
    )
    (month,) = queries.reconcile(con)
    assert month["unpriced_rows"] == 1 and month["estimated_usd"] == pytest.approx(1.65)


def test_cost_per_sample_per_gigabase_and_the_monthly_trend(lake_settings):
    from datetime import UTC, datetime, timedelta

    from click.testing import CliRunner

    from lake.store import LakeStore
    from pipeline_runner.cost import AttemptUsage, estimate_attempt_cost
    from pipeline_runner.prices import PriceBook
    from seqledger.cli import main

    book = PriceBook.load_default(licence_usd_per_gbase=0.02)
    store = LakeStore(lake_settings)
    rows, runs = [], []
    for i, (sample, month) in enumerate((("S1", 5), ("S1", 6), ("S2", 6))):
        t0 = datetime(2026, month, 10, 8, tzinfo=UTC)
        tags = {"project": "P1", "sample_id": sample, "run_id": f"R{i}"}
        rows += estimate_attempt_cost(
            AttemptUsage(
                f"j{i}",
                1,
                tags,
                "on-demand",
                "f1.2xlarge",
                t0,
                t0 + timedelta(hours=2),
                input_bases=100 * 10**9,
            ),
            book,
        )
        runs.append(
            {
                **tags,
                "status": "SUCCEEDED",
                "status_at": t0 + timedelta(hours=2),
                "input_bases": 100 * 10**9,
            }
        )
    store.write("costs", rows)
    store.write("runs", runs)
    con = connect(lake_settings)
    per = {r["sample_id"]: r for r in queries.cost_per_sample(con)}
    run_cost = 1.65 * 2 + 100 * 0.02
    assert per["S1"]["runs"] == 2 and per["S1"]["input_gbases"] == pytest.approx(200)
    assert per["S1"]["estimated_usd"] == pytest.approx(2 * run_cost)
    assert per["S1"]["estimated_usd_per_gbase"] == pytest.approx(run_cost / 100)
    assert per["S1"]["licence_usd"] == pytest.approx(4.0) and per["S1"]["billed_usd"] is None
    trend = {
        (r["month"], r["cost_kind"]): r["estimated_usd"] for r in queries.cost_trend(con, "P1")
    }
    assert trend == {
        ("2026-05", "compute"): pytest.approx(3.3),
        ("2026-05", "licence"): pytest.approx(2),
        ("2026-06", "compute"): pytest.approx(6.6),
        ("2026-06", "licence"): pytest.approx(4),
    }
    env = {"SEQLEDGER_LAKE": lake_settings.lake_uri}
    out = CliRunner().invoke(main, ["report", "cost", "--per-sample"], env=env).output
    s1 = next(r for r in table_rows(out) if r["sample_id"] == "S1")
    assert s1["estimated_usd"] == f"{2 * run_cost:,.2f}"
    assert s1["est_usd_per_gbase"] == f"{run_cost / 100:,.2f}" and s1["billed_usd"] == ""
    out = CliRunner().invoke(main, ["report", "cost", "--trend", "--project", "P1"], env=env).output
    assert [ln.split()[:3] for ln in out.splitlines() if ln.startswith("2026-06")] == [
        ["2026-06", "compute", "6.60"],
        ["2026-06", "licence", "4.00"],
    ]


def test_billed_lines_joins_instance_hours_by_hash_not_by_comparing_every_pair(lake_settings):
    """A LIKE beside the equality in a LEFT JOIN's ON made DuckDB plan a nested-loop join (every
    line against every instance-hour: a seed-scale month of the bill did not finish in 5 min);
    the instance-hour test now sits in the join key, and the plan hashes."""
    from datetime import UTC, datetime

    from analytics.engine import connect
    from lake.store import LakeStore

    at = datetime(2026, 6, 1, 10, tzinfo=UTC)
    base = {"time_interval": at.isoformat(), "usage_start_at": at, "export_format": "cur2"}
    LakeStore(lake_settings).write("billed_costs", [
        {**base, "line_item_id": "host", "usage_type": "USE1-SpotUsage:f2.6xlarge",
         "product_code": "AmazonEC2", "resource_id": "i-1", "unblended_cost_usd": 2.0},
        {**base, "line_item_id": "task", "usage_type": "ECS-vCPU-Hours",
         "product_code": "AmazonECS", "resource_id": "task-1", "split_parent_resource_id": "i-1",
         "unblended_cost_usd": 0.0, "split_cost_usd": 1.5},
    ])
    con = connect(lake_settings)
    plan = con.execute("EXPLAIN SELECT line_role, count(*) FROM billed_lines GROUP BY 1"
                       ).fetchall()[0][1]
    assert "HASH_JOIN" in plan
    assert "NL_JOIN" not in plan and "NESTED_LOOP" not in plan
    assert sorted(con.execute("SELECT line_role FROM billed_lines").fetchall()) == [
        ("split",), ("split_parent",)]
