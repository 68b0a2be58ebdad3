"""What the app does around every page: sign-in, the sidebar, the lake's state, the filters and
the footer. ``app.py`` calls ``frame()`` before the page and ``footer()`` after it; tests that
run one page through AppTest do the same (AppTest's ``switch_page`` runs the page alone)."""

from __future__ import annotations

import streamlit as st

from dashboards import auth, data, filters
from lake.location import LakeState

_SKIPPED_AT = "seqledger_skipped_files_at"


def allowed() -> bool:
    """Whether this session may see the pages: signed in, or no sign-in configured."""
    return not auth.required() or auth.signed_in()


def frame() -> bool:
    """Draw what surrounds a page; False when the page must not run (not signed in, no lake)."""
    if not allowed():  # served to a team: nobody sees a figure before signing in
        st.title("seqledger")
        st.info("Sign in with your organisation's account to see the dashboards.",
                icon=":material/lock:")
        st.button("Sign in", on_click=st.login, type="primary")
        return False
    with st.sidebar:
        if auth.required():
            st.caption(f"Signed in as **{auth.who()}**")
            st.button("Sign out", on_click=st.logout)
        st.caption(f"Lake: `{data.lake_uri()}`")
        if st.button("Refresh", icon=":material/refresh:", help="Read the lake again now"):
            data.refresh()
    check = data.lake_check()
    if not check.usable:  # missing, a file, unreachable: an error naming the path and the fix
        st.error(check.message(), icon=":material/error:")
        return False
    if check.state is LakeState.EMPTY:  # there, nothing written yet: say how to fill it
        st.info(check.message(), icon=":material/inbox:")
        return False
    data.start_page()
    # Filled by footer(): a view is made when a query first reads it, so which files were left
    # out is known once the page's queries ran.
    st.session_state[_SKIPPED_AT] = st.container()
    filters.install()
    return True


def footer() -> None:
    # Above the page: the lake files its queries (and earlier ones) left out, unreadable.
    top = st.session_state.pop(_SKIPPED_AT, None)
    for line in data.skipped_files():
        (top or st).warning(line, icon=":material/warning:")
    # What the figures cost to compute: on Athena, bytes scanned and their price per query.
    st.caption(data.footer())
