"""What Athena would read for a query: columns and months per table, and their Parquet bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.athena import view_definitions
from analytics.scan import TableScan, scan_bytes, scan_plan
from lake.store import LakeStore

DEDUPE_COSTS = {"month", "job_id", "attempt", "component", "recorded_at"}


def test_a_query_reads_only_its_columns_and_the_dedupe_keys():
    (scan,) = scan_plan("SELECT project, sum(cost_usd) FROM costs GROUP BY project",
                        view_definitions())
    assert scan == TableScan("costs", frozenset({"project", "cost_usd"} | DEDUPE_COSTS), None)


def test_a_month_filter_through_the_views_prunes_the_table_it_reaches():
    sql = ("SELECT e.project, r.attempts "
           "FROM (SELECT project FROM cost_lines WHERE month = '2026-10') e "
           "JOIN (SELECT project, attempts FROM run_outcomes) r ON e.project = r.project "
           "JOIN (SELECT job_id FROM job_attempts WHERE month IN ('2026-10', '2026-11')) j "
           "ON j.job_id = e.project")
    scans = {s.table: s for s in scan_plan(sql, view_definitions())}
    assert scans["costs"].months == {"2026-10"}
    assert scans["job_attempts"].months is None  # also read, unfiltered, by run_outcomes
    assert scans["runs"].months is None


def test_a_table_read_twice_with_filters_reads_the_union_of_their_months():
    sql = ("SELECT job_id FROM job_attempts WHERE month IN ('2026-10', '2026-11') "
           "UNION ALL SELECT job_id FROM job_attempts WHERE month = '2026-11'")
    (scan,) = scan_plan(sql, view_definitions())
    assert scan.months == {"2026-10", "2026-11"}


def test_without_a_month_filter_every_month_is_read():
    (scan,) = scan_plan("SELECT count(*) FROM costs WHERE project = 'pgx'", view_definitions())
    assert scan.months is None


def test_bytes_are_the_column_chunks_of_the_columns_and_months_read(lake_settings):
    store = LakeStore(lake_settings)
    for month in (10, 11):
        store.write("quarantine", [{
            "quarantine_id": f"q{month}-{i}",
            "quarantined_at": datetime(2026, month, 2, tzinfo=UTC),
            "stage": "ingest.event", "source": f"evt-{i}", "reason": "malformed " * 50}
            for i in range(200)])
    everything = TableScan("quarantine", frozenset(store.read("quarantine").column_names))
    (whole,) = scan_bytes([everything], store)
    assert whole.read_bytes == whole.table_bytes > 0
    (one,) = scan_bytes([TableScan("quarantine", frozenset({"reason"}), frozenset({"2026-10"}))],
                        store)
    assert 0 < one.read_bytes < whole.table_bytes / 2
    assert one.share == one.read_bytes / whole.table_bytes
