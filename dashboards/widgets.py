"""What every page draws the same way: a table with its CSV download, a note under a chart that
leaves out an unreadable file."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from analytics.filters import Columns, Filters
from analytics.filters import unapplied as unapplied_filters
from dashboards import data


def table(frame: Any, name: str, **kwargs: Any) -> Any:
    """``st.dataframe`` of ``frame`` (pandas or Arrow) and a button to download it as CSV.

    ``name`` is the file's stem (``runs`` gives ``runs.csv``) and the button's key. Returns what
    ``st.dataframe`` returns (the selection, with ``on_select``).
    """
    import pandas as pd

    df = frame if isinstance(frame, pd.DataFrame) else frame.to_pandas()
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    shown = st.dataframe(df, **kwargs)
    stem = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "table"
    # The CSV is made when the button is clicked: a 48,000-row table costs seconds to format.
    st.download_button("Download CSV", lambda: df.to_csv(index=False).encode("utf-8"),
                       file_name=f"{stem}.csv", mime="text/csv", key=f"csv_{stem}",
                       icon=":material/download:", disabled=df.empty)
    return shown


def leaves_out(*tables: str) -> None:
    """Under a chart over ``tables``: one warning per file of them the views could not read."""
    for line in data.skipped_for(*tables):
        st.warning(f"This chart leaves out a file: {line}", icon=":material/broken_image:")


def unapplied(f: Filters, cols: Columns, what: str) -> None:
    """A caption naming the active filters ``what`` cannot be narrowed by (never silently)."""
    names = unapplied_filters(f, cols)
    if names:
        st.caption(f"{what} are not narrowed by {', '.join(n.replace('_', ' ') for n in names)}: "
                   "their rows do not carry it.")
