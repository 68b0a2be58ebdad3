"""Charts of the QC and Releases pages: values in, Altair charts out (no Streamlit, no queries).

Kept out of the page scripts so both pages draw a metric the same way and tests can build a
chart from plain rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from analytics import qc
from analytics.qc import Rule, parse_rule

VERDICT_SCALE = alt.Scale(domain=["pass", "review", "fail"],
                          range=["#2e7d32", "#ef6c00", "#c62828"])
# Above this many samples a metric is drawn as a histogram: a strip of 48,000 dots says nothing.
STRIP_MAX = 1500


def unit_of(metric: str) -> str:
    """The unit a column name carries (the lake's naming rule: the unit is the suffix)."""
    for suffix, unit in (("_pct", "%"), ("_x", "×"), ("_bp", "bp"), ("_s", "s"),
                         ("_ratio", "ratio"), ("_usd", "USD"), ("_h", "h")):
        if metric.endswith(suffix):
            return unit
    return "bases" if metric.endswith("_bases") else "count"


def axis_title(metric: str) -> str:
    return f"{metric} ({unit_of(metric)})"


def csv_bytes(rows: Any) -> bytes:
    """A table (pyarrow, pandas or a list of dicts) as CSV for a download button."""
    if hasattr(rows, "to_pandas"):
        rows = rows.to_pandas()
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    return frame.to_csv(index=False).encode("utf-8")


def verdicts_over_time(series: list[dict[str, Any]], grain: str) -> alt.Chart:
    """Stacked bars of gated runs per period and verdict; periods with none are drawn as zero."""
    frame = pd.DataFrame(series, columns=["period", "verdict", "runs"])
    return alt.Chart(frame, title=f"QC verdicts per {grain} (runs by the day they finished)"
                     ).mark_bar().encode(
        x=alt.X("period:O", title=f"{grain} (UTC)" + (", named by its Monday"
                                                      if grain == "week" else "")),
        y=alt.Y("runs:Q", title="gated runs", stack="zero", axis=alt.Axis(tickMinStep=1,
                                                                          format="d")),
        color=alt.Color("verdict:N", scale=VERDICT_SCALE, title="verdict"),
        order=alt.Order("verdict:N"),
        tooltip=[alt.Tooltip("period:O", title=grain), "verdict:N",
                 alt.Tooltip("runs:Q", title="runs")],
    )


def metric_points(rows: Sequence[dict[str, Any]], metric: str) -> pd.DataFrame:
    """One point per run for ``metric``: its value and the worst verdict its checks of this
    metric gave (a metric with tiers, like contamination, has several checks per run)."""
    rank = {"pass": 0, "review": 1, "fail": 2}
    by_run: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["metric_id"] != metric:
            continue
        outcome = "pass" if r["passed"] else r["check_verdict"]
        seen = by_run.get(r["run_id"])
        if seen is None:
            by_run[r["run_id"]] = {k: r[k] for k in ("sample_id", "run_id", "project",
                                                     "pipeline_release", "value")} | {
                "outcome": outcome, "run_verdict": r["run_verdict"]}
        elif rank.get(outcome, 0) > rank.get(seen["outcome"], 0):
            seen["outcome"] = outcome
    return pd.DataFrame(list(by_run.values()),
                        columns=["sample_id", "run_id", "project", "pipeline_release", "value",
                                 "outcome", "run_verdict"])


def metric_rules(rows: Sequence[dict[str, Any]], metric: str) -> list[tuple[str, str, Rule]]:
    """The numeric thresholds recorded for ``metric``: ``(check_id, threshold text, rule)``."""
    out: dict[tuple[str, str], Rule] = {}
    for r in rows:
        if r["metric_id"] == metric and (rule := parse_rule(r["threshold"])):
            out[(r["check_id"], r["threshold"])] = rule
    return [(c, t, rule) for (c, t), rule in sorted(out.items())]


def metric_distribution(points: pd.DataFrame, rules: list[tuple[str, str, Rule]], metric: str,
                        split: str | None = None) -> alt.LayerChart:
    """The MultiQC view of one metric: every sample as a dot (a histogram beyond ``STRIP_MAX``),
    coloured by what its checks said, with each threshold as a dashed rule."""
    x = alt.X("value:Q", title=axis_title(metric), scale=alt.Scale(zero=False))
    tooltip = ["sample_id:N", "run_id:N", alt.Tooltip("value:Q", title=metric, format=",.4~g"),
               alt.Tooltip("outcome:N", title="this metric's checks"),
               alt.Tooltip("run_verdict:N", title="run verdict"), "project:N",
               alt.Tooltip("pipeline_release:N", title="release")]
    title = f"{metric}: {len(points)} runs" + (f" by {split}" if split else "")
    if len(points) <= STRIP_MAX:
        enc: dict[str, Any] = {"x": x, "color": alt.Color("outcome:N", scale=VERDICT_SCALE,
                                                          title="checks said"),
                               "tooltip": tooltip}
        if split:
            enc["y"] = alt.Y(f"{split}:N", title=split)
            enc["yOffset"] = alt.YOffset("jitter:Q")
        else:
            enc["y"] = alt.Y("jitter:Q", title=None, axis=None)
        base = alt.Chart(points, title=title).transform_calculate(
            jitter="random()").mark_circle(size=45, opacity=0.75).encode(**enc)
    else:
        base = alt.Chart(points, title=title).mark_bar().encode(
            x=alt.X("value:Q", bin=alt.Bin(maxbins=60), title=axis_title(metric)),
            y=alt.Y("count():Q", title="runs", stack="zero"),
            color=alt.Color("outcome:N", scale=VERDICT_SCALE, title="checks said"),
            tooltip=[alt.Tooltip("value:Q", bin=True, title=metric), "outcome:N",
                     alt.Tooltip("count():Q", title="runs")])
    # A band per row (alt.Step): a fixed height collapses the rows of a layered chart under
    # Streamlit's theme (every row drawn on one line).
    return alt.layer(base, *_rule_layers(rules)).properties(
        height=alt.Step(40) if split and len(points) <= STRIP_MAX else 150)


def _rule_layers(rules: list[tuple[str, str, Rule]]) -> list[alt.Chart]:
    """Each threshold as a dashed vertical rule with its text (drawn on every distribution)."""
    thresholds = pd.DataFrame([{"check_id": c, "threshold": t, "at": rule.value}
                               for c, t, rule in rules], columns=["check_id", "threshold", "at"])
    line = alt.Chart(thresholds).mark_rule(strokeDash=[6, 4], size=2, color="#37474f").encode(
        x=alt.X("at:Q"), tooltip=["check_id:N", "threshold:N"])
    label = alt.Chart(thresholds).mark_text(align="left", dx=4, dy=-6, color="#37474f").encode(
        x="at:Q", y=alt.value(8), text="threshold:N")
    return [line, label]


def bins_frame(bins: Sequence[dict[str, Any]], metric: str, split: str | None = None
               ) -> pd.DataFrame:
    """``lo, hi, outcome, runs`` (and the ``split`` column) of one metric's bins as
    ``analytics.qc.metric_bins`` counted them: bin ``i`` spans ``lo + i*w`` to ``lo + (i+1)*w``."""
    cols = ["lo", "hi", "outcome", "runs", *([split] if split else [])]
    rows: dict[tuple[Any, ...], int] = {}
    for b in bins:
        if b["metric_id"] != metric:
            continue
        width = (b["hi"] - b["lo"]) / qc.BINS or 1.0  # one value seen: a bar of width 1
        key = (b["lo"] + b["i"] * width, b["lo"] + (b["i"] + 1) * width, b["outcome"],
               *([b[split]] if split else []))
        rows[key] = rows.get(key, 0) + b["runs"]
    return pd.DataFrame([(*k[:3], n, *k[3:]) for k, n in rows.items()], columns=cols)


def metric_histogram(frame: pd.DataFrame, rules: list[tuple[str, str, Rule]], metric: str,
                     split: str | None = None) -> alt.LayerChart | alt.FacetChart:
    """A metric across many runs as bars counted in the lake, stacked by what its checks said,
    with each threshold as a dashed rule; one panel per ``split`` value."""
    runs = int(frame["runs"].sum())
    title = f"{metric}: {runs:,} runs" + (f" by {split}" if split else "")
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("lo:Q", title=axis_title(metric), scale=alt.Scale(zero=False)), x2="hi:Q",
        y=alt.Y("sum(runs):Q", title="runs", stack="zero"),
        color=alt.Color("outcome:N", scale=VERDICT_SCALE, title="checks said"),
        tooltip=[alt.Tooltip("lo:Q", title="from", format=",.4~g"),
                 alt.Tooltip("hi:Q", title="to", format=",.4~g"), "outcome:N",
                 alt.Tooltip("sum(runs):Q", title="runs", format=",")])
    if not split:
        return alt.layer(bars, *_rule_layers(rules)).properties(title=title, height=150)
    # One panel per project or release: the rules repeated in each (a facet needs one data).
    at = pd.DataFrame([{"at": rule.value, "threshold": t} for _, t, rule in rules],
                      columns=["at", "threshold"])
    panels = frame.merge(at, how="cross") if len(at) else frame.assign(at=None, threshold=None)
    lines = alt.Chart().mark_rule(strokeDash=[6, 4], size=2, color="#37474f").encode(
        x="at:Q", tooltip=["threshold:N"])
    layered = alt.layer(bars.properties(height=90), lines, data=panels)
    return layered.facet(row=alt.Row(f"{split}:N", title=split)).properties(title=title
        ).resolve_scale(y="independent")


