"""Runs: every run the filters select, one run's attempts on a timeline with its decisions, cost
lines and QC checks (``?run=…`` in the link), turnaround and its parts per week, and the backlog."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from analytics.runs import TURNAROUND_PARTS, backlog
from dashboards import data, filters, widgets

STATUSES = ["DISPATCHED", "RUNNING", "SUCCEEDED", "FAILED"]
LIMITS = [100, 500, 2000]
PARTS = {"waiting_h": "arrival to dispatch (mates, sheet)", "queue_h": "queue",
         "run_h": "run (retries included)", "qc_h": "end to QC verdict",
         "turnaround_h": "turnaround (arrival to QC verdict)"}
RUN_TABLES = ("runs", "job_attempts", "decisions", "costs", "qc_results", "instances")

PHASE_COLOURS = {"queue wait": "#9e9e9e", "run": "#1565c0", "run, Spot reclaim": "#ef6c00",
                 "run, failed": "#c62828"}


def _run_phase(a) -> str:
    """How an attempt's run ended, for its colour on the timeline."""
    reclaimed = a.failure_kind == "spot_reclaim" or (
        a.status == "FAILED" and str(a.status_reason or "").startswith("Host EC2"))
    if reclaimed:
        return "run, Spot reclaim"
    return "run, failed" if a.status == "FAILED" else "run"


st.title("Runs")
f = filters.current()

left, right = st.columns([3, 1])
status = left.multiselect("Status", STATUSES, key="runs_status", placeholder="Any status")
limit = right.selectbox("Show at most", LIMITS, index=1, key="runs_limit",
                        help="The newest runs first; narrow the dates to see older ones")
try:
    page = data.query("runs.runs_table", f, tuple(status), limit)
except data.LakeUnavailable as e:
    st.error(str(e))
    st.stop()

shown = page.rows.num_rows
st.caption(f"{shown:,} of {page.total:,} runs, newest first (by their latest status time)")
picked = widgets.table(page.rows, "runs", on_select="rerun", selection_mode="single-row",
                       key="runs_table", column_config={
    "dispatched_at": st.column_config.DatetimeColumn("dispatched (UTC)",
                                                     format="YYYY-MM-DD HH:mm"),
    "finished_at": st.column_config.DatetimeColumn("finished (UTC)", format="YYYY-MM-DD HH:mm"),
    "cost_usd": st.column_config.NumberColumn("cost (USD, estimated)", format="$%.2f"),
    "pipeline_release": "release", "qc_verdict": "QC verdict"})
widgets.leaves_out(*RUN_TABLES)

# --- one run -----------------------------------------------------------------------------------
st.header("One run")
linked = st.query_params.get("run")
ids = page.rows.column("run_id").to_pylist()
choices = ([linked] if linked and linked not in ids else []) + ids
if "run_pick" not in st.session_state and linked:  # a shared link opens its run
    st.session_state["run_pick"] = linked
rows_picked = picked.selection.rows if picked is not None else []
if rows_picked and st.session_state.get("runs_last_row") != ids[rows_picked[0]]:
    # a row clicked in the table opens that run (once: the list below can change it again)
    st.session_state["runs_last_row"] = st.session_state["run_pick"] = ids[rows_picked[0]]
current = st.session_state.get("run_pick")
if current and current not in choices:  # chosen before the filters changed: still offered
    choices.insert(0, current)
run_id = st.selectbox("Run", choices, index=None, key="run_pick",
                      placeholder="Choose a run, click a row above, or open a link with ?run=…")
if run_id and run_id != linked:
    st.query_params["run"] = run_id
