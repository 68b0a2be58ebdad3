"""One dashboard page through AppTest with what the app draws around it.

AppTest's ``switch_page`` runs the chosen page's script alone (Streamlit 1.67), without the main
script's sidebar, lake check and filters. ``page_test`` runs a small main script that does what
``dashboards/app.py`` does around a page (``dashboards.shell``) and then the page itself.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[2] / "dashboards" / "views"


def _one_page(page_file: str) -> None:
    import runpy

    import streamlit as st

    from dashboards import shell

    st.set_page_config(page_title="seqledger", layout="wide")
    if shell.frame():
        runpy.run_path(page_file, run_name="__main__")
        shell.footer()


def page_test(page: str, params: dict[str, str | list[str]] | None = None,
              timeout: float = 90) -> AppTest:
    """An AppTest of ``dashboards/views/<page>.py`` with the URL's ``params``, not yet run."""
    at = AppTest.from_function(_one_page, args=(str(PAGES / f"{page}.py"),),
                               default_timeout=timeout)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at
