"""The seqledger dashboard: ``streamlit run dashboards/app.py`` (or ``seqledger dashboard``).

Every page is a script in ``dashboards/views/`` that reads the lake only through
``dashboards.data``. To add one (cost, QC trends, releases), write ``views/<name>.py`` and add an
``st.Page`` to the section it belongs to in ``SECTIONS``. Pages read the sidebar's filters with
``dashboards.filters.current()`` and run queries with ``dashboards.data.query("<module>.<fn>", …)``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards import data, filters
from lake.location import LakeState

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
page = st.navigation(SECTIONS)

with st.sidebar:
    st.caption(f"Lake: `{data.lake_uri()}`")
    if st.button("Refresh", icon=":material/refresh:", help="Read the lake again now"):
        data.refresh()

check = data.lake_check()
if not check.usable:  # missing, a file, unreachable: an error with the path, never "no data"
    st.error(check.message(), icon=":material/error:")
    st.stop()
for line in data.skipped_files():
    st.warning(line, icon=":material/warning:")
data.start_page()
if check.state is LakeState.HAS_DATA:
    filters.install()
page.run()
# What the figures cost to compute: on Athena, bytes scanned and their price per query.
st.caption(data.footer())
