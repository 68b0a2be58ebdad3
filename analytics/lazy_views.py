"""A DuckDB connection whose views are created the first time a statement names them.

Creating a view over the lake binds it, and binding reads the Parquet footer of every file of the
tables it reads: a connection that created every view up front paid for every file of the lake
before its first query. ``LazyConnection`` knows how to create each view (a ``Views`` registry)
and creates one, after the views it reads, just before the first statement that names it, so a
query of one table reads that table's files and no other's.

The names a statement reads come from DuckDB's own parser (``json_serialize_sql``: parsed, never
bound); a statement it cannot serialise (not a SELECT) is read by pattern, and a view the
statement still lacks when it runs (named in a string, say) is created when DuckDB reports it
missing, and the statement run again. Listing the catalog (``SHOW TABLES``, ``duckdb_views()``,
``information_schema``) creates every view first, so a listing is complete.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

Builder = Callable[["LazyConnection"], None]

# ``CREATE [OR REPLACE] [TEMP] VIEW name AS <select>``: the select is what the view reads. A
# statement replacing a view this connection can make makes it first (and its group): the
# statement's view then wins, as it did when every view was made at connect.
_CREATE_VIEW = re.compile(
    r'^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?VIEW\s+(?:main\.)?"?(\w+)"?\s+'
    r"AS\s+(.*)$", re.IGNORECASE | re.DOTALL)
# The fallback for other statements: a name after FROM, JOIN, TABLE, VIEW, DESCRIBE, SUMMARIZE.
_AFTER_KEYWORD = re.compile(
    r'\b(?:FROM|JOIN|TABLE|VIEW|DESCRIBE|SUMMARIZE)\s+(?:IF\s+EXISTS\s+)?(?:main\.)?"?'
    r"([A-Za-z_]\w*)", re.IGNORECASE)
_CATALOG = re.compile(
    r"\bSHOW\s+(?:ALL\s+)?TABLES\b|\binformation_schema\b|\bduckdb_(?:views|tables|columns)\b",
    re.IGNORECASE)
_MISSING = re.compile(r'Table with name "?([A-Za-z_]\w*)"? does not exist')


class Views:
    """How to create each view, and which are made; one per database, shared by its cursors."""

    def __init__(self) -> None:
        self._builders: dict[str, tuple[tuple[str, ...], Builder]] = {}
        self._made: set[str] = set()
        self._building: set[str] = set()
        self._lock = threading.RLock()  # a builder's own statements ensure views: reentrant
        self._parsed: dict[str, frozenset[str]] = {}
        # One line per lake file the views made so far leave out (``analytics.unreadable``).
        self.skipped: list[str] = []

    def define(self, names: Iterable[str], build: Builder) -> None:
        """``build(con)`` creates the views ``names`` (once, whichever of them is named first)."""
        group = tuple(n.lower() for n in names)
        for n in group:
            self._builders[n] = (group, build)

    @property
    def names(self) -> list[str]:
        return list(self._builders)

    def made(self) -> set[str]:
        """The views created so far."""
        return set(self._made)

    def pending(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n in self._builders and n not in self._made]

    def ensure(self, con: LazyConnection, names: Iterable[str]) -> None:
        """Create the views of ``names`` not made yet (each after the views it reads)."""
        todo = self.pending(n.lower() for n in names)
        if not todo:
            return
        with self._lock:  # two threads never create the same view
            for n in todo:
                if n in self._made or n in self._building:  # a view's SQL may name its own
                    continue
                group, build = self._builders[n]
                self._building.update(group)
                try:
                    build(con)
                    self._made.update(group)
                finally:
                    self._building.difference_update(group)

    def parsed(self, sql: str) -> frozenset[str] | None:
        with self._lock:
            return self._parsed.get(sql)

    def remember(self, sql: str, names: frozenset[str]) -> None:
        with self._lock:
            if len(self._parsed) > 4096:  # ad-hoc SQL must not grow it without bound
                self._parsed.clear()
            self._parsed[sql] = names


def _table_refs(tree: Any, out: set[str]) -> set[str]:
    """Every base-table name in a ``json_serialize_sql`` tree (CTE names among them)."""
    if isinstance(tree, dict):
        if tree.get("type") == "BASE_TABLE" and tree.get("schema_name", "") in ("", "main"):
            out.add(str(tree.get("table_name", "")).lower())
        for v in tree.values():
            _table_refs(v, out)
    elif isinstance(tree, list):
        for v in tree:
            _table_refs(v, out)
    return out


class LazyConnection:
    """A DuckDB connection (or cursor) that creates the views a statement names before running it.

    The methods that run SQL (``execute``, ``sql``, ``query``, ``table``, ``view``, ``cursor``)
    ensure views first; everything else is the DuckDB connection's own.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, views: Views) -> None:
        self._con = con
        self._views = views

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection underneath: it knows the views made so far, nothing more."""
        return self._con

    @property
    def views(self) -> Views:
        return self._views

    def ensure(self, *names: str) -> None:
        """Create these views (and those they read) now, if not yet made."""
        self._views.ensure(self, names)

    def names_in(self, sql: str) -> frozenset[str]:
        """The names ``sql`` reads that this connection can create."""
        known = self._views.parsed(sql)
        if known is not None:
            return known
        if _CATALOG.search(sql):
            found = set(self._views.names)
        else:
            create = _CREATE_VIEW.match(sql)
            found = (self._parse(create.group(2)) | {create.group(1).lower()} if create
                     else self._parse(sql))
        known_names = set(self._views.names)
        names = frozenset(n for n in found if n in known_names)
        self._views.remember(sql, names)
        return names

    def _parse(self, sql: str) -> set[str]:
        (tree,) = self._con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
        parsed = json.loads(tree)
        if parsed.get("error"):  # not a SELECT (or not SQL: DuckDB will say so when it runs)
            return {m.lower() for m in _AFTER_KEYWORD.findall(sql)}
        return _table_refs(parsed, set())

    def _run(self, sql: str, call: Callable[[], Any]) -> Any:
        import duckdb

        self._views.ensure(self, self.names_in(sql))
        while True:
            try:
                return call()
            except duckdb.CatalogException as e:
                missing = _MISSING.search(str(e))
                if missing is None or not self._views.pending([missing.group(1).lower()]):
                    raise
                self.ensure(missing.group(1))  # named where the parser cannot see it

    def execute(self, query: str, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        return self._run(query, lambda: self._con.execute(query, *args, **kwargs))

    def executemany(self, query: str, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        return self._run(query, lambda: self._con.executemany(query, *args, **kwargs))

    def sql(self, query: str, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyRelation:
        return self._run(query, lambda: self._con.sql(query, *args, **kwargs))

    def query(self, query: str, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyRelation:
        return self._run(query, lambda: self._con.query(query, *args, **kwargs))

    def table(self, name: str) -> duckdb.DuckDBPyRelation:
        self.ensure(name)
        return self._con.table(name)

    def view(self, name: str) -> duckdb.DuckDBPyRelation:
        self.ensure(name)
        return self._con.view(name)

    def cursor(self) -> LazyConnection:
        """A cursor for another thread: same database, same views, made once for all."""
        return LazyConnection(self._con.cursor(), self._views)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> LazyConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)
