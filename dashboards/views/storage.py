"""Storage: what run outputs occupy and cost per S3 storage class and project, month by month,
and what the tag-driven archival rules moved and saved."""

from __future__ import annotations

import altair as alt
import streamlit as st

from analytics.storage import SCRATCH
from dashboards import data, filters
from dashboards.page_parts import size, table, usd

MONEY = st.column_config.NumberColumn(format="$%.2f")

st.title("Storage")
f = filters.current()
try:
    classes = data.query("storage.by_class", f).to_pandas()
    archival = data.query("storage.archival", f).to_pandas()
except data.LakeUnavailable as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

s3 = classes[classes["storage_class"] != SCRATCH]
latest = s3[s3["month"] == s3["month"].max()] if not s3.empty else s3
saved = float(archival["saving_usd"].fillna(0).sum())
baseline = float(archival["baseline_usd"].fillna(0).sum())
row = st.columns(4)
row[0].metric("Stored, latest month", size(float(latest["average_bytes"].sum()))
              if not latest.empty else "—",
              help="Average bytes of run outputs in S3 over the latest month selected")
row[1].metric("S3 storage cost", usd(float(s3["cost_usd"].fillna(0).sum())),
              help="Estimated storage cost of run outputs over the months selected")
row[2].metric("Objects archived", f"{int(archival['transitions'].sum()):,}",
              help="Lifecycle transitions out of S3 Standard")
row[3].metric("Saved by archival", usd(saved),
              help=("" if not baseline else f"{saved / baseline:.1%} of ")
              + "what S3 Standard would have cost")

if s3.empty:
    st.info("No S3 storage rows for run outputs in this selection. They are estimated by the "
            "lifecycle model (`pipeline_runner.storage.estimate_run_storage`: per run, class and "
            "month) as `costs` rows with component `storage:<CLASS>:<YYYY-MM>`; the demo month "
            "writes none." + (f" Shown: the jobs' scratch volumes ({SCRATCH})."
                               if not classes.empty else ""), icon=":material/inventory_2:")
if not classes.empty:
    st.subheader("Bytes and cost by storage class")
    tips = [alt.Tooltip("month:O"), alt.Tooltip("storage_class:N", title="class"),
            alt.Tooltip("project:N"), alt.Tooltip("gb_months:Q", title="GB-months", format=",.1f"),
            alt.Tooltip("cost_usd:Q", title="cost", format="$,.2f")]
    left, right = st.columns(2)
    left.altair_chart(
        alt.Chart(classes, title="Average stored per month (GiB)").mark_bar().encode(
            x=alt.X("month:O", title="month"),
            y=alt.Y("sum(gb_months):Q", title="average stored (GiB)"),
            color=alt.Color("storage_class:N", title="class"),
            tooltip=tips),
        width="stretch")
    right.altair_chart(
        alt.Chart(classes, title="Storage cost per month (USD)").mark_bar().encode(
            x=alt.X("month:O", title="month"),
            y=alt.Y("sum(cost_usd):Q", title="estimated cost (USD)",
                    axis=alt.Axis(format="$,.2f")),
            color=alt.Color("storage_class:N", title="class"),
            tooltip=tips),
        width="stretch")
    st.altair_chart(
        alt.Chart(classes, title="Storage cost by project (USD)").mark_bar().encode(
            x=alt.X("sum(cost_usd):Q", title="estimated cost (USD)",
                    axis=alt.Axis(format="$,.2f")),
            y=alt.Y("project:N", title=None, sort="-x"),
            color=alt.Color("storage_class:N", title="class"),
            tooltip=tips),
        width="stretch")
    st.caption(f"A GB-month is a GiB kept for a whole month, so GB-months per month are the "
               f"month's average GiB. {SCRATCH} is the jobs' scratch volumes (EBS) while they "
               "ran; the other classes are S3, for run outputs.")
    table(classes, "storage by class and project", "storage_by_class",
          {"cost_usd": MONEY, "average_bytes": st.column_config.NumberColumn(format="%d")})

st.subheader("What archival moved and saved")
if archival.empty:
    st.caption("No lifecycle transition, archived byte or early deletion in this selection.")
else:
    sides = archival.melt(id_vars="month", value_vars=["actual_usd", "baseline_usd"],
                          var_name="side", value_name="usd")
    sides["side"] = sides["side"].map({"actual_usd": "with archival",
                                       "baseline_usd": "all in S3 Standard"})
    st.altair_chart(
        alt.Chart(sides, title="Storage cost with archival and all in S3 Standard (USD)")
        .mark_bar().encode(
            x=alt.X("month:O", title="month"),
            xOffset=alt.XOffset("side:N"),
            y=alt.Y("usd:Q", title="cost (USD)", axis=alt.Axis(format="$,.2f")),
            color=alt.Color("side:N", title=None),
            tooltip=["month", "side", alt.Tooltip("usd:Q", title="USD", format="$,.2f")]),
        width="stretch")
    table(archival, "archival per month", "archival",
          {c: MONEY for c in ("transition_usd", "early_delete_usd", "actual_usd",
                              "baseline_usd", "saving_usd")})
    st.caption("The baseline prices the same GB-months at the S3 Standard price in effect; "
               "with archival includes transition requests and early-deletion charges.")

st.subheader("Measured: what the inventories listed")
measured = data.query("storage.measured", f).to_pandas()
if measured.empty:
    st.caption("No object inventory in this selection: `seqledger ingest inventory MANIFEST…` "
               "loads the stack's daily S3 Inventory (`--local FOLDER` lists an output folder); "
               "the figures above are the lifecycle model's estimate.")
else:
    kept = float(measured["cost_usd"].fillna(0).sum())
    standard = float(measured["standard_cost_usd"].fillna(0).sum())
    row = st.columns(3)
    row[0].metric("Stored (inventories)", f"{measured['gb_months'].sum():,.1f} GB-months")
    row[1].metric("Cost as stored", usd(kept))
    row[2].metric("Saved against all-Standard", usd(standard - kept),
                  help=("" if not standard else f"{(standard - kept) / standard:.1%} of ")
                  + "what the same GB-months cost in S3 Standard")
    st.altair_chart(
        alt.Chart(measured, title="Inventoried storage per month (GB-months)").mark_bar().encode(
            x=alt.X("month:O", title="month"),
            y=alt.Y("sum(gb_months):Q", title="GB-months"),
            color=alt.Color("storage_class:N", title="class"),
            tooltip=[alt.Tooltip("month:O"), alt.Tooltip("storage_class:N", title="class"),
                     alt.Tooltip("project:N"),
                     alt.Tooltip("gb_months:Q", title="GB-months", format=",.1f"),
                     alt.Tooltip("cost_usd:Q", title="cost", format="$,.2f"),
                     alt.Tooltip("standard_cost_usd:Q", title="all-Standard", format="$,.2f")]),
        width="stretch")
    table(measured, "inventoried storage by class and project", "storage_measured",
          {c: MONEY for c in ("cost_usd", "standard_cost_usd", "saving_usd")})
    if f.workflow or f.release or f.cost_centre:
        st.caption("Not narrowed by workflow, release or cost centre: an inventory row has none.")
