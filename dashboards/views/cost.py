"""Cost: estimated beside billed over time, by any tag and by component (prices that are
assumptions marked), per sample, Spot and archival savings, the reconciliation residual and
the spend no tag charges back."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from analytics.cost_trends import ASSUMED, BY, distribution
from analytics.filters import TAGS, Columns
from dashboards import data, filters
from dashboards.page_parts import binned, not_narrowed, table, usd

TAG_LABELS = {"project": "project", "requested_by": "requested by (user)",
              "cost_centre": "cost centre", "workflow": "workflow", "release": "pipeline release"}
SIDE_COLOURS = alt.Scale(domain=["estimated", "billed"], range=["#1565c0", "#ef6c00"])
MONEY = st.column_config.NumberColumn(format="$%.2f")
WHOLE = 1000.0  # headline figures from $1,000 up without cents: five fit on a row
MONTHLY = Columns(time="month")  # views by month: the range applies by whole months, no tag
MONTHLY_BY_PROJECT = Columns(time="month", project="project")

st.title("Cost")
f = filters.current()
grain = st.radio("Per", ["month", "day"], horizontal=True, key="cost_grain",
                 help="Cost counted in the UTC day (or month) its usage started")
try:
    trend = data.query("cost_trends.over_time", f, grain).to_pandas()
    components = data.query("cost_trends.by_component", f).to_pandas()
    assumed = data.query("cost_trends.assumed_prices", f).to_pandas()
    # Billed per sample and the untagged lines by usage type read the billing lines (no rollup
    # keeps them): asked for below, not on first render.
    samples = data.query("cost_trends.per_sample", f, False).to_pandas()
    savings = data.query("cost_trends.savings", f).to_pandas()
    reconcile = data.query("cost_trends.reconciliation", f).to_pandas()
    untagged = data.query("cost_trends.untagged_by_service", f).to_pandas()
    automation = data.query("cost_trends.automation", f).to_pandas()
except data.LakeUnavailable as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

estimated, billed = float(trend["estimated_usd"].sum()), float(trend["billed_usd"].sum())
not_list = float(components.loc[components["price_status"].isin(ASSUMED), "cost_usd"].sum())
row = st.columns(5)
row[0].metric("Estimated", usd(estimated, WHOLE), help="Sum of the estimated cost rows selected")
row[1].metric("Billed", usd(billed, WHOLE) if billed else "—",
              help="Allocated billed spend (unused instance capacity left out)")
row[2].metric("Billed − estimated", usd(billed - estimated, WHOLE) if billed else "—")
row[3].metric("Billed without project or cost centre",
              usd(float(untagged["cost_usd"].sum()), WHOLE) if billed else "—")
row[4].metric("Priced with assumptions", f"{not_list / estimated:.1%}" if estimated else "—",
              help="Share of estimated cost whose price is approximate or assumed")
if not billed:
    st.info("No billed cost in this selection: load a billing export (AWS CUR) with "
            "`seqledger ingest cur FILE` to see estimated beside billed.",
            icon=":material/receipt_long:")

st.subheader("Estimated and billed")
sides = trend.melt(id_vars="period", value_vars=["estimated_usd", "billed_usd"],
                   var_name="side", value_name="usd")
sides["side"] = sides["side"].str.removesuffix("_usd")
st.altair_chart(
    alt.Chart(sides, title=f"Estimated and billed cost per {grain} (USD)").mark_bar().encode(
        x=alt.X("period:O", title=grain),
        xOffset=alt.XOffset("side:N", sort=["estimated", "billed"]),
        y=alt.Y("usd:Q", title="cost (USD)", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("side:N", scale=SIDE_COLOURS, title=None),
        tooltip=[alt.Tooltip("period:O", title=grain), alt.Tooltip("side:N", title="cost"),
                 alt.Tooltip("usd:Q", title="USD", format="$,.2f")],
    ),
    width="stretch",
)
with st.expander("Table"):
    table(trend, f"cost per {grain}", f"cost_per_{grain}",
          {"estimated_usd": MONEY, "billed_usd": MONEY})

st.subheader("By tag")
tag = st.selectbox("Split by", list(BY), format_func=TAG_LABELS.__getitem__, key="cost_by")
by_tag = data.query("cost_trends.over_time", f, "month", tag).to_pandas()
st.altair_chart(
    alt.Chart(by_tag, title=f"Estimated cost per month by {TAG_LABELS[tag]} (USD)").mark_bar()
    .encode(
        x=alt.X("period:O", title="month"),
        y=alt.Y("sum(estimated_usd):Q", title="estimated cost (USD)",
                axis=alt.Axis(format="$,.0f")),
        color=alt.Color("group:N", title=TAG_LABELS[tag]),
        tooltip=[alt.Tooltip("period:O", title="month"),
                 alt.Tooltip("group:N", title=TAG_LABELS[tag]),
                 alt.Tooltip("estimated_usd:Q", title="estimated", format="$,.2f"),
                 alt.Tooltip("billed_usd:Q", title="billed", format="$,.2f")],
    ),
    width="stretch",
)
totals = (by_tag.groupby("group", as_index=False)[["estimated_usd", "billed_usd"]].sum()
          .sort_values("estimated_usd", ascending=False).rename(columns={"group": tag}))
table(totals, f"cost by {TAG_LABELS[tag]}", f"cost_by_{tag}",
      {"estimated_usd": MONEY, "billed_usd": MONEY})

st.subheader("By component")
# Automation serves every project: it is drawn only when no tag narrows the selection.
tagged = any(f.values(t) for t in TAGS)
auto = (automation.groupby("month", as_index=False)
        .agg(cost_usd=("cost_usd", "sum"), line_count=("item", "count"),
             unpriced_rows=("rate_usd", lambda r: int(r.isna().sum())),
             price_status=("price_status", lambda p: "unpriced" if (p == "unpriced").all()
                           else "approximate"))
        .assign(cost_kind="automation"))
shown = components if tagged or auto.empty else pd.concat([components, auto], ignore_index=True)
shown["price"] = shown["price_status"].where(
    ~shown["price_status"].isin(ASSUMED), "assumption").where(
    shown["price_status"] != "list", "list price")
st.altair_chart(
    alt.Chart(shown, title="Estimated cost per month by component (USD)").mark_bar().encode(
        x=alt.X("month:O", title="month"),
        y=alt.Y("sum(cost_usd):Q", title="estimated cost (USD)", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("cost_kind:N", title="component"),
        opacity=alt.Opacity("price:N", title="price",
                            scale=alt.Scale(domain=["list price", "assumption", "unpriced"],
                                            range=[1.0, 0.45, 0.2])),
        tooltip=[alt.Tooltip("month:O"), alt.Tooltip("cost_kind:N", title="component"),
                 alt.Tooltip("price_status:N", title="price status"),
                 alt.Tooltip("cost_usd:Q", title="cost", format="$,.4f"),
                 alt.Tooltip("line_count:Q", title="cost rows or automation items")],
    ),
    width="stretch",
)
auto_total = float(automation["cost_usd"].sum())
st.caption("Pale bars are priced with an assumption (price status *approximate* or *assumed*). "
           "*Automation* (Lambda, SNS, EventBridge; Athena not included) is not in the cost "
           "rows: it is estimated from the events the lake recorded (each Batch state change and "
           "each arriving object one Lambda run, assumed 256 MB for 200 ms), priced with the "
           "lake's service prices, which are approximate — "
           f"{usd(auto_total) if auto_total >= 0.01 else f'${auto_total:,.6f}'} in these "
           "months, by whole months. `seqledger report automation` prices a month's assumed "
           "volume and Athena the same way.")
if tagged and not automation.empty:
    st.caption(":material/filter_alt_off: Automation is left out of the chart while a project, "
               "cost centre, workflow or release is selected: it serves every project.")
with st.expander("Table"):
    table(shown.drop(columns="price"), "cost by component", "cost_by_component",
          {"cost_usd": MONEY})
with st.expander("Automation by item"):
    table(automation, "automation by item", "automation_by_item",
          {"cost_usd": st.column_config.NumberColumn(format="$%.6f")})
with st.expander("Prices that are assumptions", expanded=not assumed.empty):
    table(assumed, "prices that are assumptions", "assumed_prices", {"cost_usd": MONEY})

st.subheader("Cost per sample")
if samples.empty:
    st.caption("No cost row names a sample in this selection.")
else:
    stats = distribution(samples["estimated_usd"].tolist())
    row = st.columns(4)
    row[0].metric("Samples", f"{len(samples):,}")
    row[1].metric("Median per sample", usd(stats["median"]))
    row[2].metric("90th percentile", usd(stats["p90"]))
    row[3].metric("Mean per sample", usd(stats["mean"]))
    billed_per_sample = st.toggle(
        "Billed cost per sample", key="cost_sample_billed",
        help="Adds each sample's allocated billed cost to the table. No rollup keeps billed cost "
             "per sample: it reads every billing line of the selection, which takes minutes on "
             "a year of billing, so it runs when asked.")
    if billed_per_sample:
        try:
            samples = data.query("cost_trends.per_sample", f).to_pandas()
        except data.LakeUnavailable as e:
            st.error(str(e), icon=":material/error:")
    else:
        samples = samples.drop(columns="billed_usd")
    st.altair_chart(
        alt.Chart(binned(samples["estimated_usd"].dropna()),
                  title="Estimated cost per sample").mark_bar().encode(
            x=alt.X("lo:Q", title="estimated cost (USD)", axis=alt.Axis(format="$,.0f")),
            x2="hi:Q",
            y=alt.Y("count:Q", title="samples", axis=alt.Axis(tickMinStep=1, format="d")),
            y2=alt.datum(0),  # a bar from zero up: with x ranged (lo..hi) it is not implied
            tooltip=[alt.Tooltip("lo:Q", title="from", format="$,.2f"),
                     alt.Tooltip("hi:Q", title="to", format="$,.2f"),
                     alt.Tooltip("count:Q", title="samples")],
        ),
        width="stretch",
    )
    table(samples, "cost per sample", "cost_per_sample",
          {c: MONEY for c in ("estimated_usd", "compute_usd", "licence_usd", "storage_usd",
                              "billed_usd") if c in samples})

st.subheader("Savings")
if savings.empty:
    st.caption("No Spot or archived storage cost in these months.")
else:
    st.altair_chart(
        alt.Chart(savings, title="Saved against the baseline, per month (USD)").mark_bar().encode(
            x=alt.X("saving_usd:Q", title="saving (USD)", axis=alt.Axis(format="$,.0f")),
            y=alt.Y("scenario:N", title=None),
            color=alt.Color("month:N", title="month"),
            tooltip=["scenario", "month",
                     alt.Tooltip("actual_usd:Q", title="actual", format="$,.2f"),
                     alt.Tooltip("baseline_usd:Q", title="baseline", format="$,.2f"),
                     alt.Tooltip("saving_usd:Q", title="saving", format="$,.2f")],
        ),
        width="stretch",
    )
    table(savings, "savings", "savings",
          {c: MONEY for c in ("actual_usd", "baseline_usd", "saving_usd")})
not_narrowed(f, MONTHLY, "savings are kept per month, without tags")

left, right = st.columns(2)
with left:
    st.subheader("Reconciliation")
    table(reconcile, "estimated against billed per month and project", "reconciliation",
          {c: MONEY for c in ("estimated_usd", "billed_usd", "residual_usd",
                              "unused_capacity_usd", "untagged_usd")}
          | {"residual_share": st.column_config.NumberColumn(format="percent")})
    st.caption("Residual = billed − estimated; its share is of billed. Unused capacity is "
               "instance time no task used, shown beside billed and not in it.")
    not_narrowed(f, MONTHLY_BY_PROJECT, "the reconciliation is kept per month and project")
with right:
    st.subheader("Untagged spend")
    if untagged.empty:
        st.caption("No billed spend without a project or cost centre in these months.")
    table(untagged, "untagged spend", "untagged_spend", {"cost_usd": MONEY})
    if not untagged.empty and st.toggle(
            "By tag status and usage type", key="cost_untagged_detail",
            help="Whether a line has no tag at all or only lacks project or cost centre, and its "
                 "usage type: read from the billing lines (minutes on a year of billing)."):
        try:
            detail = data.query("cost_trends.untagged", f).to_pandas()
        except data.LakeUnavailable as e:
            st.error(str(e), icon=":material/error:")
        else:
            table(detail, "untagged spend by tag status and usage type", "untagged_spend_detail",
                  {"cost_usd": MONEY})
    not_narrowed(f, MONTHLY, "untagged spend has no tags to filter on")
