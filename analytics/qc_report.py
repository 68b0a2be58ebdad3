"""``seqledger report qc``'s rows: the monthly QC metric distributions, grouped as asked.

The rows come from ``analytics.qc.metric_summary`` (the ``qc_metrics_monthly`` rollup: per month,
project, release and numeric check of the latest gates). Counts add up across the rows a group
merges, and so do the extremes; percentiles do not, so a group that merges several rows has no
p10/p50/p90 (``months`` says how many it merged: put ``month`` in ``by`` to keep them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# ``--by`` names and the columns of metric_summary they group on
GROUPS = {"month": "month", "project": "project", "release": "pipeline_release"}
CHECK = ("check_id", "metric_id", "threshold")  # a check's rows: always apart
COLUMNS = ("runs", "passed", "pass_rate", "min_value", "p10_value", "p50_value", "p90_value",
           "max_value", "merged_rows")


def group_columns(by: Iterable[str]) -> list[str]:
    """The metric_summary columns of the ``by`` names (a ValueError names a wrong one)."""
    by = list(by)
    bad = [b for b in by if b not in GROUPS]
    if bad or not by:
        raise ValueError(f"cannot group QC metrics by {bad or by!r}; choose from "
                         f"{', '.join(GROUPS)}")
    return [GROUPS[b] for b in dict.fromkeys(by)]


def summarise(rows: Sequence[dict[str, Any]], by: Iterable[str]) -> list[dict[str, Any]]:
    """One row per group of ``by`` and check: runs, passed, pass rate, min, max, and the
    percentiles when the group is a single row of ``rows``; sorted by group, then check."""
    keys = [*group_columns(by), *CHECK]
    merged: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        merged.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for key, group in merged.items():
        runs = sum(r["runs"] for r in group)
        passed = sum(r["passed"] for r in group)
        alone = group[0] if len(group) == 1 else {}
        out.append({
            **dict(zip(keys, key, strict=True)),
            "runs": runs,
            "passed": passed,
            "pass_rate": passed / runs if runs else None,
            "min_value": min(r["min_value"] for r in group),
            "p10_value": alone.get("p10_value"),
            "p50_value": alone.get("p50_value"),
            "p90_value": alone.get("p90_value"),
            "max_value": max(r["max_value"] for r in group),
            "merged_rows": len(group),
        })
    # None (untagged) after the named values, as the pages list them
    return sorted(out, key=lambda r: [(r[k] is None, r[k] or "") for k in keys])
