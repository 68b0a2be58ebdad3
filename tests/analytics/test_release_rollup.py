"""The Releases page's runs come from the ``release_runs`` rollup and answer as the facts do.

The property: on random histories of runs under two releases around a month edge (some never
finishing, some with no run row at all), their costs, DRAGEN metrics (runtime, coverage, SNPs) and
QC gates (re-gated up to six weeks later), redelivered, written in any order, with rollups
refreshed and months compacted at any point in between, ``releases.release_samples`` and
``releases.release_states`` (their run counts and first and last runs) equal the same questions
asked of the fact views (``run_latest``, ``costs``, ``qc_verdicts``, ``sample_qc``) the way they
were asked before the rollup existed, for the whole lake and for each month and project.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from analytics import releases, rollups
from analytics.engine import connect
from analytics.filters import Filters, where
from lake.store import LakeStore
from tests.analytics.histories import played
from tests.analytics.test_rollups_qc_billed import MONTHS, PROPERTY, _at, gate

TABLES = ("runs", "costs", "qc_metrics", "qc_results")
FILTERS = [Filters(), Filters(project=("a", None)),
           Filters(start=date(2026, 1, 20), end=date(2026, 2, 3)),
           Filters(start=date(2026, 2, 1), end=date(2026, 2, 28), release=("r2",))]

# release_samples as it read the facts before the rollup (the reference answer)
FROM_FACTS = f"""
    WITH cost AS (SELECT run_id, sum(cost_usd) AS cost_usd FROM costs GROUP BY run_id)
    SELECT r.pipeline_release, r.sample_id, r.run_id, r.project, r.status,
           CAST(CAST(r.status_at AS DATE) AS VARCHAR) AS day, v.verdict,
           c.cost_usd, q.total_runtime_s / 3600.0 AS runtime_h,
           {", ".join(f"q.{m}" for m in releases.COMPARED_METRICS)}
    FROM run_latest r
    LEFT JOIN cost c ON c.run_id = r.run_id
    LEFT JOIN qc_verdicts v ON v.run_id = r.run_id AND v.suite = 'sample_qc'
    LEFT JOIN sample_qc q ON q.run_id = r.run_id
    WHERE r.pipeline_release IS NOT NULL {{cond}}
    ORDER BY r.status_at, r.run_id"""
FACT_COLUMNS = releases.Columns(time="r.status_at", project="r.project",
                                cost_centre="r.cost_centre", workflow="r.workflow",
                                release="r.pipeline_release")


@st.composite
def release_run(draw, run: int) -> dict[str, list[dict]]:
    run_id, sample = f"run-{run}", f"S{run % 3}"  # samples run again, under either release
    tags = {"run_id": run_id, "sample_id": sample,
            "project": draw(st.sampled_from(["a", "b", None])),
            "pipeline_release": draw(st.sampled_from(["r1", "r2", None]))}
    end = _at(draw)
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    if draw(st.integers(0, 5)):  # else: metrics and a gate of a run the lake does not hold
        rows["runs"].append({**tags, "status": "RUNNING", "status_at": end - timedelta(hours=5)})
        if draw(st.booleans()):
            rows["runs"].append({**tags, "status": draw(st.sampled_from(["SUCCEEDED", "FAILED"])),
                                 "status_at": end})
    for k in range(draw(st.integers(0, 2))):
        rows["costs"].append({**tags, "job_id": f"job-{run}", "attempt": k + 1,
                              "component": "compute", "usage_start_at": end - timedelta(hours=3),
                              "cost_usd": draw(st.none() | st.floats(0, 50, allow_nan=False)),
                              "price_status": "list"})
    if draw(st.booleans()):
        common = {"run_id": run_id, "sample_id": sample, "run_at": end, "section": "S",
                  "read_group": "", "source_file": "m.csv"}
        for metric, value in (("total_runtime_s", draw(st.floats(3600, 20000))),
                              ("genome_mean_coverage_x", draw(st.floats(10, 60))),
                              ("vc_postfilter_snps", float(draw(st.integers(0, 5_000_000))))):
            rows["qc_metrics"].append({**common, "metric_name": metric, "metric_id": metric,
                                       "value": value})
    gate_at = end + timedelta(hours=1)
    for _ in range(draw(st.integers(0, 2))):
        rows["qc_results"] += gate(draw, tags, gate_at)
        gate_at += timedelta(days=draw(st.integers(1, 42)))
    return rows


@st.composite
def histories(draw) -> list[tuple]:
    steps = []
    for i in range(draw(st.integers(1, 5))):
        steps += [("write", name, [row]) for name, rows in draw(release_run(i)).items()
                  for row in rows]
    steps += [("write", n, r) for _, n, r in steps if draw(st.integers(0, 4)) == 0]
    steps += [("refresh", draw(st.sampled_from([None, *MONTHS])), None)
              for _ in range(draw(st.integers(0, 3)))]
    steps += [("compact", draw(st.sampled_from(TABLES)), draw(st.sampled_from(MONTHS)))
              for _ in range(draw(st.integers(0, 2)))]
    return draw(st.permutations(steps))


def _answers(con) -> tuple[list, list]:
    from_rollup, from_facts = [], []
    for f in FILTERS:
        from_rollup.append(releases.release_samples(con, f).to_pylist())
        cond, params = where(f, FACT_COLUMNS)
        from_facts.append(con.execute(FROM_FACTS.format(cond=cond), params).to_arrow_table()
                          .to_pylist())
    states = [(s["release"], s["runs"], s["first_run_at"], s["last_run_at"])
              for s in releases.release_states(con)]
    facts = con.execute("""SELECT pipeline_release, count(*), min(status_at), max(status_at)
                           FROM run_latest WHERE pipeline_release IS NOT NULL
                           GROUP BY 1 ORDER BY min(status_at)""").fetchall()
    from_rollup.append(states)
    from_facts.append([(r, n, a.isoformat(), b.isoformat()) for r, n, a, b in facts])
    return from_rollup, from_facts


def _same(con) -> None:
    got, want = _answers(con)
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(w), (g, w)
        for a, b in zip(g, w, strict=True):
            if isinstance(a, dict):  # sums of money in another order: to a millionth of a cent
                assert a.keys() == b.keys()
                for k in a:
                    if isinstance(b[k], float):
                        assert abs(a[k] - b[k]) < 1e-9, (k, a, b)
                    else:
                        assert a[k] == b[k], (k, a, b)
            else:
                assert a == b


@PROPERTY
@given(history=histories())
def test_release_runs_answer_as_the_facts_do(history):
    with tempfile.TemporaryDirectory() as tmp:
        lake, store = played(tmp, history)
        con = connect(lake, store)
        _same(con)
        rollups.refresh(con, store, rollups.stale_months(con, store))
        con = connect(lake, store)
        assert "rollup_release_runs_monthly" not in rollups.stale_months(con, store)
        _same(con)


def test_the_releases_page_reads_the_rollup_not_the_facts(lake_settings):
    """What makes the page fast: its queries name the rollup's view, never the fact views."""
    from analytics.engine import open_engine
    from tests.analytics.trino_roundtrip import Recorder

    LakeStore(lake_settings).write("runs", [
        {"run_id": "R1", "sample_id": "S1", "pipeline_release": "r1", "status": "SUCCEEDED",
         "status_at": datetime(2026, 1, 5, 8, tzinfo=UTC)}])
    rec = Recorder(open_engine(lake_settings))
    rows = releases.release_samples(rec, Filters()).to_pylist()
    states = releases.release_states(rec)
    assert [(r["run_id"], r["status"], r["day"]) for r in rows] == [
        ("R1", "SUCCEEDED", "2026-01-05")]
    assert [(s["release"], s["runs"]) for s in states] == [("r1", 1)]
    sql = " ".join(s for s, _ in rec.sent)
    assert "release_runs" in sql
    assert [v for v in ("run_latest", "sample_qc", "qc_verdicts", "FROM costs") if v in sql] == []
    rec.close()
