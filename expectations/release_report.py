"""The release-validation report: one self-contained HTML page a lab director reads and signs.

Top to bottom: the verdict; the checks that did not pass; per-sample accuracy against the truth
set with the deltas against the baseline (Illumina's version-diff layout: F1, FN, FP per sample);
each metric's distribution under both releases, one lane over the other, with the thresholds;
runtime and cost per sample; the thresholds with their sources and the file's checksum; a place
to sign. Inline CSS and SVG only: it renders offline and prints.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from expectations.release_thresholds import METRICS
from expectations.svg import strip_chart

if TYPE_CHECKING:
    from expectations.release import ReleaseResult

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1100px}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;
text-align:right;vertical-align:top}th{background:#f6f8fa}td.l,th.l{text-align:left}
.pass{color:#1a7f37;font-weight:600}.warn{color:#9a6700;font-weight:600}
.fail{color:#cf222e;font-weight:600}.muted{color:#57606a}.neg{color:#cf222e}.pos{color:#1a7f37}
.verdict{font-size:1.6rem;padding:.6rem 1rem;border-radius:6px;display:inline-block;margin:.6rem 0}
.verdict.pass{background:#dafbe1}.verdict.warn{background:#fff8c5}.verdict.fail{background:#ffebe9}
.charts{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}.sign td{height:2.2rem;min-width:16rem}
@media print{body{margin:1cm}}
"""
_HEADLINE = {"pass": "PASS", "warn": "PASS WITH WARNINGS", "fail": "FAIL"}


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _n(value: Any, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value)
    if v == int(v) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _delta(value: Any, *, higher_is_better: bool, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value)
    cls = "" if v == 0 else ("pos" if (v > 0) == higher_is_better else "neg")
    text = f"{v:+,.0f}" if v == int(v) and abs(v) >= 1 else f"{v:+.{digits}g}"
    return f"<span class='{cls}'>{text}</span>"


