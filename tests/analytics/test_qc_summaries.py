"""The QC page's answers beyond the strip limit equal the ones it read from the facts.

The property: on random histories of runs and their gates (three checks, two of them tiers of one
metric; re-gated up to six weeks later; redelivered; in any order; rollups refreshed at any
point), for random filters (whole months, days, projects, releases, workflows),
``qc.failed_checks`` (its first rows and its count), ``qc.metric_bins`` and, where
``qc.fits_monthly`` says it answers, ``qc.metric_summary`` equal the same questions asked of the
facts the way the page asked them before (``tests/analytics/pages_from_facts.py``).
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics import qc, rollups
from analytics.engine import connect
from analytics.filters import Filters
from tests.analytics import pages_from_facts as facts
from tests.analytics.histories import played
from tests.analytics.test_rollups_qc_billed import EDGE, MONTHS, PROPERTY, _at

BINS = 7  # few bins: runs share them, edges are hit


def _gate(draw, tags: dict, at) -> list[dict]:
    """Coverage (>= 30) and contamination in two tiers (< 1 review, <= 3 fail), and the verdict."""
    common = {k: tags[k] for k in ("run_id", "sample_id", "project", "pipeline_release")} | {
        "suite": "sample_qc", "suite_version": "v1", "evaluated_at": at}
    cov = draw(st.sampled_from([25.0, 30.0, 35.0])) if draw(st.booleans()) else draw(
        st.floats(0, 60, allow_nan=False))
    con = draw(st.floats(0, 4, allow_nan=False))
    rows = []
    for check, metric, rule, value, passed, severity in (
            ("coverage", "mean_coverage_x", ">= 30", cov, cov >= 30, "fail"),
            ("contamination_review", "contamination_pct", "< 1", con, con < 1, "review"),
            ("contamination_max", "contamination_pct", "<= 3", con, con <= 3, "fail")):
        rows.append({**common, "check_id": check, "metric_id": metric, "observed_value": value,
                     "threshold": rule, "passed": passed, "severity": severity,
                     "verdict": "pass" if passed else severity})
    verdict = max((r["verdict"] for r in rows), key=["pass", "review", "fail"].index)
    return [*rows, {**common, "check_id": "overall", "passed": verdict == "pass",
                    "verdict": verdict}]


@st.composite
def gated_run(draw, run: int) -> dict[str, list[dict]]:
    tags = {"run_id": f"run-{run}", "sample_id": f"S{run % 3}",
            "project": draw(st.sampled_from(["a", "b", None])),
            "pipeline_release": draw(st.sampled_from(["r1", "r2"])),
            "workflow": draw(st.sampled_from(["germline", "somatic"]))}
    end = _at(draw, 24 * 20)
    rows: dict[str, list[dict]] = {"runs": [], "qc_results": []}
    if draw(st.booleans()) or run == 0:
        rows["runs"] = [{**tags, "status": "SUCCEEDED", "status_at": end}]
    gate_at = end + timedelta(hours=draw(st.integers(1, 6)))
    for _ in range(draw(st.integers(1, 2))):
        rows["qc_results"] += _gate(draw, tags, gate_at)
        gate_at += timedelta(days=draw(st.integers(1, 42)))
    return rows


@st.composite
def histories(draw) -> list[tuple]:
    steps = []
    for i in range(draw(st.integers(1, 8))):
        for name, rows in draw(gated_run(i)).items():
            if rows:
                steps.append(("write", name, rows))
    steps += [("write", n, r) for _, n, r in steps if draw(st.integers(0, 4)) == 0]
    steps += [("refresh", draw(st.sampled_from([None, *MONTHS])), None)
              for _ in range(draw(st.integers(0, 2)))]
    return draw(st.permutations(steps))


@st.composite
def filters(draw) -> Filters:
    if draw(st.booleans()):  # whole months, as the monthly summaries answer
        first, last = sorted(draw(st.lists(st.sampled_from(MONTHS), min_size=2, max_size=2)))
        start = date.fromisoformat(first + "-01")
        end = (date.fromisoformat(last + "-01") + timedelta(days=32)).replace(day=1) - \
            timedelta(days=1)
    else:
        day = EDGE.date() - timedelta(days=draw(st.integers(0, 25)))
        start, end = day, day + timedelta(days=draw(st.integers(0, 30)))
    if draw(st.booleans()):
        start = end = None
    pick = st.lists(st.sampled_from(["a", "b", None]), max_size=2, unique=True)
    return Filters(start=start, end=end, project=tuple(draw(pick)),
                   release=tuple(draw(st.lists(st.sampled_from(["r1", "r2"]), max_size=1))),
                   workflow=tuple(draw(st.lists(st.sampled_from(["germline"]), max_size=1))))


def _same_bins(got: dict, want: dict) -> None:
    assert got["rules"] == want["rules"]
    assert len(got["bins"]) == len(want["bins"])
    for g, w in zip(got["bins"], want["bins"], strict=True):
        assert g == {**w, "lo": pytest.approx(w["lo"]), "hi": pytest.approx(w["hi"])}


def _check(con, f: Filters) -> None:
    full = facts.failed_checks(con, f)
    for limit in (None, 2):
        shown, total = qc.failed_checks(con, f, limit)
        assert total == full.num_rows
        # the same first rows (the order has ties only between rows of one sample and day)
        key = ["check_verdict", "day", "sample_id", "check_id"]
        assert shown.select(key).to_pylist() == full.select(key).to_pylist()[:limit]
        assert set(map(tuple, (r.values() for r in shown.to_pylist()))) <= set(
            map(tuple, (r.values() for r in full.to_pylist())))
    _same_bins(qc.metric_bins(con, f, BINS), facts.metric_bins(con, f, BINS))
    if qc.fits_monthly(f):
        got = qc.metric_summary(con, f)
        want = facts.metric_summary(con, f)
        assert [{**w, **{k: pytest.approx(v) for k, v in w.items() if isinstance(v, float)}}
                for w in want] == got


@PROPERTY
@given(history=histories(), asked=st.lists(filters(), min_size=1, max_size=3))
def test_the_qc_page_answers_beyond_the_strip_as_from_the_facts(history, asked):
    with tempfile.TemporaryDirectory() as tmp:
        lake, store = played(tmp, history)
        for _stage in ("as written", "refreshed"):
            con = connect(lake, store)
            for f in [Filters(), *asked]:
                _check(con, f)
            rollups.refresh(con, store)


def test_fits_monthly_only_for_what_the_monthly_summaries_hold():
    may = Filters(start=date(2026, 5, 1), end=date(2026, 6, 30), project=("a",), release=("r",))
    assert qc.fits_monthly(Filters()) and qc.fits_monthly(may)
    assert not qc.fits_monthly(Filters(start=date(2026, 5, 2), end=date(2026, 6, 30)))
    assert not qc.fits_monthly(Filters(start=date(2026, 5, 1), end=date(2026, 6, 29)))
    assert not qc.fits_monthly(Filters(start=date(2026, 5, 1)))  # open at one end
    assert not qc.fits_monthly(Filters(workflow=("germline",)))
    assert not qc.fits_monthly(Filters(cost_centre=("cc-1",)))
