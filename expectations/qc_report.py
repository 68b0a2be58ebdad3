"""A readable, self-contained HTML report of one QC gate run.

GX Data Docs load CSS and scripts from CDNs; this page needs nothing from outside.
It is built from the gate's rows and the GX result JSON: verdict counts, the runs that did not pass
with the observed value against each rule, every run's verdict, and the thresholds with their
sources and reviewers.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from expectations.qc_thresholds import Thresholds
    from expectations.sample_qc import GateResult

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}
.pass{color:#1a7f37;font-weight:600}.review{color:#9a6700;font-weight:600}
.fail{color:#cf222e;font-weight:600}.muted{color:#57606a}
"""


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _observed(row: dict[str, Any]) -> str:
    v = row["observed_value"]
    if v is not None:
        return f"{v:,.0f}" if abs(v) >= 1e6 and v == int(v) else f"{v:g}"
    return _e(row["observed_text"])


def _verdict(v: str | None) -> str:
    return f'<span class="{_e(v)}">{_e(v)}</span>'


def render_html(result: GateResult, thresholds: Thresholds) -> str:
    """The report as one HTML page with inline CSS and no external requests."""
    counts = result.counts()
    stats = result.validation.get("statistics", {})
    meta = result.validation.get("meta", {})
    checks = [r for r in result.rows if r["check_id"] != "overall"]
    failed = [r for r in checks if not r["passed"]]
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>QC gate {_e(result.suite_version)} {_e(result.evaluated_at.isoformat())}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Sample QC gate: {_e(result.suite)} ({_e(result.suite_version)})</h1>",
        f"<p class='muted'>Evaluated at {_e(result.evaluated_at.isoformat())} · "
        f"Great Expectations {_e(meta.get('great_expectations_version'))} · "
        f"{_e(stats.get('evaluated_expectations'))} expectations, "
        f"{_e(stats.get('successful_expectations'))} met by every run</p>",
        "<table><tr><th>runs</th><th>pass</th><th>review</th><th>fail</th></tr>",
        f"<tr><td>{len(result.verdicts)}</td><td class='pass'>{counts['pass']}</td>"
        f"<td class='review'>{counts['review']}</td><td class='fail'>{counts['fail']}</td></tr>",
        "</table>",
    ]
    releases = sorted({f"{r.get('pipeline_release') or 'unknown release'}"
                       + (f" (DRAGEN {r['dragen_version']})" if r.get("dragen_version") else "")
                       for r in result.overall()})
    if releases:
        out.append(f"<p>Releases judged: {_e(', '.join(releases))}</p>")
    out.append("<h2>Checks not passed</h2>")
    if failed:
        out.append("<table><tr><th>run</th><th>sample</th><th>check</th><th>metric</th>"
                   "<th>observed</th><th>rule</th><th>severity</th><th>verdict</th></tr>")
        out.extend(
            f"<tr><td>{_e(r['run_id'])}</td><td>{_e(r['sample_id'])}</td><td>{_e(r['check_id'])}"
            f"</td><td>{_e(r['metric_id'])}</td><td>{_observed(r)}</td><td>{_e(r['threshold'])}"
            f"</td><td>{_e(r['severity'])}</td><td>{_verdict(r['verdict'])}</td></tr>"
            for r in failed)
        out.append("</table>")
    else:
        out.append("<p>Every check passed for every run.</p>")
    out.append(_distributions(checks, thresholds))
    out.append("<h2>Verdict per run</h2><table><tr><th>run</th><th>sample</th><th>project</th>"
               "<th>verdict</th><th>checks not passed</th></tr>")
    out.extend(
        f"<tr><td>{_e(r['run_id'])}</td><td>{_e(r['sample_id'])}</td><td>{_e(r['project'])}</td>"
        f"<td>{_verdict(r['verdict'])}</td><td>{_e(r['observed_text'])}</td></tr>"
        for r in result.overall())
    out.append("</table><h2>Thresholds</h2>"
               f"<p class='muted'>From {_e(thresholds.path)}</p>"
               "<table><tr><th>check</th><th>metric</th><th>rule</th><th>severity</th>"
               "<th>verdict if failed</th><th>source</th><th>reviewed</th></tr>")
    out.extend(
        f"<tr><td>{_e(c.check_id)}</td><td>{_e(c.metric)}</td><td>{_e(c.threshold_text)}</td>"
        f"<td>{_e(c.severity)}</td><td>{_verdict(c.verdict_if_failed)}</td><td>{_e(c.source)}</td>"
        f"<td>{_e(c.reviewed_by)}, {_e(c.reviewed_on.isoformat())}</td></tr>"
        for c in thresholds.checks)
    out.append("</table><p class='muted'>A missing metric fails its checks. The GX result JSON "
               "is stored beside this page.</p></body></html>")
    return "\n".join(out)


def _distributions(checks: list[dict[str, Any]], thresholds: Thresholds) -> str:
    """Each numeric metric across the runs (a lane per release) with its thresholds drawn."""
    from expectations.svg import strip_chart

    charts = []
    for metric in thresholds.metrics:
        rows = [r for r in checks if r["metric_id"] == metric and r["observed_value"] is not None]
        if not rows:
            continue
        seen: dict[str, dict[str, float]] = {}
        for r in rows:
            lane = r.get("pipeline_release") or "runs"
            seen.setdefault(lane, {})[r["run_id"]] = r["observed_value"]
        lanes = {k: sorted(v.items()) for k, v in sorted(seen.items())}
        lines = [(f"{c.check_id} {c.threshold_text}", float(c.value)) for c in thresholds.checks
                 if c.metric == metric and not isinstance(c.value, tuple)]
        flagged = {r["run_id"] for r in rows if not r["passed"]}
        charts.append(strip_chart(metric, lanes, thresholds=lines, flagged=flagged))
    if not charts:
        return ""
    return ("<h2>Distributions</h2><p class='muted'>One dot per run (hover for its value); the bar "
            "is the median; dashed red lines are the thresholds; red dots failed a check.</p>"
            "<div style='display:flex;flex-wrap:wrap;gap:.5rem 1.5rem'>" + "".join(charts)
            + "</div>")