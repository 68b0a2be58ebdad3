"""Failures and Spot: what failed and why, where Spot capacity was taken back, where retried runs
ended, and what the attempts that did not finish cost."""

from __future__ import annotations

from dataclasses import replace

import altair as alt
import pandas as pd
import streamlit as st

from analytics.failures import wasted_share
from dashboards import data, filters
from dashboards.page_parts import table, usd

KIND_COLOURS = alt.Scale(
    domain=["spot_reclaim", "capacity", "application_error", "infrastructure", "timeout",
            "duplicate", "unclassified", "none"],
    range=["#ef6c00", "#f9a825", "#c62828", "#6a1b9a", "#1565c0", "#9e9e9e", "#5d4037",
           "#bdbdbd"])
OUTCOME_COLOURS = alt.Scale(
    domain=["succeeded on Spot", "succeeded on On-Demand", "succeeded, capacity unknown",
            "given up", "still running"],
    range=["#2e7d32", "#1565c0", "#81c784", "#c62828", "#9e9e9e"])

st.title("Failures and Spot")
f = filters.current()
grain = st.radio("Per", ["day", "month"], horizontal=True, key="failures_grain",
                 help="Failed attempts counted on the UTC day (or month) they ended")
try:
    # Open ends of the range are the lake's first and last day: a quiet lake is drawn as zeros.
    lake = data.filter_options()
    days = replace(f, start=f.start or lake.first_day, end=f.end or lake.last_day)
    by_kind = data.query("failures.failures_by_kind", days, grain).to_pandas()
    spot = data.query("failures.reclaims", f).to_pandas()
    retried = data.query("failures.retry_outcomes", f).to_pandas()
    cost = data.query("failures.retry_cost", f)
except data.LakeUnavailable as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

lost, spent, share = wasted_share(cost)
reclaims, spot_attempts = int(spot["reclaims"].sum()), int(spot["spot_attempts"].sum())
row = st.columns(5)
row[0].metric("Failed attempts", f"{int(by_kind['attempts'].sum()):,}")
row[1].metric("Spot reclaims", f"{reclaims:,}",
              help="Finished Spot attempts whose host was taken back")
row[2].metric("Reclaim rate", "—" if not spot_attempts else f"{reclaims / spot_attempts:.1%}",
              help=f"{reclaims} of {spot_attempts} finished Spot attempts")
row[3].metric("Retried runs", f"{int(retried['runs'].sum()):,}",
              help="Runs that took more than one attempt")
row[4].metric("Spent on unfinished attempts", usd(lost),
              help="Estimated compute, licence and scratch of attempts that failed"
                   + ("" if share is None else f": {share:.1%} of {usd(spent)} on all attempts"))

st.subheader("Failed attempts by kind")
st.altair_chart(
    alt.Chart(by_kind, title=f"Failed attempts per {grain} (UTC)").mark_bar().encode(
        x=alt.X("period:O", title=grain),
        y=alt.Y("sum(attempts):Q", title="failed attempts", axis=alt.Axis(tickMinStep=1,
                                                                           format="d")),
        color=alt.Color("failure_kind:N", scale=KIND_COLOURS, title="kind"),
        tooltip=[alt.Tooltip("period:O", title=grain), alt.Tooltip("failure_kind:N", title="kind"),
                 alt.Tooltip("attempts:Q", title="failed attempts")],
    ),
    width="stretch",
)
if not by_kind["attempts"].any():
    st.caption("No attempt failed in this selection.")
st.caption("Kinds are what the retry policy decided; an attempt with no decision is a Spot "
           "reclaim when Batch said its host was terminated, else *unclassified*.")
with st.expander("Table"):
    table(by_kind, "failed attempts by kind", "failures_by_kind")

st.subheader("Spot reclaims")
if spot.empty:
    st.caption("No Spot attempt finished in this selection.")
