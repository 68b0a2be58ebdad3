"""The sidebar every page shares: a date range and tag filters, kept in the URL's query parameters.

``sidebar()`` draws the widgets, seeded from ``st.query_params`` (so a shared link opens the same
view), writes the choice back to the URL and returns an ``analytics.filters.Filters`` for the
page's queries. Parameters: ``start``/``end`` (ISO dates) and ``project``, ``cost_centre``,
``workflow``, ``release`` (repeated for several values; ``(untagged)`` for rows without the tag).
A malformed parameter is reported and ignored, never an exception box.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from analytics.filters import TAGS, UNTAGGED, Filters, from_mapping
from dashboards import data

LABELS = {"project": "Project", "cost_centre": "Cost centre", "workflow": "Workflow",
          "release": "Pipeline release"}


def _from_url() -> tuple[Filters, str | None]:
    raw: dict[str, Any] = {"start": st.query_params.get("start"),
                           "end": st.query_params.get("end")}
    raw |= {t: st.query_params.get_all(t) for t in TAGS}
    try:
        return from_mapping(raw), None
    except ValueError as e:
        return Filters(), f"The link's filters were ignored: {e}"


def to_params(f: Filters) -> dict[str, str | list[str]]:
    """The query parameters that stand for ``f`` (empty filters leave no parameter)."""
    out: dict[str, str | list[str]] = {}
    if f.start:
        out["start"] = f.start.isoformat()
    if f.end:
        out["end"] = f.end.isoformat()
    for t in TAGS:
        if f.values(t):
            out[t] = [UNTAGGED if v is None else v for v in f.values(t)]
    return out


def _label(v: str | None) -> str:
    return UNTAGGED if v is None else v


def sidebar() -> Filters:
    """Draw the filters in the sidebar and return what they select (also written to the URL)."""
    seeded, problem = _from_url()
    options = data.filter_options()
    with st.sidebar:
        st.subheader("Filters")
        if problem:
            st.warning(problem, icon=":material/link_off:")
        lo: date | None = options.first_day
        hi: date | None = options.last_day
        chosen = st.date_input(
            "Date range (UTC)",
            value=(seeded.start or lo, seeded.end or hi) if (lo or seeded.start) else (),
            min_value=min(d for d in (lo, seeded.start) if d) if (lo or seeded.start) else None,
            max_value=max(d for d in (hi, seeded.end) if d) if (hi or seeded.end) else None,
            key="filter_dates",
            help="Runs by the day they reached their state; cost by its usage day",
        )
        start, end = (list(chosen) + [None, None])[:2] if isinstance(chosen, tuple) else (
            chosen, chosen)
        # The whole span of the lake selected is no filter at all: the link stays short.
        if start == lo and end == hi:
            start = end = None
        picked: dict[str, tuple[str | None, ...]] = {}
        for t in TAGS:
            offered = list(dict.fromkeys([*getattr(options, t), *seeded.values(t)]))
            values = st.multiselect(LABELS[t], offered, default=list(seeded.values(t)),
                                    format_func=_label, key=f"filter_{t}",
                                    placeholder="All")
            picked[t] = tuple(values)
    try:
        f = Filters(start=start, end=end, **picked)
    except ValueError as e:  # a range whose start is after its end
        st.sidebar.warning(str(e))
        f = Filters(**picked)
    params = to_params(f)
    if {k: st.query_params.get_all(k) for k in ("start", "end", *TAGS)} != {
            k: ([v] if isinstance(v, str) else v) if (v := params.get(k)) else []
            for k in ("start", "end", *TAGS)}:
        # Only the filter parameters change: a page's own (``run``, a tab) stay in the link.
        for k in ("start", "end", *TAGS):
            if k in params:
                st.query_params[k] = params[k]
            elif k in st.query_params:
                del st.query_params[k]
    return f


_KEY = "seqledger_filters"


def install() -> Filters:
    """Draw the sidebar once per run (the app calls this before the page) and remember it."""
    f = sidebar()
    st.session_state[_KEY] = f
    return f


def current() -> Filters:
    """The filters the sidebar selected on this run (no filter before the app drew it)."""
    return st.session_state.get(_KEY, Filters())
