"""The same SQL on both engines: every view, parsed as Trino and brought back, answers as DuckDB's.

What Athena runs is each view transpiled to Trino (``analytics.dialect.to_trino``). This test
parses that text as Trino (sqlglot, ``read="trino"``), transpiles it back to DuckDB, defines the
views from the round-tripped SQL over the same lake, and compares every view row for row with
the native ones. Two lakes: the demo month (runs, attempts, QC, estimated cost, prices) and a
billed day (job attempts, estimates and a CUR 2.0 export with split cost allocation) with real
DRAGEN outputs loaded (histograms, contig coverage), its rollups written as ``seqledger lake
rollup`` writes them.

The rollup views (``runs_daily`` …) differ by design: DuckDB's compute stale months from the
facts, Athena's read the stored rollups (``analytics.rollups.stored_view_sql``). Over lakes whose
rollups are current, both must give the same rows; over a stale lake, Athena's lag.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
import sqlglot

from analytics.athena import view_definitions
from analytics.dialect import from_trino, to_trino
from analytics.engine import connect
from analytics.rollups import ROLLUPS, refresh, stale_months
from lake.settings import Settings


@pytest.fixture(scope="module")
def billed_lake(tmp_path_factory, reference) -> Settings:
    import shutil

    from ingest.cur_exports import load_new_exports
    from ingest.dragen.service import ingest_folder
    from lake.store import LakeStore
    from tests.cost.test_reconcile import build

    root = tmp_path_factory.mktemp("billed-lake")
    settings = Settings(lake_uri=str(root / "lake"))
    build(root, settings, reference, lives=True)  # instance lives: instance_tenancy has rows
    # the export folder as the billing loader reads it: the ledger (billing_files) gets its row
    exports = root / "exports" / "data"
    exports.mkdir(parents=True)
    shutil.copy(root / "cur2.parquet", exports / "cur2-00001.snappy.parquet")
    assert load_new_exports(LakeStore(settings), str(root / "exports")).loaded
    for run in ("TEST", "T_SRR7890936_50pc"):
        ingest_folder(LakeStore(settings), reference / "dragen" / run, sample_id=run,
                      run_id=f"run-{run}", run_at=datetime(2026, 10, 15, tzinfo=UTC))
    refresh(connect(settings), LakeStore(settings))  # what `seqledger lake rollup` does
    return settings


def _key(row: tuple) -> tuple:
    return tuple((v is None, repr(v)) for v in row)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def _answers(settings: Settings) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each view's columns and rows, native and after the Trino round trip."""
    native, tripped = connect(settings), connect(settings)
    for name, sql in view_definitions().items():  # in dependency order
        trino = to_trino(sql)
        sqlglot.parse_one(trino, read="trino")  # what Athena gets parses as Trino
        tripped.execute(f"CREATE OR REPLACE VIEW {name} AS {from_trino(trino)}")
    out = {}
    for name in view_definitions():
        pair = []
        for con in (native, tripped):
            cur = con.execute(f"SELECT * FROM {name}")
            cols = [d[0] for d in cur.description]
            pair.append((cols, sorted(cur.fetchall(), key=_key)))
        out[name] = pair
    return out


@pytest.fixture(scope="module")
def answers(demo_lake, billed_lake):
    return {"demo": _answers(demo_lake), "billed": _answers(billed_lake)}


@pytest.mark.parametrize("view", list(view_definitions()))
def test_every_view_gives_duckdbs_answers_after_the_trino_round_trip(answers, view):
    for lake, by_view in answers.items():
        (cols, rows), (rt_cols, rt_rows) = by_view[view]
        assert rt_cols == cols, (lake, view)
        assert len(rt_rows) == len(rows), (lake, view)
        for got, want in zip(rt_rows, rows, strict=True):
            assert len(got) == len(want) and all(map(_same, got, want)), (lake, view, got, want)


def test_the_lakes_give_every_view_rows_to_compare(answers):
    """An empty view would pass the contract without proving anything."""
    empty = [v for v in view_definitions()
             if not any(by_view[v][0][1] for by_view in answers.values())]
    assert empty == []


def test_the_round_trip_is_not_the_identity():
    """The dialects do differ, and the difference is handled once, by the transpiler."""
    sql = view_definitions()["reconcile_attempts"]
    trino = to_trino(sql)
    # DuckDB's date_diff counts boundaries crossed; Trino's whole units: sqlglot truncates first
    assert "DATE_DIFF('SECOND', DATE_TRUNC('SECOND'" in trino


@pytest.mark.parametrize("rollup", ROLLUPS, ids=lambda r: r.view)
def test_the_rollup_views_read_the_stored_rollups_and_have_rows(answers, rollup):
    """Athena's rollup view is the stored table as it is (no fact table, no digest)."""
    tree = sqlglot.parse_one(to_trino(view_definitions()[rollup.view]), read="trino")
    assert [t.name for t in tree.find_all(sqlglot.exp.Table)] == [rollup.table]
    assert "source_digest" not in tree.sql()
    (_cols, rows), _ = answers["demo"][rollup.view]
    # the comparison above had something to compare (the demo has no bill: the billed rollup is
    # compared with its facts by tests/analytics/test_rollups_qc_billed.py)
    assert rows or rollup.facts == ("billed_costs",)


def test_a_stale_rollup_lags_on_athenas_definition_until_the_rollup_runs(tmp_path, demo_lake):
    """DuckDB computes a month whose facts changed; Athena's view shows the stored month."""
    import shutil

    from lake.store import LakeStore

    settings = Settings(lake_uri=str(tmp_path / "lake"))
    shutil.copytree(demo_lake.lake_uri, settings.lake_uri)
    store = LakeStore(settings)
    costs = store.read("costs").to_pylist()
    (month,) = store.months("costs")
    store.write("costs", [costs[0] | {"job_id": "job-added-later", "cost_usd": 1000.0}])
    # Every rollup summarising the cost rows (the monthly costs, the pages' own) lags.
    assert stale_months(connect(settings), store) == {
        r.table: [month] for r in ROLLUPS if "costs" in r.facts}

    def totals() -> tuple[float, float]:
        """Total cost through DuckDB's view and through Athena's, round-tripped."""
        native, athena = connect(settings), connect(settings)
        athena.execute("CREATE OR REPLACE VIEW costs_monthly AS "
                       f"{from_trino(to_trino(view_definitions()['costs_monthly']))}")
        sql = "SELECT sum(cost_usd) FROM costs_monthly"
        return native.execute(sql).fetchone()[0], athena.execute(sql).fetchone()[0]

    facts, stored = totals()
    assert facts == pytest.approx(stored + 1000.0)
    refresh(connect(settings), store, [month])  # `seqledger lake rollup --stale`
    assert stale_months(connect(settings), store) == {}
    facts_after, stored_after = totals()
    assert stored_after == pytest.approx(facts_after) and facts_after == pytest.approx(facts)
