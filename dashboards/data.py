"""The dashboard's only road to the lake: cached calls of ``analytics.queries``.

Pages call the typed functions below. One query engine per lake (``analytics.engine.open_engine``:
DuckDB, or Athena with ``SEQLEDGER_QUERY_ENGINE=athena``) is kept in ``st.cache_resource`` with a
lock: Streamlit serves sessions from several threads, and a DuckDB cursor would not see the empty
tables ``analytics.engine.connect`` registers on its own connection. Each result is kept in
``st.cache_data`` keyed by the lake and its fingerprint (``lake.fingerprint``: folder times on a
local lake, one listing on S3), computed once per page load: new files show on the next load,
and ``TTL_S`` is only a backstop (``refresh()`` forgets everything at once). What each query
cost (time; on Athena bytes scanned and price) is collected for the page's footer (``footer()``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import streamlit as st

from analytics import queries
from analytics.engine import Engine, QueryStats, describe_queries, open_engine
from lake.errors import SeqledgerError
from lake.fingerprint import fingerprint
from lake.location import LakeCheck, lake_state
from lake.settings import Settings

# A backstop: results are keyed on the lake's fingerprint, so a change shows at the next page load.
TTL_S = 600
CONNECTION_TTL_S = 600
# Whether the lake is there: cheap to ask, and a lake that disappears should say so soon.
CHECK_TTL_S = 5
_STATS = "seqledger_query_stats"
_PRINT = "seqledger_lake_fingerprint"


class LakeUnavailable(Exception):
    """The lake could not be read (missing credentials, unreachable S3, a broken file)."""


def settings() -> Settings:
    return Settings.from_env()


def lake_uri() -> str:
    return settings().lake_uri


def lake_check() -> LakeCheck:
    """Whether the lake is there: has data, is empty, is missing, is a file, is unreachable."""
    return _lake_check(lake_uri())


@st.cache_data(ttl=CHECK_TTL_S, show_spinner=False)
def _lake_check(uri: str) -> LakeCheck:
    return lake_state(settings())


@dataclass(frozen=True)
class _Lake:
    engine: Engine
    lock: threading.Lock

    @property
    def skipped(self) -> tuple[str, ...]:
        """Files left out because they could not be read, by the views made so far (a view is
        made when a query first reads it: ``analytics.lazy_views``)."""
        return tuple(getattr(self.engine, "skipped", ()))


# One connection per fingerprint: its views list the files as they were; the previous one goes.
@st.cache_resource(ttl=CONNECTION_TTL_S, max_entries=2, show_spinner=False)
def _connection(uri: str, engine: str, lake_print: str) -> _Lake:
    return _Lake(open_engine(settings()), threading.Lock())


def skipped_files() -> tuple[str, ...]:
    """One line per lake file the views read so far leave out because it could not be read."""
    s = settings()
    try:
        return _connection(s.lake_uri, s.query_engine, lake_fingerprint()).skipped
    except (SeqledgerError, OSError):
        return ()  # the page that reads will say what is wrong


@st.cache_data(ttl=TTL_S, max_entries=500, show_spinner="Reading the lake…")
def _cached(uri: str, engine: str, lake_print: str, name: str, args: tuple[Any, ...]
            ) -> tuple[Any, list[QueryStats]]:
    try:
        lake = _connection(uri, engine, lake_print)
        with lake.lock:
            before = len(lake.engine.stats)
            module, _, fn = name.rpartition(".")
            result = getattr(importlib.import_module(f"analytics.{module or 'queries'}"), fn)(
                lake.engine, *args)
            return result, lake.engine.stats[before:]
    except (SeqledgerError, OSError) as e:
        raise LakeUnavailable(f"could not read the lake at {uri}: {e}") from e


def query(name: str, *args: Any) -> Any:
    """``analytics.<module>.<fn>(engine, *args)``, cached; ``name`` is ``"<module>.<fn>"``.

    Pages call this for the queries of their own analytics module, so a new page needs no new
    function here. Arguments must be hashable values (``analytics.filters.Filters`` is).
    """
    return _query(name, *args)


def later(name: str, *args: Any) -> Callable[[], Any]:
    """``query(name, *args)`` to be asked later, outside this page run (a download button's
    callable runs when clicked, where the session is not at hand): the lake as this page saw it."""
    s, lake_print = settings(), lake_fingerprint()
    return lambda: _cached(s.lake_uri, s.query_engine, lake_print, name, args)[0]


def _query(name: str, *args: Any) -> Any:
    s = settings()
    result, stats = _cached(s.lake_uri, s.query_engine, lake_fingerprint(), name, args)
    st.session_state.setdefault(_STATS, {})[(name, args)] = stats
    return result


def start_page() -> None:
    """Forget the previous page's queries and look at the lake's files again (call before the
    page runs): the page's queries read the lake as it is now."""
    st.session_state[_STATS] = {}
    st.session_state.pop(_PRINT, None)


def lake_fingerprint() -> str:
    """The lake's fingerprint, taken once per page load (``start_page`` forgets it)."""
    if _PRINT not in st.session_state:
        s = settings()
        try:
            st.session_state[_PRINT] = (_s3_fingerprint(s.lake_uri) if s.lake_is_s3
                                        else fingerprint(s))
        except OSError as e:  # unreachable: the lake check and the queries say why
            st.session_state[_PRINT] = f"unreadable: {e}"
    return st.session_state[_PRINT]


# On S3 the fingerprint is a listing (~0.1 s for the demo lake): shared by every session for a
# few seconds, so a team clicking around does not list the bucket at each click.
S3_FINGERPRINT_TTL_S = 5


@st.cache_data(ttl=S3_FINGERPRINT_TTL_S, show_spinner=False)
def _s3_fingerprint(uri: str) -> str:
    return fingerprint(settings())


def footer() -> str:
    """The queries behind the figures on this page: engine, time, bytes scanned, price."""
    stats = [q for qs in st.session_state.get(_STATS, {}).values() for q in qs]
    return f"Queries behind this page: {describe_queries(stats)}"


def refresh() -> None:
    """Forget cached results and the connection: the next read sees the lake as it is now."""
    _cached.clear()
    _connection.clear()
    _s3_fingerprint.clear()
    _lake_check.clear()


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
    return _query("releases.release_states")


def release_runs() -> list[dict[str, Any]]:
    return _query("releases.release_runs")


def validation_checks(release: str) -> pa.Table:
    return _query("releases.validation_checks", release)


def report_html(uri: str) -> bytes | None:
    """The bytes of a report the lake wrote (local or S3); None when it is gone."""
    from lake.store import read_text

    try:
        return read_text(settings(), uri).encode("utf-8")
    except (OSError, SeqledgerError):
        return None


def filter_options() -> queries.FilterOptions:
    return _query("filter_options")


def skipped_for(*tables: str) -> list[str]:
    """The unreadable files of these tables (a chart over them names what it leaves out)."""
    return [line for line in skipped_files()
            if any(f"/{t}/month=" in line for t in tables)]
