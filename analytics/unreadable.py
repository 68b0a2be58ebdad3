"""Views that skip a lake file DuckDB cannot read, with a warning naming it.

One corrupt or truncated Parquet file must not make every query fail. DuckDB already reads the
footer of every file when a view over the lake is bound (``union_by_name``), so the check costs
nothing extra: when creating a view fails on a file of the lake, the view is created again over
every other file, and the file is named in an ``UnreadableFileWarning``. Views are made when a
query first names them (``analytics.lazy_views``), so a file is named by the first query that
reads its table, and never by one that does not.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

# DuckDB names the file in quotes: 'x.parquet' (magic bytes, too small) or "x" (I/O errors).
_NAMED_FILE = re.compile(r"""['"]([^'"]+\.parquet)['"]""")


class UnreadableFileWarning(UserWarning):
    """A lake file that could not be read was left out of the views."""


def named_file(error: Exception, files: Sequence[str]) -> str | None:
    """The file of ``files`` a DuckDB error names, if it names one."""
    for match in _NAMED_FILE.finditer(str(error)):
        named = match.group(1)
        for f in files:
            if f == named or named.endswith(f) or f.endswith(named):
                return f
    return None


def create_view_skipping_unreadable(
    con: duckdb.DuckDBPyConnection,
    create_sql: Callable[[str | None], str],
    glob: str,
    list_files: Callable[[], list[str]],
) -> list[str]:
    """Run ``create_sql(source)`` over ``glob``, or over every readable file; returns the warnings'
    messages, one per file skipped.

    ``create_sql`` gets a ``read_parquet`` file argument (a quoted glob or list), or ``None``
    when no readable file is left; ``list_files`` gives the files as DuckDB names them.
    """
    import duckdb

    from analytics.engine import sql_string  # engine calls this module: import late

    source: str | None = sql_string(glob)
    skipped: list[str] = []  # the warnings' messages
    files: list[str] | None = None
    while True:
        try:
            con.execute(create_sql(source))
            return skipped
        except duckdb.Error as e:
            files = list_files() if files is None else files
            bad = named_file(e, files)
            if bad is None:
                raise
            reason = _NAMED_FILE.sub("", str(e).strip().splitlines()[0]).strip(" :")
            message = (f"skipped the unreadable file {bad} ({reason}); the rest of the lake is "
                       "read. Move the file aside (or restore it) to silence this")
            warnings.warn(UnreadableFileWarning(message), stacklevel=2)
            skipped.append(message)
            files = [f for f in files if f != bad]
            source = "[" + ", ".join(sql_string(f) for f in files) + "]" if files else None
