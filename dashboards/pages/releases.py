"""Releases: each pipeline release, its runs, QC and cost, and its validation against truth sets."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from dashboards import data

st.title("Releases")
st.caption("A release is a DRAGEN version with its configuration; it is validated on GIAB "
           "reference samples (`seqledger release validate`) before it runs production samples.")

try:
    states = data.release_states()
    runs = {r["release"]: r for r in data.release_runs()}
except data.LakeUnavailable as e:
    st.error(str(e))
    st.stop()

if not states:
    st.info("No releases yet: nothing has run and no hap.py results are loaded. `seqledger demo` "
            "plays a month and three release validations.", icon=":material/inbox:")
    st.stop()

table = [{"release": s["release"], "validation": s["state"], "baseline": s["baseline"] or "",
          "validated at": (s["validated_at"] or "")[:16].replace("T", " "),
          "reference samples": s["reference_samples"], "runs": s["runs"],
          "QC pass / review / fail": "{qc_pass} / {qc_review} / {qc_fail}".format(
              **runs.get(s["release"], {"qc_pass": 0, "qc_review": 0, "qc_fail": 0})),
          "median cost per run (USD)": runs.get(s["release"], {}).get("median_cost_usd"),
          "median runtime (h)": runs.get(s["release"], {}).get("median_runtime_h")}
         for s in states]
st.dataframe(pa.Table.from_pylist(table), hide_index=True, width="stretch")

validated = [s for s in states if s["validated_at"]]
if not validated:
    st.info("No release has been validated yet.")
    st.stop()
names = [s["release"] for s in validated]
choice = st.selectbox("Validation of", names, index=len(names) - 1)
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
report = data.report_html(state["report"]) if state["report"] else None
if report:
    st.download_button("Download the validation report (HTML)", report,
                       file_name=f"release-validation-{choice}.html", mime="text/html")
    st.caption(f"Report: `{state['report']}`")