def summary_boxes(rows: Sequence[dict[str, Any]], metric: str) -> pd.DataFrame:
    """One row per month, project and release of ``metric`` in ``qc_metrics_monthly`` rows
    (a metric with several checks, like contamination's tiers, has the same values in each)."""
    cols = ["month", "project", "pipeline_release", "runs", "min_value", "p10_value",
            "p50_value", "p90_value", "max_value"]
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        if r["metric_id"] == metric:
            seen.setdefault((r["month"], r["project"], r["pipeline_release"]),
                            {k: r[k] for k in cols})
    frame = pd.DataFrame(list(seen.values()), columns=cols)
    frame["group"] = [f"{p or '(untagged)'} · {rel or '(untagged)'}"
                      for p, rel in zip(frame["project"], frame["pipeline_release"], strict=True)]
    return frame


def summaries_chart(rows: Sequence[dict[str, Any]], split: str | None = None) -> alt.FacetChart:
    """Every gated metric across many runs from its monthly summaries, one panel per metric with
    its own axis: per month and project and release (or ``split``), the median as a line, p10 to
    p90 as a band (min, max and runs in the tooltip), each threshold as a dashed rule.
    Percentiles of different months or projects do not add up, so each is drawn as stored. One
    chart for all metrics: building and validating a chart per metric costs more than reading
    the year's summaries."""
    colour = split or "group"
    parts, runs = [], 0
    for metric in dict.fromkeys(r["metric_id"] for r in rows):
        boxes = summary_boxes(rows, metric)
        runs = max(runs, int(boxes["runs"].sum()))
        label = axis_title(metric)
        parts.append(boxes.assign(metric=label, kind="box"))
        parts.append(pd.DataFrame(
            [{"metric": label, "kind": "rule", "check_id": c, "threshold": t, "at": rule.value}
             for c, t, rule in metric_rules(rows, metric)],
            columns=["metric", "kind", "check_id", "threshold", "at"]))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["metric", "kind", "month", colour, "at"])
    x = alt.X("month:O", title="month (UTC)", axis=alt.Axis(labelAngle=0))
    box = alt.Chart().transform_filter("datum.kind == 'box'").encode(
        x=x, color=alt.Color(f"{colour}:N", title=colour if split else "project · release"),
        tooltip=["month:O", "project:N", alt.Tooltip("pipeline_release:N", title="release"),
                 alt.Tooltip("runs:Q", format=","),
                 *(alt.Tooltip(f"{c}_value:Q", title=c, format=",.4~g")
                   for c in ("min", "p10", "p50", "p90", "max"))])
    band = box.mark_area(opacity=0.12).encode(
        y=alt.Y("p10_value:Q", title=None, scale=alt.Scale(zero=False)), y2="p90_value:Q")
    median = box.mark_line(point=True).encode(y="p50_value:Q")
    rule = alt.Chart().transform_filter("datum.kind == 'rule'").mark_rule(
        strokeDash=[6, 4], size=2, color="#37474f").encode(
        y="at:Q", tooltip=["check_id:N", "threshold:N"])
    return alt.layer(band, median, rule, data=frame).properties(height=150, width=800).facet(
        row=alt.Row("metric:N", title=None, header=alt.Header(
            labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold")),
        title=f"Gated metrics: {runs:,} runs (per month: median, p10 to p90 band)",
    ).resolve_scale(y="independent")


def clipped(frame: pd.DataFrame, share: float = 0.995) -> pd.DataFrame:
    """The bins up to the x below which ``share`` of the counts lie (per series), without the
    open-ended last bin: a coverage histogram's 1000+ bin would squash the curve to the axis."""
    if frame.empty:
        return frame
    kept = []
    for _, part in frame[frame["x"].notna()].groupby("series", sort=False):
        part = part.sort_values("x")
        part = part[part["x_end"].isna() | (part["x_end"] != float("inf"))]
        total = part["value"].fillna(0).sum()
        if total > 0:
            cum = part["value"].fillna(0).cumsum() / total
            last = int((cum < share).sum())
            part = part.iloc[: max(last + 1, 10)]
        kept.append(part)
    return pd.concat(kept) if kept else frame.iloc[0:0]


def histogram_chart(frame: pd.DataFrame, title: str, x_title: str, y_title: str) -> alt.Chart:
    """A histogram of a run as curves over a numeric x, one per series."""
    return alt.Chart(frame, title=title).mark_line(interpolate="step-after").encode(
        x=alt.X("x:Q", title=x_title),
        y=alt.Y("value:Q", title=y_title),
        color=alt.Color("series:N", title=None),
        tooltip=["series:N", alt.Tooltip("label:N", title="bin"),
                 alt.Tooltip("value:Q", title=y_title, format=",")],
    )


def contig_chart(frame: pd.DataFrame) -> alt.Chart:
    """Mean depth per contig, in the order DRAGEN wrote them."""
    return alt.Chart(frame, title="Mean coverage per contig").mark_bar().encode(
        x=alt.X("contig:N", sort=None, title="contig"),
        y=alt.Y("mean_coverage_x:Q", title="mean coverage (×)"),
        color=alt.Color("contig_kind:N", title=None),
        tooltip=["contig:N", alt.Tooltip("mean_coverage_x:Q", title="mean coverage (×)",
                                         format=",.2f"),
                 alt.Tooltip("relative_to_autosomes:Q", title="× the autosomal mean",
                             format=".2f"),
                 alt.Tooltip("aligned_bases:Q", title="aligned bases", format=",")],
    )


def release_comparison(points: pd.DataFrame, metric: str, releases: list[str]) -> alt.Chart:
    """A metric's values per release, side by side: box and every run as a dot (beyond
    ``STRIP_MAX`` runs, the box alone, its five numbers computed here)."""
    y = alt.Y("pipeline_release:N", sort=releases, title="release")
    x = alt.X("value:Q", title=axis_title(metric), scale=alt.Scale(zero=False))
    if len(points) > STRIP_MAX:
        return _box_of_many(points, metric, releases, y)
    box = alt.Chart(points).mark_boxplot(extent="min-max", opacity=0.35, size=22).encode(
        x=x, y=y)
    dots = alt.Chart(points).mark_circle(size=40, opacity=0.8).encode(
        x=x, y=y, color=alt.Color("pipeline_release:N", sort=releases, legend=None),
        tooltip=["sample_id:N", "run_id:N", alt.Tooltip("value:Q", title=metric,
                                                        format=",.4~g"),
                 alt.Tooltip("pipeline_release:N", title="release")])
    return alt.layer(box, dots).properties(title=f"{metric} by release", height=alt.Step(40))


def box_numbers(points: pd.DataFrame) -> pd.DataFrame:
    """Per release: runs, min, lower quartile, median, upper quartile and max of ``value``."""
    values = points.groupby("pipeline_release", sort=False)["value"]
    out = values.quantile([0.0, 0.25, 0.5, 0.75, 1.0]).unstack()
    out.columns = ["min", "q1", "median", "q3", "max"]
    out.insert(0, "runs", values.size())
    return out.reset_index()


def _box_of_many(points: pd.DataFrame, metric: str, releases: list[str], y: alt.Y
                 ) -> alt.LayerChart:
    """A box per release from its five numbers: 48,000 dots would be seconds to send and draw."""
    base = alt.Chart(box_numbers(points)).encode(
        y=y, tooltip=["pipeline_release:N", "runs:Q",
                      *(alt.Tooltip(f"{c}:Q", format=",.4~g") for c in
                        ("min", "q1", "median", "q3", "max"))])
    whisker = base.mark_rule().encode(
        x=alt.X("min:Q", title=axis_title(metric), scale=alt.Scale(zero=False)), x2="max:Q")
    box = base.mark_bar(size=22, opacity=0.35).encode(x=alt.X("q1:Q"), x2="q3:Q",
        color=alt.Color("pipeline_release:N", sort=releases, legend=None))
    median = base.mark_tick(size=22, thickness=2, color="black").encode(x="median:Q")
    return alt.layer(whisker, box, median).properties(
        title=f"{metric} by release ({len(points):,} runs: min, quartiles, median, max)",
        height=alt.Step(40))
