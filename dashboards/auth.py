"""Who is signed in, when the app is served behind the center's identity provider.

``seqledger dashboard --address …`` writes Streamlit's ``[auth]`` secrets when the
``SEQLEDGER_OIDC_*`` settings are set; the app then requires ``st.login`` before any page runs.
On 127.0.0.1 without those settings there is no sign-in (the machine's user is the reader).
"""

from __future__ import annotations

import streamlit as st


def required() -> bool:
    """Whether an ``[auth]`` section is configured in the app's secrets."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, OSError):  # no secrets file at all
        return False


def signed_in() -> bool:
    return bool(st.user.is_logged_in)


def who() -> str:
    """The signed-in person as the identity provider names them: e-mail, else name, else id."""
    for claim in ("email", "name", "preferred_username", "sub"):
        value = st.user.get(claim)
        if value:
            return str(value)
    return "an unnamed account"