def render_release_html(result: ReleaseResult) -> str:
    """The report as one HTML page with inline CSS and SVG, no external requests."""
    frame = result.frame
    verdict = result.verdict
    t = result.thresholds
    baseline = result.baseline or "none"
    versions = ", ".join(f"{k}: DRAGEN {v}" for k, v in result.dragen_versions.items())
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Release validation {_e(result.release)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Release validation: {_e(result.release)}</h1>",
        f"<p class='muted'>Against baseline <b>{_e(baseline)}</b> · {len(result.samples)} "
        f"reference sample(s): {_e(', '.join(result.samples))} · evaluated "
        f"{_e(result.evaluated_at.isoformat(timespec='seconds'))} · thresholds "
        f"{_e(t.version)}{' · ' + _e(versions) if versions else ''}</p>",
        f"<div class='verdict {verdict}' id='verdict'>{_HEADLINE[verdict]}</div>",
    ]
    failed = result.failed()
    out.append("<h2>Checks not passed</h2>")
    if failed:
        out.append("<table><tr><th class='l'>check</th><th class='l'>sample</th>"
                   "<th class='l'>metric</th><th>value checked</th><th>baseline value</th>"
                   "<th class='l'>rule</th><th class='l'>severity</th><th class='l'>why</th></tr>")
        out.extend(
            f"<tr><td class='l'>{_e(r['check_id'])}</td><td class='l'>{_e(r['sample_id'])}</td>"
            f"<td class='l'>{_e(r['metric'])}</td><td>{_n(r['observed_value'])}</td>"
            f"<td>{_n(r['baseline_value'])}</td><td class='l'>{_e(r['threshold'])}</td>"
            f"<td class='l {_e(r['verdict'])}'>{_e(r['severity'])}</td>"
            f"<td class='l'>{_e(r['note'])}</td></tr>" for r in failed)
        out.append("</table>")
    else:
        out.append("<p>Every check passed on every reference sample.</p>")

    out.append("<h2>Accuracy against the truth set (PASS calls)</h2>"
               "<p class='muted'>hap.py per sample; Δ is this release minus the baseline. "
               "Red: worse, green: better.</p>")
    for t_ in ("SNP", "INDEL"):
        head = "".join(f"<th>{m}</th><th>Δ</th>" for m in ("F1", "recall", "precision", "FN", "FP"))
        out.append(f"<h3>{t_}</h3><table><tr><th class='l'>sample</th>{head}</tr>")
        for rec in frame.to_dict("records"):
            cells = []
            for m in ("f1", "recall", "precision", "fn", "fp"):
                col = f"{t_.lower()}_pass_{m}"
                better = m not in ("fn", "fp")
                cells.append(f"<td>{_n(rec[col])}</td>"
                             f"<td>{_delta(rec[col + '__delta'], higher_is_better=better)}</td>")
            out.append(f"<tr><td class='l'>{_e(rec['sample_id'])}</td>{''.join(cells)}</tr>")
        out.append("</table>")

    out.append("<h2>Distributions: baseline against this release</h2>"
               "<p class='muted'>One dot per reference sample (hover for its value); the bar is "
               "the median; dashed red lines are absolute thresholds; red dots failed a check.</p>"
               "<div class='charts'>")
    flagged_by_metric: dict[str, set[str]] = {}
    for r in failed:
        flagged_by_metric.setdefault(r["metric"], set()).add(r["sample_id"])
    for metric, (_, unit, label) in METRICS.items():
        if frame[metric].isna().all() and frame[f"{metric}__base"].isna().all():
            continue
        lanes = {}
        if result.baseline:
            lanes[result.baseline] = list(zip(frame["sample_id"], frame[f"{metric}__base"],
                                              strict=True))
        lanes[result.release] = list(zip(frame["sample_id"], frame[metric], strict=True))
        lines = [(f"{c.check_id} {c.operator} {c.value:g}", c.value) for c in t.checks
                 if c.metric == metric and c.comparison == "absolute"]
        out.append(strip_chart(label, lanes, thresholds=lines, unit=unit,
                               flagged=flagged_by_metric.get(metric, set()),
                               flag_lane=result.release))
    out.append("</div>")

    out.append("<h2>Runtime and cost per sample</h2><table><tr><th class='l'>sample</th>"
               "<th>runtime, baseline (h)</th><th>runtime (h)</th><th>Δ</th>"
               "<th>cost, baseline (USD)</th><th>cost (USD)</th><th>Δ</th></tr>")
    for rec in frame.to_dict("records"):
        rt_b, rt = rec["total_runtime_s__base"], rec["total_runtime_s"]
        out.append(
            f"<tr><td class='l'>{_e(rec['sample_id'])}</td>"
            f"<td>{_n(None if rt_b is None else rt_b / 3600, 3)}</td>"
            f"<td>{_n(None if rt is None else rt / 3600, 3)}</td>"
            f"<td>{_pct(rec['total_runtime_s__rel'])}</td>"
            f"<td>{_n(rec['cost_usd__base'], 4)}</td><td>{_n(rec['cost_usd'], 4)}</td>"
            f"<td>{_pct(rec['cost_usd__rel'])}</td></tr>")
    out.append("</table>")

    out.append(f"<h2>Thresholds</h2><p class='muted'>{_e(t.path)} · version {_e(t.version)} · "
               f"sha256 {_e(t.sha256)}</p><table><tr><th class='l'>check</th>"
               "<th class='l'>metric</th><th class='l'>rule</th><th class='l'>severity</th>"
               "<th class='l'>description</th><th class='l'>source</th>"
               "<th class='l'>reviewed</th></tr>")
    out.extend(
        f"<tr><td class='l'>{_e(c.check_id)}</td><td class='l'>{_e(c.metric)}</td>"
        f"<td class='l'>{_e(c.threshold_text)}</td><td class='l'>{_e(c.severity)}</td>"
        f"<td class='l'>{_e(c.description)}</td><td class='l'>{_e(c.source)}</td>"
        f"<td class='l'>{_e(c.reviewed_by)}, {_e(c.reviewed_on.isoformat())}</td></tr>"
        for c in t.checks)
    out.append("</table>")
    stats = result.validation.get("statistics", {})
    gx_version = result.validation.get("meta", {}).get("great_expectations_version")
    out.append(f"<p class='muted'>Great Expectations {_e(gx_version)}: "
               f"{_e(stats.get('evaluated_expectations'))} expectations evaluated, "
               f"{_e(stats.get('successful_expectations'))} met. The result JSON is stored beside "
               "this page; every row is in the lake's release_validations table.</p>")
    out.append("<h2>Sign-off</h2><table class='sign'><tr><th class='l'>role</th>"
               "<th class='l'>name</th><th class='l'>signature</th><th class='l'>date</th></tr>"
               "<tr><td class='l'>Laboratory director</td><td></td><td></td><td></td></tr>"
               "<tr><td class='l'>Bioinformatics lead</td><td></td><td></td><td></td></tr>"
               "</table></body></html>")
    return "\n".join(out)


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value) * 100
    cls = "" if abs(v) < 0.05 else ("neg" if v > 0 else "pos")
    return f"<span class='{cls}'>{v:+.1f} %</span>"
