"""Opening one page of the dashboard in AppTest, and reading what its charts and tables hold.

The app runs once so ``st.navigation`` registers its pages, then switches to the page: the app
script runs around it (sidebar, filters, footer), as in a browser. The pages are in
``dashboards/views``: a ``pages/`` folder beside ``app.py`` would turn on Streamlit's old-style
multipage behaviour, in AppTest and for a fresh server's first visitor alike (see ``app.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def open_page(lake_uri: str, page: str, monkeypatch: pytest.MonkeyPatch,
              params: dict[str, str | list[str]] | None = None) -> AppTest:
    """The app over ``lake_uri`` on ``views/<page>.py``, opened from a link with ``params``."""
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_uri)
    at = AppTest.from_file(str(APP), default_timeout=90)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at.switch_page(f"views/{page}.py").run()


def charts(at: AppTest) -> dict[str, dict[str, list[Any]]]:
    """Each chart's data as columns, by the chart's title."""
    out = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        (dataset,) = element.proto.datasets
        title = spec["title"]["text"] if isinstance(spec["title"], dict) else spec["title"]
        out[title] = pa.ipc.open_stream(dataset.data.data).read_all().to_pydict()
    return out


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def downloads(at: AppTest) -> list[str]:
    """The labels of the page's download buttons."""
    return [e.proto.label for e in at.get("download_button")]
