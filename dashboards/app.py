"""The seqledger dashboard: ``streamlit run dashboards/app.py`` (or ``seqledger dashboard``).

Every page is a script in ``dashboards/views/`` that reads the lake only through
``dashboards.data``. To add one (cost, QC trends, releases), write ``views/<name>.py`` and add an
``st.Page`` to the section it belongs to in ``SECTIONS``. What every page shares (sign-in, the
sidebar, the lake's state, the filters, the footer) is ``dashboards.shell``. Pages read the
sidebar's filters with ``dashboards.filters.current()`` and run queries with
``dashboards.data.query("<module>.<fn>", …)``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards import shell

# Not "pages/": beside the main script, that name makes Streamlit serve a fresh server's first
# visitor of a page URL (a shared link, /qc?project=…) the page file alone, as an old-style
# multipage app: no sidebar, no filters, no lake check (PagesManager.uses_pages_directory).
PAGES_DIR = Path(__file__).resolve().parent / "views"

SECTIONS = {
    "Operations": [
        st.Page(PAGES_DIR / "overview.py", title="Overview", default=True),
        st.Page(PAGES_DIR / "runs.py", title="Runs"),
        st.Page(PAGES_DIR / "failures.py", title="Failures and Spot"),
    ],
    "Money": [
        st.Page(PAGES_DIR / "cost.py", title="Cost"),
        st.Page(PAGES_DIR / "storage.py", title="Storage"),
    ],
    "Quality": [
        st.Page(PAGES_DIR / "qc.py", title="QC"),
        st.Page(PAGES_DIR / "releases.py", title="Releases"),
    ],
}

# No page_icon and no st.Page icons: the browser turns a Material icon into a favicon fetched from
# fonts.gstatic.com (the browser test's route guard caught it). Streamlit serves its own favicon.
st.set_page_config(page_title="seqledger", layout="wide")

page = st.navigation(SECTIONS, position="sidebar" if shell.allowed() else "hidden")
if shell.frame():
    page.run()
    shell.footer()