if run_id:
    detail = data.query("runs.run_detail", run_id)
    if not detail.found:
        st.warning(f"No run {run_id} in the lake: check the link's `run` parameter.",
                   icon=":material/search_off:")
    else:
        statuses = detail.statuses.to_pandas()
        first = statuses.iloc[0]
        st.markdown(f"**{run_id}** · sample `{first['sample_id']}` · project "
                    f"`{first['project']}` · {first['workflow']} · {first['pipeline_release']} · "
                    f"now **{statuses.iloc[-1]['status']}**")
        attempts = detail.attempts.to_pandas()
        if attempts.empty:
            st.caption("No attempt recorded for this run yet.")
        else:
            rows = []
            for a in attempts.itertuples():
                zone = a.az if isinstance(a.az, str) else "zone ?"
                label = f"#{a.attempt} {a.capacity or '?'} {a.instance_type or '?'} {zone}"
                info = {"attempt": label, "job_id": a.job_id, "instance": a.instance_id,
                        "zone": a.az, "status": a.status,
                        "failure_kind": a.failure_kind, "action": a.action,
                        "reason": a.status_reason}
                if pd.notna(a.started_at):
                    rows.append({**info, "phase": "queue wait", "from": a.submitted_at,
                                 "to": a.started_at})
                    if pd.notna(a.ended_at):
                        rows.append({**info, "phase": _run_phase(a), "from": a.started_at,
                                     "to": a.ended_at})
                elif pd.notna(a.ended_at):
                    rows.append({**info, "phase": "queue wait", "from": a.submitted_at,
                                 "to": a.ended_at})
            timeline = pd.DataFrame(rows)
            st.altair_chart(
                alt.Chart(timeline, title="Attempts: queue wait and run (UTC)").mark_bar().encode(
                    x=alt.X("from:T", title="time (UTC)"), x2="to:T",
                    y=alt.Y("attempt:N", title="attempt, capacity, instance type, zone",
                            sort=None),
                    color=alt.Color("phase:N", scale=alt.Scale(
                        domain=list(PHASE_COLOURS), range=list(PHASE_COLOURS.values())),
                        title=None),
                    tooltip=["attempt", "job_id", "instance", "zone", "phase",
                             alt.Tooltip("from:T", format="%H:%M"),
                             alt.Tooltip("to:T", format="%H:%M"), "status", "failure_kind",
                             "action", "reason"],
                ),
                width="stretch",
            )
            st.caption("Zone: the availability zone of the instance the attempt ran on, from the "
                       "instances table (EC2 state changes and DescribeInstances); \"zone ?\" "
                       "when the attempt's instance is not known. A reclaim shows as an attempt "
                       "that FAILED with failure kind spot_reclaim, followed by its retry.")
            widgets.table(attempts, f"attempts-{run_id}")
        tabs = st.tabs(["Status changes", "Decisions", "Cost lines", "QC checks"])
        with tabs[0]:
            widgets.table(statuses, f"statuses-{run_id}")
        with tabs[1]:
            widgets.table(detail.decisions, f"decisions-{run_id}")
        with tabs[2]:
            costs = detail.costs.to_pandas()
            st.caption(f"Estimated total ${costs['cost_usd'].sum():,.2f}"
                       + (f"; {costs['cost_usd'].isna().sum()} line(s) unpriced"
                          if costs["cost_usd"].isna().any() else ""))
            widgets.table(costs, f"costs-{run_id}")
        with tabs[3]:
            widgets.table(detail.qc_checks, f"qc-{run_id}")

# --- turnaround --------------------------------------------------------------------------------
st.header("Turnaround")
weekly = pd.DataFrame(data.query("runs.turnaround_weeks", f))
if weekly.empty:
    st.caption("No run with a QC verdict in the selection.")
else:
    weekly["part_label"] = weekly["part"].map(PARTS)
    base = alt.Chart(weekly, title="Hours per week of the QC verdict: 10th–90th percentile "
                                   "and median").encode(
        x=alt.X("week:T", title="week (Monday, UTC)"),
        color=alt.Color("part_label:N", title=None,
                        sort=[PARTS[p] for p in TURNAROUND_PARTS]),
        xOffset=alt.XOffset("part_label:N", sort=[PARTS[p] for p in TURNAROUND_PARTS]),
        tooltip=["week:T", "part_label", "runs", alt.Tooltip("p10_h", format=".1f"),
                 alt.Tooltip("median_h", format=".1f"), alt.Tooltip("p90_h", format=".1f"),
                 alt.Tooltip("max_h", format=".1f")],
    )
    st.altair_chart(
        base.mark_rule(strokeWidth=3).encode(y=alt.Y("p10_h:Q", title="hours"), y2="p90_h:Q")
        + base.mark_point(filled=True, size=60).encode(y="median_h:Q"),
        width="stretch",
    )
    widgets.table(weekly.drop(columns=["part_label"]), "turnaround-weekly")
widgets.leaves_out("rollup_run_turnaround_monthly", "runs", "job_attempts", "qc_results",
                   "arrivals")

st.header("Backlog")
flow = data.query("runs.run_flow", f)
days = pd.DataFrame(backlog(flow, f.start, f.end))
if days.empty:
    st.caption("No run in the selection.")
else:
    st.altair_chart(
        alt.Chart(days, title="Runs open at the end of each day (UTC)").mark_area(
            line=True, opacity=0.4).encode(
            x=alt.X("day:T", title="day (UTC)"),
            y=alt.Y("open_runs:Q", title="open runs", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=["day:T", "open_runs", "dispatched", "finished"],
        ),
        width="stretch",
    )
    widgets.table(days, "backlog")
widgets.leaves_out("runs")
