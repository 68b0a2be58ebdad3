"""The seqledger dashboard: ``streamlit run dashboards/app.py`` (or ``seqledger dashboard``).

Every page is a script in ``dashboards/pages/`` that reads the lake only through
``dashboards.data``. To add one (cost, QC trends, releases), write ``pages/<name>.py`` and add an
``st.Page`` to the section it belongs to in ``SECTIONS``. Pages read the sidebar's filters with
``dashboards.filters.current()`` and run queries with ``dashboards.data.query("<module>.<fn>", …)``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards import auth, data, filters
from lake.location import LakeState

PAGES_DIR = Path(__file__).resolve().parent / "pages"

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

# Served to a team, the command line wrote an [auth] section for the center's identity provider:
# nobody sees a figure before signing in.
if auth.required() and not auth.signed_in():
    st.title("seqledger")
    st.info("Sign in with your organisation's account to see the dashboards.",
            icon=":material/lock:")
    st.button("Sign in", on_click=st.login, type="primary")
    st.stop()

page = st.navigation(SECTIONS)

with st.sidebar:
    if auth.required():
        st.caption(f"Signed in as **{auth.who()}**")
        st.button("Sign out", on_click=st.logout)
    st.caption(f"Lake: `{data.lake_uri()}`")
    if st.button("Refresh", icon=":material/refresh:", help="Read the lake again now"):
        data.refresh()

check = data.lake_check()
if not check.usable:  # missing, a file, unreachable: an error with the path, never "no data"
    st.error(check.message(), icon=":material/error:")
    st.stop()
if check.state is LakeState.EMPTY:  # there, and nothing written yet: say how to fill it
    st.info(check.message(), icon=":material/inbox:")
    st.stop()
data.start_page()
for line in data.skipped_files():
    st.warning(line, icon=":material/warning:")
filters.install()
page.run()
# What the figures cost to compute: on Athena, bytes scanned and their price per query.
st.caption(data.footer())
