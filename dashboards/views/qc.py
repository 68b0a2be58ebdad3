"""QC: verdicts over time, which checks failed for whom, every gated metric across samples with
its threshold (the MultiQC way), and one sample's histograms and contig coverage (``?sample=``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import qc
from analytics.filters import unapplied
from dashboards import data, filters
from dashboards import qc_charts as charts
from dashboards.page_parts import SHOWN_ROWS

st.title("QC")
st.caption("Sample QC gate verdicts (suite `sample_qc`). A run is counted on the UTC day it "
           "finished; thresholds are the ones recorded with each check when the run was gated.")

f = filters.current()
missed = unapplied(f, qc.COLUMNS)
if missed:
    st.caption(f"Not narrowed by: {', '.join(missed)}.")


def download(label: str, rows: object, name: str) -> None:
    st.download_button(f"Download {label} (CSV)", lambda: charts.csv_bytes(rows), file_name=name,
                       mime="text/csv", key=f"csv_{name}")


try:
    totals = data.query("qc.verdict_totals", f)
    by_day = data.query("qc.verdicts_by_day", f)
except data.LakeUnavailable as e:
    st.error(str(e))
    st.stop()

gated = sum(totals.values())
cols = st.columns(4)
cols[0].metric("Gated runs", f"{gated:,}")
for col, verdict in zip(cols[1:], qc.VERDICTS, strict=True):
    share = f"{totals[verdict] / gated:.1%}" if gated else None
    col.metric(verdict.capitalize(), f"{totals[verdict]:,}", share, delta_color="off",
               delta_arrow="off")

if not gated:
    st.info("No run gated on QC in this selection. The QC gate runs after DRAGEN metrics are "
            "loaded (`seqledger qc gate`); `seqledger demo` gates a month.",
            icon=":material/inbox:")
else:
    grain = st.radio("Per", ["day", "week"], horizontal=True, key="qc_grain")
    series = qc.verdict_series(by_day, grain, f.start, f.end)
    st.altair_chart(charts.verdicts_over_time(series, grain), width="stretch")
    download("verdicts per " + grain, series, f"qc-verdicts-per-{grain}.csv")

    failed, failed_all = data.query("qc.failed_checks", f, SHOWN_ROWS)
    st.subheader(f"Checks not passed ({failed_all:,})")
    if failed_all:
        if failed_all > failed.num_rows:
            st.caption(f"The first {failed.num_rows:,} of {failed_all:,}, worst and newest "
                       "first; the CSV has them all.")
        st.dataframe(failed, hide_index=True, width="stretch")
        # Every row only when asked for: a year's list is read again on click, not each render.
        everything = data.later("qc.failed_checks", f)
        st.download_button("Download checks not passed (CSV)",
                           lambda: charts.csv_bytes(everything()[0]),
                           file_name="qc-checks-not-passed.csv", mime="text/csv",
                           key="csv_qc-checks-not-passed.csv")
    else:
        st.success("Every check of every gated run in this selection passed.")

    st.subheader("Gated metrics across samples")
    split = st.radio("One row per", ["all runs", "project", "pipeline_release"],
                     horizontal=True, key="qc_split")
    by = None if split == "all runs" else split
    if gated <= charts.STRIP_MAX:  # one dot per sample: the values themselves
        values = data.query("qc.metric_values", f)
        rows = values.to_pylist()
        for metric in dict.fromkeys(r["metric_id"] for r in rows):
            st.altair_chart(charts.metric_distribution(
                charts.metric_points(rows, metric), charts.metric_rules(rows, metric), metric,
                by), width="stretch")
        download("metric values", values, "qc-metric-values.csv")
    elif qc.fits_monthly(f):  # whole months: the monthly summaries (a year in milliseconds)
        summary = data.query("qc.metric_summary", f)
        st.caption(f"{gated:,} gated runs: each metric summarised per month, project and "
                   "release (`qc_metrics_monthly`); pick a range of days, a cost centre or a "
                   "workflow to see them binned, or fewer than "
                   f"{charts.STRIP_MAX:,} runs to see every sample.")
        st.altair_chart(charts.summaries_chart(summary, by), width="stretch")
        download("monthly metric summaries", summary, "qc-metric-summaries.csv")
    else:  # any other selection: binned where the lake is, every run counted
        counted = data.query("qc.metric_bins", f)
        st.caption(f"{gated:,} gated runs: each metric in {qc.BINS} bins counted by the "
                   f"query; fewer than {charts.STRIP_MAX:,} runs show every sample.")
        for metric in dict.fromkeys(b["metric_id"] for b in counted["bins"]):
            st.altair_chart(charts.metric_histogram(
                charts.bins_frame(counted["bins"], metric, by),
                charts.metric_rules(counted["rules"], metric), metric, by), width="stretch")
        download("metric bins", counted["bins"], "qc-metric-bins.csv")

# One sample: chosen from the gated runs, or named in the link (?sample=), whatever the filters.
st.header("One sample")
# Every gated sample while they are few; beyond, the ones with a check not passed (already read)
# and any sample typed in: a year's 140,000 options would take seconds to send.
many = gated > charts.STRIP_MAX
listed = (failed.column("sample_id").to_pylist() if many
          else [s["sample_id"] for s in data.query("qc.gated_samples", f)]) if gated else []
linked = st.query_params.get("sample")
options = list(dict.fromkeys(([linked] if linked else []) + listed))
if not options and not many:
    st.info("No sample to show.")
    st.stop()
sample = st.selectbox("Sample", options, index=options.index(linked) if linked else None,
                      key="qc_sample", accept_new_options=many,
                      placeholder=("Type a sample ID, or choose one with a check not passed"
                                   if many else "Choose a sample (or open ?sample=ID)"))
if not sample:
    st.stop()
if st.query_params.get("sample") != sample:
    st.query_params["sample"] = sample
runs = data.query("qc.sample_runs", sample)
if not runs:
    st.warning(f"The lake has no QC metrics or verdict for sample {sample!r}.")
    st.stop()


def run_label(run_id: str) -> str:
    r = next(x for x in runs if x["run_id"] == run_id)
    when = r["run_at"].strftime("%Y-%m-%d") if r["run_at"] else "?"
    return (f"{run_id} · {when} · {r['pipeline_release'] or 'no release'} · "
            f"{r['verdict'] or 'not gated'}")


run_id = (runs[0]["run_id"] if len(runs) == 1 else
          st.selectbox("Run", [r["run_id"] for r in runs], format_func=run_label, key="qc_run"))
run = next(r for r in runs if r["run_id"] == run_id)
verdict_box = {"pass": st.success, "review": st.warning, "fail": st.error}.get(
    run["verdict"] or "", st.info)
verdict_box(f"**{sample}**, run `{run_id}`: QC {run['verdict'] or 'not gated'} "
            f"({run['project'] or 'no project'}, {run['pipeline_release'] or 'no release'})")

left, right = st.columns(2)
with left:
    checks = data.query("qc.run_checks", run_id)
    st.subheader("Checks")
    st.dataframe(checks, hide_index=True, width="stretch")
    download("checks", checks, f"qc-checks-{run_id}.csv")
with right:
    metric_rows = [{"metric": m["metric"], "value": str(m["value"])}
                   for m in data.query("qc.run_metrics", run_id)]
    st.subheader("Metrics")
    st.dataframe(pd.DataFrame(metric_rows, columns=["metric", "value"]), hide_index=True,
                 width="stretch")
    download("metrics", metric_rows, f"qc-metrics-{run_id}.csv")

held = {h["histogram"]: h for h in data.query("qc.histograms", run_id)}
AXES = {"coverage_depth": ("Coverage depth", "depth (×)", "genome positions"),
        "fragment_length": ("Fragment length", "fragment length (bp)", "fragments")}
if not held:
    st.info("The lake holds no histograms for this run (DRAGEN's `*_fine_hist`, "
            "`fragment_length_hist` and `fastqc_metrics` files are loaded by "
            "`seqledger ingest dragen`).")
shown = st.columns(2)
for slot, name in zip(shown, AXES, strict=True):
    if name in held:
        title, x_title, y_title = AXES[name]
        bins = data.query("qc.histogram", run_id, name).to_pandas()
        slot.altair_chart(charts.histogram_chart(charts.clipped(bins), title, x_title, y_title),
                          width="stretch")
        with slot:
            download(title.lower(), bins, f"qc-{name}-{run_id}.csv")
others = [h for h in held if h not in AXES]
if others:
    other = st.selectbox("Other histograms (FastQC, binned coverage)", others, key="qc_hist")
    bins = data.query("qc.histogram", run_id, other).to_pandas()
    unit = held[other]["unit"] or "value"
    st.altair_chart(charts.histogram_chart(bins[bins["x"].notna()], other, "bin", unit),
                    width="stretch")
    download(other, bins, f"qc-{other}-{run_id}.csv")

contigs = data.query("qc.contig_coverage", run_id)
if contigs.num_rows:
    frame = contigs.to_pandas()
    # chrM sits at hundreds of times the autosomal depth: it is told, not drawn beside chr1.
    st.altair_chart(charts.contig_chart(frame[frame["contig_kind"] == "primary"]),
                    width="stretch")
    for _, s in frame[frame["contig_kind"].isin(["mito", "summary"])].iterrows():
        ratio = s["relative_to_autosomes"]
        st.caption(f"{s['contig'].strip()}: mean coverage {s['mean_coverage_x']:,.2f}×"
                   + (f" ({ratio:,.1f}× the autosomal mean)" if s["contig_kind"] == "mito"
                      and pd.notna(ratio) else ""))
    download("contig coverage", contigs, f"qc-contig-coverage-{run_id}.csv")
else:
    st.info("The lake holds no contig coverage for this run (DRAGEN's `wgs_contig_mean_cov`).")
