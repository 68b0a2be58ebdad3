"""The CLI's road to the query engine: ``open_engine_for(ctx)`` and the ``--verbose`` flag.

With ``--verbose``, a report prints after its result, on stderr, one line per query the engine
ran (time; on Athena the bytes scanned and their price) and the total.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from seqledger.cli import settings_from

if TYPE_CHECKING:
    from analytics.engine import Engine

_VERBOSE = "seqledger.verbose"


def verbose_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--verbose``: show each query's engine, time, bytes scanned and price."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        ctx.meta[_VERBOSE] = value

    return click.option(
        "--verbose", "-v", is_flag=True, expose_value=False, callback=remember,
        help="After the result, on stderr: each query's engine and time, and on Athena the "
        "bytes it scanned and its price.",
    )(fn)


def open_engine_for(ctx: click.Context) -> Engine:
    """The engine the settings name; with --verbose its queries are listed when the command ends."""
    from analytics.engine import describe_queries, describe_query, open_engine

    settings = settings_from(ctx)
    if settings.query_engine == "duckdb":  # DuckDB reads the lake itself: it must be there
        from seqledger.cli import settings_for_reading

        settings = settings_for_reading(ctx)
    engine = open_engine(settings)
    if ctx.meta.get(_VERBOSE):

        def report() -> None:
            for s in engine.stats:
                click.echo(describe_query(s), err=True)
            click.echo(f"total: {describe_queries(engine.stats)}", err=True)

        ctx.call_on_close(report)
    return engine
