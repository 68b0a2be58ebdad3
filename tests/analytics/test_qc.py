"""analytics.qc and the Releases page's query: pure helpers, and every query sent to Athena as
Trino SQL that means the same (read back into DuckDB over the lake of tests/dashboards/qc_lake)."""

from __future__ import annotations

from datetime import date

import pytest

from analytics import qc, releases
from analytics.engine import open_engine
from analytics.filters import Filters
from tests.analytics.trino_roundtrip import Recorder, assert_same_on_trino
from tests.dashboards.qc_lake import write_qc_lake


def test_numeric_rules_are_read_and_other_rules_are_not():
    assert qc.parse_rule(">= 30") == qc.Rule(">=", 30.0)
    assert qc.parse_rule("< 1") == qc.Rule("<", 1.0)
    assert qc.parse_rule(">= 8e10") == qc.Rule(">=", 8e10)
    assert qc.parse_rule("in XX, XY") is None
    assert qc.parse_rule(None) is None and qc.parse_rule(">= ten") is None


def test_the_series_has_every_period_and_verdict_with_zeros():
    rows = [{"day": "2026-11-02", "verdict": "pass", "runs": 2},
            {"day": "2026-11-04", "verdict": "fail", "runs": 1},
            {"day": "2026-11-09", "verdict": "pass", "runs": 1}]
    days = qc.verdict_series(rows, "day")
    assert len(days) == 8 * 3  # 2 to 9 November, three verdicts each
    assert {(r["period"], r["verdict"]): r["runs"] for r in days if r["runs"]} == {
        ("2026-11-02", "pass"): 2, ("2026-11-04", "fail"): 1, ("2026-11-09", "pass"): 1}
    weeks = qc.verdict_series(rows, "week", start=date(2026, 10, 28), end=date(2026, 11, 9))
    assert sorted({r["period"] for r in weeks}) == ["2026-10-26", "2026-11-02", "2026-11-09"]
    assert {(r["period"], r["verdict"]): r["runs"] for r in weeks if r["runs"]} == {
        ("2026-11-02", "pass"): 2, ("2026-11-02", "fail"): 1, ("2026-11-09", "pass"): 1}
    assert qc.verdict_series([], "day") == []


def test_every_query_goes_to_athena_as_trino_sql_meaning_the_same(lake_settings, reference):
    write_qc_lake(lake_settings, reference / "dragen" / "TEST")
    engine = open_engine(lake_settings)
    rec = Recorder(engine)
    ranged = Filters(start=date(2026, 11, 3), end=date(2026, 11, 9), project=("pgx", None),
                     release=("rel-2",))
    for f in (Filters(), ranged):
        for fn in (qc.verdicts_by_day, qc.verdict_totals, qc.failed_checks, qc.metric_values,
                   qc.gated_samples, releases.release_samples, qc.metric_bins):
            fn(rec, f)
        qc.failed_checks(rec, f, 1)
    assert qc.verdict_totals(engine, ranged) == {"pass": 0, "review": 1, "fail": 1}
    qc.sample_runs(rec, "S1")
    for fn in (qc.run_checks, qc.run_metrics, qc.histograms, qc.contig_coverage):
        fn(rec, "R4")
    qc.histogram(rec, "R4", "fragment_length")
    assert len(rec.sent) == 22
    assert_same_on_trino(engine, rec.sent)
    engine.close()


@pytest.mark.parametrize(("f", "runs"), [
    (Filters(), ["R1", "R2", "R3", "R4"]),
    (Filters(project=("aou",)), ["R1", "R2"]),
    (Filters(start=date(2026, 11, 4), end=date(2026, 11, 4)), ["R3"]),
])
def test_release_samples_follow_the_filters(lake_settings, reference, f, runs):
    write_qc_lake(lake_settings, reference / "dragen" / "TEST")
    engine = open_engine(lake_settings)
    got = releases.release_samples(engine, f).to_pylist()
    assert [r["run_id"] for r in got] == runs
    summary = releases.release_summary(got)
    assert sum(s["runs"] for s in summary.values()) == len(runs)
    engine.close()
