"""The dashboard's only road to the lake: cached calls of ``analytics.queries``.

Pages call the typed functions below. One DuckDB connection per lake is kept in
``st.cache_resource`` with a lock: Streamlit serves sessions from several threads, and a cursor
would not see the empty tables ``analytics.engine.connect`` registers on its own connection. Each
result is kept in ``st.cache_data`` for ``TTL_S`` seconds, keyed by the lake, so new data appears
within that time (or at once with ``refresh()``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import streamlit as st

from analytics import queries, releases
from analytics.engine import connect
from lake.errors import SeqledgerError
from lake.settings import Settings

TTL_S = 30
# The connection sees tables that had no files when it was made only after it is renewed.
CONNECTION_TTL_S = 120


class LakeUnavailable(Exception):
    """The lake could not be read (missing credentials, unreachable S3, a broken file)."""


def settings() -> Settings:
    return Settings.from_env()


def lake_uri() -> str:
    return settings().lake_uri


@dataclass(frozen=True)
class _Lake:
    con: duckdb.DuckDBPyConnection
    lock: threading.Lock


@st.cache_resource(ttl=CONNECTION_TTL_S, show_spinner=False)
def _connection(uri: str) -> _Lake:
    return _Lake(connect(settings()), threading.Lock())


@st.cache_data(ttl=TTL_S, show_spinner="Reading the lake…")
def _cached(uri: str, name: str, args: tuple[Any, ...]) -> Any:
    try:
        lake = _connection(uri)
        with lake.lock:
            module, _, fn = name.rpartition(".")
            return getattr(releases if module == "releases" else queries, fn)(lake.con, *args)
    except (SeqledgerError, OSError, duckdb.Error) as e:
        raise LakeUnavailable(f"could not read the lake at {uri}: {e}") from e


def _query(name: str, *args: Any) -> Any:
    return _cached(lake_uri(), name, args)


def refresh() -> None:
    """Forget cached results and the connection: the next read sees the lake as it is now."""
    _cached.clear()
    _connection.clear()


def overview() -> queries.Overview:
    return _query("overview")


def throughput(grain: str) -> pa.Table:
    return _query("throughput", grain)


def runs_by_status() -> pa.Table:
    return _query("runs_by_status")


def failures_by_reason() -> pa.Table:
    return _query("failures_by_reason")


def attempt_failures() -> pa.Table:
    return _query("attempt_failures")


def attempts_by_capacity() -> pa.Table:
    return _query("attempts_by_capacity")


def recent_failures(limit: int = 50) -> pa.Table:
    return _query("recent_failures", limit)


def cost_by_project() -> pa.Table:
    return _query("cost_by_project")


def qc_verdict_counts() -> pa.Table:
    return _query("qc_verdict_counts")


def release_states() -> list[dict[str, Any]]:
    return _cached(lake_uri(), "releases.release_states", ())


def release_runs() -> list[dict[str, Any]]:
    return _cached(lake_uri(), "releases.release_runs", ())


def validation_checks(release: str) -> pa.Table:
    return _cached(lake_uri(), "releases.validation_checks", (release,))


def report_html(uri: str) -> bytes | None:
    """The bytes of a report the lake wrote (local or S3); None when it is gone."""
    from lake.store import read_text

    try:
        return read_text(settings(), uri).encode("utf-8")
    except (OSError, SeqledgerError):
        return None
