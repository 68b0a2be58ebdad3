"""Overview: what ran, what failed, what it cost and how much passed QC; the period the sidebar
selects, this month against last, and what needs attention now."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from analytics import overview as ov
from analytics.overview import month_bounds, with_tags, with_zero_days
from dashboards import data, filters, widgets

STATUS_COLOURS = alt.Scale(domain=["SUCCEEDED", "FAILED"], range=["#2e7d32", "#c62828"])
RUN_TABLES = ("runs", "job_attempts", "decisions")

st.title("DRAGEN runs overview")
st.caption(f"Lake: `{data.lake_uri()}` · figures follow the lake: a page load after a write "
           "reads it again")

try:
    o = data.overview()
except data.LakeUnavailable as e:
    st.error(str(e))
    st.stop()

if o.is_empty:
    st.info("No data yet — run `seqledger demo` to play a small production month into this lake.",
            icon=":material/inbox:")
    st.stop()

f = filters.current()
options = data.filter_options()

st.subheader("All time")
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


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


# This month is the month of the lake's latest record (a demo lake's month is in the past).
anchor = options.last_day or datetime.now(UTC).date()
this_range, last_range = month_bounds(anchor)
now = data.query("overview.figures", with_tags(this_range, f))
before = data.query("overview.figures", with_tags(last_range, f))
period = data.query("overview.figures", f)

st.subheader(f"This month ({this_range.start:%Y-%m}, to {anchor}) against last "
             f"({last_range.start:%Y-%m})")
row = st.columns(4)
row[0].metric("Runs finished this month", f"{now.runs_finished:,}",
              delta=f"{now.runs_finished - before.runs_finished:+,}")
row[1].metric("Failed runs this month", f"{now.runs_failed:,}",
              delta=f"{now.runs_failed - before.runs_failed:+,}", delta_color="inverse")
row[2].metric("Estimated cost this month", f"${now.cost_usd:,.2f}",
              delta=f"{now.cost_usd - before.cost_usd:+,.2f} USD", delta_color="inverse")
delta_qc = (None if now.qc_pass_rate is None or before.qc_pass_rate is None
            else f"{(now.qc_pass_rate - before.qc_pass_rate) * 100:+.1f} points")
row[3].metric("QC pass rate this month", _rate(now.qc_pass_rate), delta=delta_qc)
widgets.unapplied(f, ov.RUN_COLUMNS, "Run counts")
widgets.unapplied(f, ov.QC_COLUMNS, "QC pass rates")

if not f.is_empty:
    lo, hi = f.start or options.first_day, f.end or options.last_day
    st.subheader(f"The selected period ({lo} to {hi})")
    row = st.columns(4)
    row[0].metric("Runs finished in the period", f"{period.runs_finished:,}")
    row[1].metric("Failed runs in the period", f"{period.runs_failed:,}")
    row[2].metric("Estimated cost in the period", f"${period.cost_usd:,.2f}",
                  help="Cost rows are booked by usage month: the months the range touches")
    row[3].metric("QC pass rate in the period", _rate(period.qc_pass_rate))

st.subheader("Needs attention now")
settings = data.settings()
at_minute = datetime.now(UTC).replace(second=0, microsecond=0)
todo = data.query("overview.attention", at_minute, settings.stuck_after_h)
cols = st.columns(4)
cols[0].metric(f"Runs open > {settings.stuck_after_h:g} h", f"{todo.stuck_runs.num_rows:,}")
cols[1].metric("Samples waiting for mates", f"{todo.waiting_samples.num_rows:,}")
cols[2].metric("QC reviews pending", f"{todo.qc_reviews.num_rows:,}")
if settings.monthly_budget_usd:
    share = todo.month_cost_usd / settings.monthly_budget_usd
    cols[3].metric(f"Spend this month ({at_minute:%Y-%m}) of budget", f"{share:.0%}",
                   help=f"${todo.month_cost_usd:,.2f} estimated of "
                        f"${settings.monthly_budget_usd:,.2f} (SEQLEDGER_MONTHLY_BUDGET_USD)")
    cols[3].progress(min(share, 1.0))
    if share > 1:
        st.error(f"This month's estimated spend ${todo.month_cost_usd:,.2f} is over the budget "
                 f"of ${settings.monthly_budget_usd:,.2f}.", icon=":material/savings:")
else:
    cols[3].caption("No budget set: set SEQLEDGER_MONTHLY_BUDGET_USD to see the month's spend "
                    "against it.")
if todo.stuck_runs.num_rows:
    st.caption(f"Runs dispatched more than {settings.stuck_after_h:g} h ago and not finished "
               "(SEQLEDGER_STUCK_AFTER_H)")
    widgets.table(todo.stuck_runs, "stuck-runs")
if todo.waiting_samples.num_rows:
    st.caption("Samples with an R1 or R2 file whose mate has not arrived")
    widgets.table(todo.waiting_samples, "samples-waiting")
if todo.qc_reviews.num_rows:
    st.caption("QC verdicts waiting for a person's review")
    widgets.table(todo.qc_reviews, "qc-reviews")

left, right = st.columns([3, 2])
with left:
    st.subheader("Throughput")
    grain = st.radio("Per", ["day", "month"], horizontal=True, key="grain",
                     label_visibility="collapsed")
    daily = data.query("overview.daily_runs", f).to_pylist()
    if not daily:
        st.caption("No run has finished in the selection.")
    else:
        lo = f.start or min(r["day"] for r in daily)
        hi = f.end or max(r["day"] for r in daily)
        done = pd.DataFrame(with_zero_days(daily, lo, hi))  # a day without runs is a zero
        fmt = "%Y-%m-%d" if grain == "day" else "%Y-%m"
        done["period"] = pd.to_datetime(done["day"]).dt.strftime(fmt)
        done = done.groupby(["period", "status"], as_index=False)["runs"].sum()
        st.altair_chart(
            alt.Chart(done, title=f"Finished runs per {grain} (UTC)").mark_bar().encode(
                x=alt.X("period:O", title=grain),
                y=alt.Y("sum(runs):Q", title="finished runs",
                        axis=alt.Axis(tickMinStep=1, format="d")),
                color=alt.Color("status:N", scale=STATUS_COLOURS, title=None),
                tooltip=["period", "status", "runs"],
            ),
            width="stretch",
        )
    widgets.leaves_out(*RUN_TABLES)
with right:
    st.subheader("Cost by project")
    cost = data.query("cost_by_project", f).to_pandas()
    if cost.empty:
        st.caption("No cost recorded yet.")
    else:
        st.altair_chart(
            alt.Chart(cost, title="Estimated cost by project, in the selection").mark_bar().encode(
                x=alt.X("cost_usd:Q", title="estimated cost (USD)", axis=alt.Axis(format="$,.0f")),
                y=alt.Y("project:N", sort="-x", title=None),
                tooltip=["project", alt.Tooltip("cost_usd:Q", format="$,.2f"), "unpriced_rows"],
            ),
            width="stretch",
        )
    widgets.leaves_out("costs")

st.subheader("Failures")
by_reason, by_kind = st.columns(2)
with by_reason:
    st.caption("Failed runs by reason")
    widgets.table(data.query("failures_by_reason", f), "failed-runs-by-reason")
with by_kind:
    st.caption("Failed attempts by kind")
    widgets.table(data.query("attempt_failures", f), "failed-attempts-by-kind")
st.caption("Latest failed runs (in the selection; open one on the Runs page with ?run=…)")
# Read like the Runs page: only the months the failed runs lived in, whatever the lake's age.
failed = data.query("runs.runs_table", f, ("FAILED",), 50).rows.to_pandas()
widgets.table(
    failed.rename(columns={"finished_at": "failed_at"})[
        ["run_id", "sample_id", "project", "failed_at", "reason", "attempts", "spot_reclaims"]],
    "latest-failed-runs",
    column_config={"failed_at": st.column_config.DatetimeColumn("failed at (UTC)",
                                                                format="YYYY-MM-DD HH:mm")})
widgets.leaves_out(*RUN_TABLES)