else:
    hours = pd.DataFrame({"hour": range(24)})

    def per(column: str) -> pd.DataFrame:
        out = spot.groupby(column, as_index=False)[["spot_attempts", "reclaims"]].sum()
        out["reclaim_rate"] = out["reclaims"] / out["spot_attempts"]
        return out

    by_hour = hours.merge(per("hour"), how="left").fillna(0)
    by_hour["reclaim_rate"] = by_hour["reclaims"] / by_hour["spot_attempts"].where(
        by_hour["spot_attempts"] > 0)
    tips = [alt.Tooltip("reclaims:Q", title="reclaims"),
            alt.Tooltip("spot_attempts:Q", title="finished Spot attempts"),
            alt.Tooltip("reclaim_rate:Q", title="reclaim rate", format=".1%")]
    cols = st.columns(3)
    for col, column, title in ((cols[0], "instance_type", "instance type"),
                               (cols[1], "availability_zone", "availability zone")):
        col.altair_chart(
            alt.Chart(per(column), title=f"Reclaims by {title}").mark_bar(color="#ef6c00").encode(
                x=alt.X("reclaims:Q", title="reclaims", axis=alt.Axis(tickMinStep=1, format="d")),
                y=alt.Y(f"{column}:N", title=None, sort="-x"),
                tooltip=[alt.Tooltip(f"{column}:N", title=title), *tips]),
            width="stretch")
    cols[2].altair_chart(
        alt.Chart(by_hour, title="Reclaims by hour of day (UTC)").mark_bar(
            color="#ef6c00").encode(
            x=alt.X("hour:O", title="hour of day (UTC)"),
            y=alt.Y("reclaims:Q", title="reclaims", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=[alt.Tooltip("hour:O", title="hour (UTC)"), *tips]),
        width="stretch")
    if (spot["availability_zone"] == "unknown").any():
        st.caption("Batch events do not name the zone: it comes from the billing export's lines "
                   "for the instance (`seqledger ingest cur`); *unknown* until one is loaded.")
    with st.expander("Table"):
        table(spot, "Spot attempts and reclaims", "spot_reclaims")

left, right = st.columns(2)
with left:
    st.subheader("Retries and where they ended")
    if retried.empty:
        st.caption("No run took more than one attempt in this selection.")
    else:
        st.altair_chart(
            alt.Chart(retried, title="Runs that were retried, by outcome").mark_bar().encode(
                x=alt.X("runs:Q", title="runs", axis=alt.Axis(tickMinStep=1, format="d")),
                y=alt.Y("outcome:N", title=None, sort=list(OUTCOME_COLOURS.domain)),
                color=alt.Color("outcome:N", scale=OUTCOME_COLOURS, legend=None),
                tooltip=["outcome", "runs", "attempts", "retries", "spot_reclaims"]),
            width="stretch")
    table(retried, "retried runs by outcome", "retry_outcomes")
with right:
    st.subheader("Cost of retries")
    frame = cost.to_pandas()
    unfinished = frame[frame["outcome"] == "did not finish"]
    if unfinished.empty:
        st.caption("No cost was spent on attempts that did not finish.")
    else:
        st.altair_chart(
            alt.Chart(unfinished, title="Spent on attempts that did not finish").mark_bar().encode(
                x=alt.X("sum(cost_usd):Q", title="estimated cost (USD)",
                        axis=alt.Axis(format="$,.2f")),
                y=alt.Y("failure_kind:N", title=None, sort="-x"),
                color=alt.Color("cost_kind:N", title="component"),
                tooltip=[alt.Tooltip("failure_kind:N", title="kind"),
                         alt.Tooltip("cost_kind:N", title="component"),
                         alt.Tooltip("cost_usd:Q", title="cost", format="$,.2f"),
                         alt.Tooltip("attempts:Q", title="attempts")]),
            width="stretch")
    table(frame, "cost of attempts by outcome", "retry_cost",
          {"cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.2f")})
    st.caption("Licence is metered for an attempt that started: a reclaimed attempt pays it "
               "again on its retry. Run-level storage is not an attempt's and is left out.")
