"""A connection makes a view the first time a statement names it (``analytics.lazy_views``): a
query reads the files of the tables it names and no other's, and answers as if every view had
been made at connect."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pytest

from analytics import engine
from analytics.engine import connect
from analytics.unreadable import UnreadableFileWarning
from lake.settings import Settings
from tests.analytics.overview_lake import write_overview_lake


def _break(settings: Settings, table: str) -> Path:
    """A corrupt file among ``table``'s (a query reading the table skips it, with a warning)."""
    month = next((Path(settings.lake_uri) / table).glob("month=*"))
    bad = month / "part-broken.parquet"
    bad.write_bytes(b"not parquet at all")
    return bad


def test_a_query_reads_only_the_tables_it_names(lake_settings):
    write_overview_lake(lake_settings)
    bad = _break(lake_settings, "costs")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreadableFileWarning)  # a warning would fail here
        con = connect(lake_settings)
        assert con.execute("SELECT count(DISTINCT run_id) FROM runs").fetchone() == (5,)
    made = con.views.made()  # connecting made none: the query made these
    assert {"runs", "runs__files"} <= made
    assert not {n for n in made if "cost" in n}
    with pytest.warns(UnreadableFileWarning, match=f"skipped the unreadable file {bad} "):
        assert con.execute("SELECT round(sum(cost_usd), 2) FROM costs").fetchone() == (11.6,)
    assert len(con.views.skipped) == 1 and str(bad) in con.views.skipped[0]


def test_a_view_is_made_with_the_views_it_reads_and_only_once(lake_settings):
    write_overview_lake(lake_settings)
    con = connect(lake_settings)
    listed = {n for (n,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert set(con.views.names) <= listed  # listing the catalog makes every view first
    con = connect(lake_settings)
    assert con.execute("SELECT count(*) FROM run_outcomes").fetchone() == (5,)
    made = con.views.made()
    assert {"run_outcomes", "run_latest", "attempt_outcomes", "runs", "job_attempts",
            "decisions"} <= made
    assert "costs" not in made and "qc_results" not in made
    # named where the parser cannot see it: made when DuckDB reports it missing
    assert con.execute("SELECT count(*) FROM query_table('raw_costs')").fetchone()[0] > 0
    assert "raw_costs" in con.views.made()


def test_cursors_in_threads_share_the_views_made(lake_settings):
    write_overview_lake(lake_settings)
    con = connect(lake_settings)
    results: list[tuple] = []

    def count() -> None:
        cursor = con.cursor()  # the dashboard's threads each use one
        results.append(cursor.execute("SELECT count(*) FROM runs_daily").fetchone())

    threads = [threading.Thread(target=count) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert con.execute("SELECT count(*) FROM runs_daily").fetchone() == results[0]


def test_a_view_a_statement_replaces_stays_replaced(lake_settings):
    write_overview_lake(lake_settings)
    con = connect(lake_settings)
    con.execute("CREATE OR REPLACE VIEW costs_monthly AS SELECT 42 AS cost_usd")
    assert con.execute("SELECT cost_usd FROM costs_monthly").fetchall() == [(42,)]
    assert con.execute("SELECT count(*) FROM cost_prices").fetchone()[0] >= 0  # its group


def _rows(con, name: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {name}").fetchall(), key=repr)


def test_lazy_views_answer_as_views_made_at_connect(lake_settings, monkeypatch):
    write_overview_lake(lake_settings)
    lazy = connect(lake_settings)
    monkeypatch.setattr(engine, "LAZY", False)
    eager = connect(lake_settings)
    assert eager.views.made() == set(eager.views.names)
    names = lazy.views.names
    assert len(names) > 100
    for name in reversed(names):  # the views that read others first
        assert _rows(lazy, name) == _rows(eager, name), name
