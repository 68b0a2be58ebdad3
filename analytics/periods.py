"""Time series with no gaps: the days (or months) of a range, and zero rows where nothing happened.

A chart of failures per day that skips the quiet days lies about the trend; these helpers give
the periods a filter's date range spans (or the span the rows themselves cover when the range is
open) and add a zero row for every period and group the rows lack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, Literal

from analytics.filters import Filters

Grain = Literal["day", "month"]
GRAINS: tuple[Grain, ...] = ("day", "month")


def check_grain(grain: str) -> Grain:
    if grain not in GRAINS:
        raise ValueError(f"grain must be 'day' or 'month', not {grain!r}")
    return grain  # type: ignore[return-value]


def label(d: date, grain: Grain) -> str:
    """A day as ``YYYY-MM-DD`` or its month as ``YYYY-MM`` (the labels the queries give)."""
    return d.isoformat() if grain == "day" else d.isoformat()[:7]


def periods(start: date, end: date, grain: Grain) -> list[str]:
    """Every day (or month) from ``start`` to ``end``, both included, as labels."""
    out: list[str] = []
    d = start if grain == "day" else start.replace(day=1)
    while d <= end:
        out.append(label(d, grain))
        d = d + timedelta(days=1) if grain == "day" else (d + timedelta(days=32)).replace(day=1)
    return out


def span(f: Filters, seen: Iterable[str], grain: Grain) -> list[str]:
    """The periods to draw: the filter's range, each open end taken from the periods ``seen``."""
    seen = sorted(s for s in seen if s)
    if not seen and not (f.start and f.end):
        return []

    def day(p: str) -> date:
        return date.fromisoformat(p if len(p) == 10 else p + "-01")

    start = f.start or day(seen[0])
    end = f.end or day(seen[-1])
    return periods(start, end, grain) if start <= end else []


def fill(rows: Sequence[dict[str, Any]], period: str, labels: Sequence[str],
         groups: Sequence[str] = (), values: Sequence[str] = ()) -> list[dict[str, Any]]:
    """``rows`` plus a row of zeros in ``values`` for each period of ``labels`` and each
    combination of ``groups`` seen in ``rows`` that has no row; sorted by period then groups.

    With no rows at all and no groups, each period gets one zero row (a flat line, not nothing).
    """
    out = list(rows)
    have = {(r[period], *(r[g] for g in groups)) for r in rows}
    combos = sorted({tuple(r[g] for g in groups) for r in rows}, key=_sort_key)
    if not groups:
        combos = [()]
    out.extend({period: p, **dict(zip(groups, combo, strict=True)), **dict.fromkeys(values, 0)}
               for p in labels for combo in combos if (p, *combo) not in have)
    return sorted(out, key=lambda r: (r[period], _sort_key(tuple(r[g] for g in groups))))


def _sort_key(combo: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, "" if v is None else str(v)) for v in combo)
