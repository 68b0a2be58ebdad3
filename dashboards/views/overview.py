"""Overview: what ran, what failed, what it cost and how much passed QC."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data

STATUS_COLOURS = alt.Scale(domain=["SUCCEEDED", "FAILED"], range=["#2e7d32", "#c62828"])

st.title("DRAGEN runs overview")
st.caption(f"Lake: `{data.lake_uri()}` · figures are at most {data.TTL_S} s old")

try:
    o = data.overview()
except data.LakeUnavailable as e:
    st.error(str(e))
    st.stop()

if o.is_empty:
    st.info("No data yet — run `seqledger demo` to play a small production month into this lake.",
            icon=":material/inbox:")
    st.stop()

row = st.columns(4)
row[0].metric("Samples", f"{o.samples:,}")
row[1].metric("Runs", f"{o.runs:,}", help="Runs of any status; a sample may be run more than once")
row[2].metric("Attempts", f"{o.attempts:,}", help="Batch jobs submitted, retries included")
row[3].metric("Spot reclaims", f"{o.spot_reclaims:,}",
              help="Attempts whose Spot host was taken away")
row = st.columns(4)
row[0].metric("Failed runs", f"{o.runs_failed:,}")
row[1].metric("Runs in progress", f"{o.runs_active:,}")
rate = "—" if o.qc_pass_rate is None else f"{o.qc_pass_rate:.1%}"
row[2].metric("QC pass rate", rate,
              help=f"{o.qc_passed} pass, {o.qc_review} review, {o.qc_failed} fail "
                   f"of {o.qc_gated} gated runs")
row[3].metric("Estimated cost", f"${o.total_cost_usd:,.2f}", help="Sum of estimated cost rows")

left, right = st.columns([3, 2])
with left:
    st.subheader("Throughput")
    grain = st.radio("Per", ["day", "month"], horizontal=True, key="grain",
                     label_visibility="collapsed")
    done = data.throughput(grain).to_pandas()
    if done.empty:
        st.caption("No run has finished yet.")
    else:
        st.altair_chart(
            alt.Chart(done).mark_bar().encode(
                x=alt.X("period:O", title=grain),
                y=alt.Y("sum(runs):Q", title="finished runs",
                        axis=alt.Axis(tickMinStep=1, format="d")),
                color=alt.Color("status:N", scale=STATUS_COLOURS, title=None),
                tooltip=["period", "status", "runs"],
            ),
            width="stretch",
        )
with right:
    st.subheader("Cost by project")
    cost = data.cost_by_project().to_pandas()
    if cost.empty:
        st.caption("No cost recorded yet.")
    else:
        st.altair_chart(
            alt.Chart(cost).mark_bar().encode(
                x=alt.X("cost_usd:Q", title="estimated cost (USD)", axis=alt.Axis(format="$,.0f")),
                y=alt.Y("project:N", sort="-x", title=None),
                tooltip=["project", alt.Tooltip("cost_usd:Q", format="$,.2f"), "unpriced_rows"],
            ),
            width="stretch",
        )

st.subheader("Failures")
by_reason, by_kind = st.columns(2)
by_reason.caption("Failed runs by reason")
by_reason.dataframe(data.failures_by_reason(), hide_index=True, width="stretch")
by_kind.caption("Failed attempts by kind")
by_kind.dataframe(data.attempt_failures(), hide_index=True, width="stretch")
st.caption("Latest failed runs")
st.dataframe(data.recent_failures(), hide_index=True, width="stretch",
             column_config={"failed_at": st.column_config.DatetimeColumn(
                 "failed at (UTC)", format="YYYY-MM-DD HH:mm")})
