"""DuckDB SQL to Athena (Trino) SQL: the one place where the two dialects' differences live.

seqledger's SQL (``analytics/sql``, the typed queries) is written once, in DuckDB's dialect.
Athena gets it transpiled by sqlglot, which knows what differs (e.g. DuckDB's ``date_diff``
counts boundaries where Trino's counts whole units). Query parameters (``?``) are bound here as
SQL literals, so the text Athena runs is the text we log and price.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from analytics.engine import QueryError

if TYPE_CHECKING:
    from sqlglot import exp


def _literal(value: Any) -> exp.Expression:
    from sqlglot import exp

    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # the lake's times are UTC; Athena's timestamps carry no zone
            value = value.astimezone(UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise QueryError(f"cannot bind a {type(value).__name__} as a query parameter")


def parse_duckdb(sql: str, params: Sequence[Any] = ()) -> exp.Expression:
    """Parse one DuckDB statement and bind its ``?`` parameters, in order, as literals."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    try:
        # Number the ``?`` in the order they are written (a tree walk need not meet them so).
        tokens = sqlglot.tokenize(sql, read="duckdb")
        marks = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER]
        if len(marks) != len(params):
            raise QueryError(
                f"the query has {len(marks)} parameter(s) but {len(params)} were given")
        numbered = sql
        for i, mark in reversed(list(enumerate(marks, start=1))):
            numbered = f"{numbered[: mark.start]}${i}{numbered[mark.end + 1 :]}"
        tree = sqlglot.parse_one(numbered, read="duckdb")
    except SqlglotError as e:
        raise QueryError(f"query failed: {e}") from e
    for hole in list(tree.find_all(exp.Placeholder)):
        hole.replace(_literal(params[int(hole.name) - 1]))
    return tree


def to_trino(sql: str, params: Sequence[Any] = ()) -> str:
    """The Athena (Trino) text of a DuckDB query, parameters bound, comments dropped."""
    return _for_trino(parse_duckdb(sql, params)).sql(dialect="trino", comments=False)


def _for_trino(tree: exp.Expression) -> exp.Expression:
    """What sqlglot leaves as DuckDB wrote it and Trino would refuse.

    ``regexp_replace(s, p, r, 'g')``: DuckDB replaces every match only with the ``'g'`` flag;
    Trino always replaces every match and takes no flags (the way back, sqlglot adds ``'g'``).
    ``quantile_cont``: sqlglot writes ``percentile_cont(x, q)``, which Trino does not have.
    """
    from sqlglot import exp

    for node in list(tree.find_all(exp.RegexpReplace)):
        flags = node.args.get("modifiers")
        if flags is None:
            continue
        if not (flags.is_string and flags.name == "g"):
            raise QueryError(f"regexp_replace flags {flags.sql()} have no Athena equivalent")
        node.set("modifiers", None)
    # ``quantile_cont(x, q)``: Trino has no exact percentile; ``approx_percentile`` is its own.
    for node in list(tree.find_all(exp.PercentileCont)):
        node.replace(exp.ApproxQuantile(this=node.this, quantile=node.expression))
    return tree


def from_trino(sql: str) -> str:
    """Trino text back in DuckDB's dialect (what the contract test runs to compare answers)."""
    import sqlglot

    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]
