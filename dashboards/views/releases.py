"""Releases: each pipeline release with its samples, QC verdicts, cost and runtime per sample, its
metric distributions against another release, and its validation against truth sets."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from analytics.filters import unapplied
from analytics.releases import COMPARED_METRICS, RUN_COLUMNS, release_summary
from dashboards import data, filters
from dashboards import qc_charts as charts

# Rows of the runs table sent to the browser; a year of runs would take seconds to serialise.
SHOWN_ROWS = 1000

st.title("Releases")
st.caption("A release is a DRAGEN version with its configuration; it is validated on GIAB "
           "reference samples (`seqledger release validate`) before it runs production samples.")

f = filters.current()


def download(label: str, rows: object, name: str) -> None:
    st.download_button(f"Download {label} (CSV)", lambda: charts.csv_bytes(rows), file_name=name,
                       mime="text/csv", key=f"csv_{name}")


try:
    states = data.release_states()
    runs = data.query("releases.release_samples", f)
except data.LakeUnavailable as e:
    st.error(str(e))
    st.stop()

if not states:
    st.info("No releases yet: nothing has run and no hap.py results are loaded. `seqledger demo` "
            "plays a month and three release validations.", icon=":material/inbox:")
    st.stop()

# Python rows of the few columns the summary reads: a seed-scale year has 140,000 runs.
summary = release_summary(runs.select(["pipeline_release", "sample_id", "verdict", "cost_usd",
                                       "runtime_h"]).to_pylist())
empty = {"runs": 0, "samples": 0, "qc_pass": 0, "qc_review": 0, "qc_fail": 0,
         "median_cost_usd": None, "median_runtime_h": None}
table = [{"release": s["release"], "validation": s["state"], "baseline": s["baseline"] or "",
          "validated at": (s["validated_at"] or "")[:16].replace("T", " "),
          "reference samples": s["reference_samples"],
          "runs": (m := summary.get(s["release"], empty))["runs"], "samples": m["samples"],
          "QC pass": m["qc_pass"], "QC review": m["qc_review"], "QC fail": m["qc_fail"],
          "median cost per run (USD)": m["median_cost_usd"],
          "median DRAGEN runtime (h)": m["median_runtime_h"]}
         for s in states]
st.dataframe(pa.Table.from_pylist(table), hide_index=True, width="stretch")
download("releases", table, "releases.csv")
if not f.is_empty:
    st.caption("Runs, samples, verdicts, cost and runtime count the runs the sidebar selects; "
               "validation states are the releases' own."
               + (f" Not narrowed by: {', '.join(m)}." if (m := unapplied(f, RUN_COLUMNS))
                  else ""))

# A release against another: every compared metric, cost and runtime per run, side by side.
with_runs = [s["release"] for s in states if s["release"] in summary]
if with_runs:
    st.header("Compare releases")
    left, right, third = st.columns([2, 2, 3])
    release = left.selectbox("Release", with_runs, index=len(with_runs) - 1, key="rel_release")
    before = [r for r in with_runs if r != release]
    # Against the release it was validated against, else the one before it.
    baseline = next(s["baseline"] for s in states if s["release"] == release)
    previous = baseline if baseline in before else (
        with_runs[with_runs.index(release) - 1] if with_runs.index(release) > 0
        else (before[0] if before else None))
    against = right.selectbox("against", before, key="rel_against",
                              index=before.index(previous) if previous in before else None,
                              placeholder="no other release") if before else None
    shown = [r for r in (against, release) if r]
    frame = runs.filter(pc.is_in(runs["pipeline_release"], pa.array(shown))).to_pandas()
    same = third.checkbox("Only samples run under both", value=False, key="rel_same",
                          help="A like-for-like comparison: reference samples run again under "
                               "each release") if against else False
    if same:
        both = set.intersection(*(set(frame.loc[frame["pipeline_release"] == r, "sample_id"])
                                  for r in shown))
        frame = frame[frame["sample_id"].isin(both)]
    st.caption(" · ".join(f"{r}: {int((frame['pipeline_release'] == r).sum())} runs"
                          for r in shown))
    for metric in ("cost_usd", "runtime_h", *COMPARED_METRICS):
        points = frame[["pipeline_release", "sample_id", "run_id", metric]].rename(
            columns={metric: "value"}).dropna(subset=["value"])
        if not points.empty:
            st.altair_chart(charts.release_comparison(points, metric, shown), width="stretch")
    st.subheader("Runs of these releases")
    if len(frame) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} of {len(frame):,} runs; the CSV has them all.")
    st.dataframe(frame.head(SHOWN_ROWS), hide_index=True, width="stretch")
    download("runs", frame, f"release-runs-{'-vs-'.join(shown)}.csv")

st.header("Validation")
validated = [s for s in states if s["validated_at"]]
if not validated:
    st.info("No release has been validated yet.")
    st.stop()
names = [s["release"] for s in validated]
choice = st.selectbox("Validation of", names, index=len(names) - 1, key="rel_validation")
state = next(s for s in validated if s["release"] == choice)
verdict = {"passed": st.success, "passed with warnings": st.warning, "failed": st.error}
verdict.get(state["state"], st.info)(
    f"**{choice}**: {state['state']} against "
    f"{state['baseline'] or 'no baseline (truth-set floors only)'}, "
    f"{state['validated_at'][:16].replace('T', ' ')} UTC")
checks = data.validation_checks(choice)
not_passed = checks.filter(pc.not_equal(checks["verdict"], "pass"))
st.subheader(f"Checks not passed ({not_passed.num_rows} of {checks.num_rows})")
st.dataframe(not_passed, hide_index=True, width="stretch")
download("validation checks", checks, f"release-validation-checks-{choice}.csv")
report = data.report_html(state["report"]) if state["report"] else None
if report:
    st.download_button("Download the validation report (HTML)", report,
                       file_name=f"release-validation-{choice}.html", mime="text/html")
    st.caption(f"Report: `{state['report']}`")
