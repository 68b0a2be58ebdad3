"""What the Cost, Failures and Storage pages share, on values (issue 14, speed: a histogram and a
table of 48,000 samples must not send 48,000 rows to the browser)."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboards.page_parts import SHOWN_ROWS, binned


def test_binned_counts_every_value_once_and_keeps_empty_bins():
    got = binned([0.0, 1.0, 1.5, 9.0, 10.0], bins=5)
    assert got["lo"].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert got["hi"].tolist() == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert got["count"].tolist() == [3, 0, 0, 0, 2]  # the last bin holds its upper edge


def _big_table(n: int) -> None:
    import pandas as pd

    from dashboards.page_parts import table

    table(pd.DataFrame({"sample_id": [f"S{i}" for i in range(n)], "usd": range(n)}),
          "cost per sample", "cost_per_sample")


def test_a_big_table_shows_its_first_rows_and_says_the_csv_has_all():
    n = SHOWN_ROWS + 234
    at = AppTest.from_function(_big_table, args=(n,)).run()
    (shown,) = at.dataframe
    assert isinstance(shown.value, pd.DataFrame) and len(shown.value) == SHOWN_ROWS
    assert shown.value["sample_id"].iloc[-1] == f"S{SHOWN_ROWS - 1}"
    assert [c.value for c in at.caption] == [
        f"The first {SHOWN_ROWS:,} of {n:,} rows; the CSV has them all."]
    (button,) = at.get("download_button")
    assert button.proto.label == "Download cost per sample as CSV"
