"""Open one page of the dashboard in AppTest, the app around it (sidebar, lake checks) included:
the app runs once so ``st.navigation`` registers its pages, then switches to the page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def open_page(name: str, params: dict[str, str | list[str]] | None = None) -> AppTest:
    """The app on page ``name`` (``views/<name>.py``), with ``params`` as the URL's query."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()  # st.navigation registers the pages on a first run
    at.switch_page(f"views/{name}.py")
    return at.run()


def charts(at: AppTest) -> dict[str, dict]:
    """Every chart on the page by its title: the spec and each dataset's rows (Arrow IPC)."""
    out = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        title = spec.get("title") or next(
            (layer["title"] for layer in spec.get("layer", []) if "title" in layer), "")
        title = title["text"] if isinstance(title, dict) else title
        rows = [pa.ipc.open_stream(d.data.data).read_all().to_pylist()
                for d in element.proto.datasets]
        out[title] = {"spec": spec, "data": rows}
    return out
