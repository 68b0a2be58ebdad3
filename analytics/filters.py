"""What a reader narrows the lake to: a date range and tag values, as SQL a query can append.

A ``Filters`` is a value: the dashboards build it from the sidebar (``dashboards.filters``), reports
could from flags. A query says which of its columns answer for each filter (``Columns``); a filter
the query has no column for is left out and reported by ``unapplied`` so a page can say so, not
silently pretend. ``months()`` gives the ``YYYY-MM`` partitions the date range touches, so a query
can prune on the ``month`` partition column as well as filter on its time column (Athena bills by
bytes scanned; DuckDB skips files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

TAGS = ("project", "cost_centre", "workflow", "release")


@dataclass(frozen=True, slots=True)
class Filters:
    """A UTC date range (both ends inclusive, either open) and allowed values per tag.

    An empty tuple means every value. ``None`` stands for rows without the tag (``(untagged)`` in
    the pages) and may be among the values.
    """

    start: date | None = None
    end: date | None = None
    project: tuple[str | None, ...] = ()
    cost_centre: tuple[str | None, ...] = ()
    workflow: tuple[str | None, ...] = ()
    release: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"the date range starts ({self.start}) after it ends ({self.end})")

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return self == Filters()

    def values(self, tag: str) -> tuple[str | None, ...]:
        if tag not in TAGS:
            raise ValueError(f"unknown filter {tag!r}: one of {', '.join(TAGS)}")
        return getattr(self, tag)

    def months(self) -> list[str] | None:
        """The ``YYYY-MM`` months the date range touches; None when it is open at either end."""
        if self.start is None or self.end is None:
            return None
        out, m = [], self.start.replace(day=1)
        while m <= self.end:
            out.append(m.strftime("%Y-%m"))
            m = (m + timedelta(days=32)).replace(day=1)
        return out

    def active(self) -> list[str]:
        """Names of the filters that narrow anything (``date`` for the range)."""
        out = ["date"] if self.start or self.end else []
        return out + [t for t in TAGS if getattr(self, t)]


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns of one query that answer for each filter; None where the query has none.

    ``time`` is a TIMESTAMP or DATE column; ``month`` the ``YYYY-MM`` partition column, used for
    pruning when the range is closed.
    """

    time: str | None = None
    month: str | None = None
    project: str | None = None
    cost_centre: str | None = None
    workflow: str | None = None
    release: str | None = None


def where(f: Filters, cols: Columns, prefix: str = "AND") -> tuple[str, list[Any]]:
    """``(sql, params)``: the predicates of ``f`` on ``cols``, ``?`` placeholders, in order.

    The SQL starts with ``prefix`` (``AND`` to extend a WHERE, ``WHERE`` to start one) or is ``""``
    when nothing applies. Dates compare on UTC days: ``end`` includes its whole day.
    """
    parts: list[str] = []
    params: list[Any] = []
    if cols.time and f.start:
        parts.append(f"{cols.time} >= CAST(? AS TIMESTAMP)")
        params.append(f"{f.start.isoformat()} 00:00:00")
    if cols.time and f.end:
        parts.append(f"{cols.time} < CAST(? AS TIMESTAMP)")
        params.append(f"{(f.end + timedelta(days=1)).isoformat()} 00:00:00")
    months = f.months()
    if cols.month and months:
        parts.append(f"{cols.month} IN ({', '.join('?' * len(months))})")
        params.extend(months)
    for tag in TAGS:
        column, allowed = getattr(cols, tag), f.values(tag)
        if not column or not allowed:
            continue
        named = [v for v in allowed if v is not None]
        terms = [f"{column} IN ({', '.join('?' * len(named))})"] if named else []
        params.extend(named)
        if None in allowed:
            terms.append(f"{column} IS NULL")
        parts.append(f"({' OR '.join(terms)})")
    return (f"{prefix} {' AND '.join(parts)}" if parts else ""), params


def unapplied(f: Filters, cols: Columns) -> list[str]:
    """The active filters ``cols`` cannot answer for (a page says these do not narrow a chart)."""
    have = {"date": cols.time is not None} | {t: getattr(cols, t) is not None for t in TAGS}
    return [name for name in f.active() if not have[name]]


def field_names() -> list[str]:
    return [x.name for x in fields(Filters)]


def from_mapping(values: Mapping[str, Any]) -> Filters:
    """A ``Filters`` from plain values (query parameters, JSON): ISO dates, lists of strings."""
    def day(v: Any) -> date | None:
        return None if v in (None, "") else (v if isinstance(v, date) else date.fromisoformat(v))

    def tags(v: Any) -> tuple[str | None, ...]:
        if v in (None, ""):
            return ()
        items = [v] if isinstance(v, str) else list(v)
        return tuple(sorted({None if i in (None, UNTAGGED) else str(i) for i in items},
                            key=lambda i: (i is None, i or "")))

    return Filters(start=day(values.get("start")), end=day(values.get("end")),
                   **{t: tags(values.get(t)) for t in TAGS})


UNTAGGED = "(untagged)"
