"""Open one page of the dashboard in AppTest, the app around it (sidebar, lake checks) included.

``AppTest.from_file("dashboards/app.py")`` then ``switch_page("pages/qc.py")`` runs the page file
alone: AppTest finds the ``pages/`` folder beside the main script and treats it as an old-style
multipage app, so the sidebar and its filters never run. The app is therefore started from
``app_main.py`` here, a folder with no ``pages/``, and the page is found among the ones
``st.navigation`` registered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
from streamlit.testing.v1 import AppTest

MAIN = Path(__file__).resolve().parent / "app_main.py"
PAGES = Path(__file__).resolve().parents[2] / "dashboards" / "pages"


def open_page(name: str, params: dict[str, str | list[str]] | None = None) -> AppTest:
    """The app on page ``name`` (``pages/<name>.py``), with ``params`` as the URL's query."""
    at = AppTest.from_file(str(MAIN), default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()  # st.navigation registers the pages on a first run
    at.switch_page(os.path.relpath(PAGES / f"{name}.py", MAIN.parent))
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
