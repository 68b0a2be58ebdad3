"""Pieces the Failures, Cost and Storage pages share: a table with its CSV download, the note
under a chart that some active filters do not narrow, and money and byte formats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from analytics.filters import Columns, Filters, unapplied
from dashboards.filters import LABELS

if TYPE_CHECKING:
    import pandas as pd


# Rows of a table sent to the browser: a year's 48,000 samples take seconds to serialise and
# nobody scrolls them; the CSV download has every row.
SHOWN_ROWS = 1000


def table(df: pd.DataFrame, name: str, key: str,
          column_config: dict[str, Any] | None = None) -> None:
    """``df`` as a table (its first ``SHOWN_ROWS`` rows), and a button that downloads all of it
    as ``<key>.csv``."""
    if len(df) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} of {len(df):,} rows; the CSV has them all.")
    st.dataframe(df.head(SHOWN_ROWS), hide_index=True, width="stretch",
                 column_config=column_config)
    # Made when clicked (a callable): formatting a big table's CSV would slow every render.
    st.download_button(f"Download {name} as CSV", lambda: df.to_csv(index=False).encode("utf-8"),
                       file_name=f"{key}.csv", mime="text/csv", key=f"csv_{key}",
                       icon=":material/download:")


def binned(values: Sequence[float], bins: int = 30) -> pd.DataFrame:
    """``lo, hi, count``: a histogram of ``values`` in ``bins`` equal bins (empty ones as zero),
    counted here so a chart sends ``bins`` rows to the browser, not every value."""
    import numpy as np
    import pandas as pd

    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts})


def not_narrowed(f: Filters, cols: Columns, why: str) -> None:
    """Say under a chart which active filters it ignores (``why``: what it lacks), if any."""
    missing = unapplied(f, cols)
    if missing:
        names = ", ".join("date range" if m == "date" else LABELS[m].lower() for m in missing)
        st.caption(f":material/filter_alt_off: Not narrowed by {names}: {why}.")


def usd(x: float | None, whole_from: float = float("inf")) -> str:
    """Dollars to the cent (whole dollars from ``whole_from`` up: a metric stays readable), a
    minus before the sign; a dash for nothing."""
    if x is None:
        return "—"
    text = f"{abs(x):,.0f}" if abs(x) >= whole_from else f"{abs(x):,.2f}"
    return f"-${text}" if x < 0 else f"${text}"


def size(n: float | None) -> str:
    """Bytes in binary units, as S3 bills them (GiB, TiB)."""
    if n is None:
        return "—"
    for unit, scale in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if abs(n) >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"
