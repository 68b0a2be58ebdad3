"""``seqledger lake …``: list tables, run SQL, compact partitions."""

from __future__ import annotations

import click

from seqledger.cli import Groups, handle_errors, settings_for_reading
from seqledger.params import LIMIT, MONTH, TABLE, TEXT


def register(groups: Groups) -> None:
    groups.lake.add_command(tables)
    groups.lake.add_command(query)
    groups.lake.add_command(compact)


@click.command()
@click.option("--markdown", is_flag=True, help="Print every table's columns as Markdown.")
@click.pass_context
@handle_errors
def tables(ctx: click.Context, markdown: bool) -> None:
    """List the lake's tables with their row and file counts."""
    from lake.docs import tables_markdown
    from lake.schemas import TABLES
    from lake.store import LakeStore

    if markdown:
        click.echo(tables_markdown())
        return
    from analytics.engine import connect

    store = LakeStore(settings_for_reading(ctx))
    con = connect(store.settings, store)  # counts in DuckDB: no table is loaded into memory
    click.echo(f"lake: {store.settings.lake_uri}")
    for name in TABLES:
        files = store.files(name)
        rows = con.sql(f"SELECT count(*) FROM {name}").fetchone()[0] if files else 0
        click.echo(f"  {name:<22} {rows:>11,} rows  {len(files):>5} files")


@click.command()
@click.argument("sql", type=TEXT)
@click.option("--limit", type=LIMIT, default=200, show_default=True, help="Rows to print at most.")
@click.pass_context
@handle_errors
def query(ctx: click.Context, sql: str, limit: int) -> None:
    """Run SQL over the lake's tables and views with DuckDB and print the result."""
    import duckdb

    from analytics.engine import connect
    from lake.errors import TerminalError
    from seqledger.render import render_table

    con = connect(settings_for_reading(ctx))
    try:
        result = con.sql(sql)
        rows = result.fetchmany(limit) if result is not None else []
    except duckdb.Error as e:
        raise TerminalError(f"query failed: {e}") from e
    if result is not None:
        click.echo(render_table(result.columns, rows))


@click.command()
@click.option("--table", "names", type=TABLE, multiple=True,
              help="Table to compact (default: all).")
@click.option("--month", type=MONTH, default=None, help="Month YYYY-MM (default: every month).")
@click.pass_context
@handle_errors
def compact(ctx: click.Context, names: tuple[str, ...], month: str | None) -> None:
    """Rewrite each month of each table into one file of unique keys."""
    from lake.schemas import TABLES
    from lake.store import LakeStore

    store = LakeStore(settings_for_reading(ctx))
    for name in names or tuple(TABLES):
        months = sorted({f.split("/month=")[1].split("/")[0] for f in store.files(name)
                         if "/month=" in f})
        for m in [month] if month else months:
            before, after = store.compact(name, m)
            if before != after:
                click.echo(f"{name} {m}: {before} files -> {after}")
