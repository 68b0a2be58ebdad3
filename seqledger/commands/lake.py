"""``seqledger lake …``: list tables, run SQL, compact partitions, refresh the rollups."""

from __future__ import annotations

import click

from seqledger.cli import (
    EXIT_TEMPFAIL,
    Groups,
    handle_errors,
    settings_for_reading,
    settings_from,
)
from seqledger.params import LIMIT, MONTH, TABLE, TEXT
from seqledger.querying import verbose_option


def register(groups: Groups) -> None:
    groups.lake.add_command(tables)
    groups.lake.add_command(query)
    groups.lake.add_command(compact)
    groups.lake.add_command(rollup)


@click.command()
@click.option("--markdown", is_flag=True, help="Print every table's columns as Markdown.")
@verbose_option
@click.pass_context
@handle_errors
def tables(ctx: click.Context, markdown: bool) -> None:
    """List the lake's tables with their row and file counts.

    Rows are counted by the engine SEQLEDGER_QUERY_ENGINE names (on Athena, one query over the
    deduplicated views); files by listing the lake, when it is readable from here.
    """
    from lake.docs import tables_markdown
    from lake.schemas import TABLES
    from lake.store import LakeStore

    if markdown:
        click.echo(tables_markdown())
        return
    settings = settings_from(ctx)
    if settings.query_engine == "athena":
        _athena_tables(ctx)
        return
    from analytics.engine import connect

    store = LakeStore(settings_for_reading(ctx))
    con = connect(store.settings, store)  # counts in DuckDB: no table is loaded into memory
    click.echo(f"lake: {store.settings.lake_uri}")
    for name in TABLES:
        files = store.files(name)
        rows = con.sql(f"SELECT count(*) FROM {name}").fetchone()[0] if files else 0
        click.echo(f"  {name:<26} {rows:>11,} rows  {len(files):>5} files")


def _athena_tables(ctx: click.Context) -> None:
    """Row counts from Athena in one query; file counts from the lake when it can be listed."""
    from lake.location import LakeState, lake_state
    from lake.schemas import TABLES
    from lake.store import LakeStore
    from seqledger.querying import open_engine_for

    settings = settings_from(ctx)
    counts = {r["name"]: int(r["n"]) for r in open_engine_for(ctx).rows(" UNION ALL ".join(
        f"SELECT '{name}' AS name, count(*) AS n FROM {name}" for name in TABLES))}
    check = lake_state(settings)
    store = LakeStore(settings) if check.state is LakeState.HAS_DATA else None
    click.echo(f"lake: Glue database {settings.athena_database} on Athena "
               f"(workgroup {settings.athena_workgroup})")
    for name in TABLES:
        files = f"{len(store.files(name)):>5} files" if store else "    - files"
        click.echo(f"  {name:<26} {counts.get(name, 0):>11,} rows  {files}")
    if store is None:
        click.echo(f"files not counted: {check.message()}", err=True)


@click.command()
@click.argument("sql", type=TEXT)
@click.option("--limit", type=LIMIT, default=200, show_default=True, help="Rows to print at most.")
@verbose_option
@click.pass_context
@handle_errors
def query(ctx: click.Context, sql: str, limit: int) -> None:
    """Run SQL over the lake's tables and views and print the result.

    DuckDB's dialect, on the engine SEQLEDGER_QUERY_ENGINE names (duckdb, or athena: then the
    SQL is transpiled to Athena's).
    """
    from seqledger.querying import open_engine_for
    from seqledger.render import render_table

    result = open_engine_for(ctx).table(sql, limit=limit)
    click.echo(render_table(result.column_names, [tuple(r.values()) for r in result.to_pylist()]))


@click.command()
@click.option("--table", "names", type=TABLE, multiple=True,
              help="Table to compact (default: all).")
@click.option("--month", type=MONTH, default=None, help="Month YYYY-MM (default: every month).")
@click.option("--wait", "wait_s", default=60.0, show_default=True,
              help="Seconds to wait for a partition another process is compacting.")
@click.pass_context
@handle_errors
def compact(ctx: click.Context, names: tuple[str, ...], month: str | None, wait_s: float) -> None:
    """Rewrite each month of each table into one file of unique keys, then refresh the rollups.

    Compaction renames the fact files the rollups were computed from, so the rollups of the
    months it touched (and of the months beside them) are recomputed at once. A partition that
    another process keeps compacting longer than --wait is skipped with a message (exit status
    75, EX_TEMPFAIL: run again later); the others are compacted.
    """
    from analytics.rollups import BY_TABLE
    from lake.errors import LockBusy
    from lake.schemas import TABLES
    from lake.store import LakeStore

    _check_month(month)
    store = LakeStore(settings_for_reading(ctx))
    skipped = 0
    for name in names or tuple(n for n in TABLES if n not in BY_TABLE):
        months = sorted({f.split("/month=")[1].split("/")[0] for f in store.files(name)
                         if "/month=" in f})
        for m in [month] if month else months:
            try:
                before, after = store.compact(name, m, wait_s=wait_s)
            except LockBusy as e:
                click.secho(f"skipped {e}", fg="yellow", err=True)
                skipped += 1
                continue
            if before != after:
                click.echo(f"{name} {m}: {before} files -> {after}")
    _refresh_stale(store)
    if skipped:
        ctx.exit(EXIT_TEMPFAIL)


@click.command()
@click.option("--month", "months", multiple=True, help="Month YYYY-MM (default: every month).")
@click.option("--stale", is_flag=True, help="Only the months whose facts changed since.")
@click.pass_context
@handle_errors
def rollup(ctx: click.Context, months: tuple[str, ...], stale: bool) -> None:
    """Recompute the rollups (runs, attempts, costs, QC verdicts and metrics, billed) from facts.

    Each month is replaced whole; recomputing a month whose facts did not change writes nothing.
    Reports read current months from the rollups and compute the others from the facts.
    """
    from lake.store import LakeStore

    for m in months:
        _check_month(m)
    store = LakeStore(settings_from(ctx))
    if stale:
        _refresh_stale(store)
    else:
        _refresh(store, list(months) or None)


def _refresh_stale(store) -> None:
    from analytics.engine import connect
    from analytics.rollups import stale_months

    todo = stale_months(connect(store.settings, store), store)
    if todo:
        _refresh(store, todo)
    else:
        click.echo("every rollup month is current")


def _refresh(store, months: list[str] | dict[str, list[str]] | None) -> None:
    from analytics.engine import connect
    from analytics.rollups import refresh

    def progress(step: str) -> None:  # a month of a rollup takes seconds at the center's scale
        click.echo(f"  rolled up {step}", err=True)

    done = refresh(connect(store.settings, store), store, months, progress=progress)
    per_table: dict[str, tuple[int, int]] = {}
    for key, rows in done.items():
        name = key.split("/")[0]
        n, r = per_table.get(name, (0, 0))
        per_table[name] = (n + 1, r + rows)
    for name, (n, rows) in per_table.items():
        click.echo(f"{name}: {n} month(s), {rows:,} rows")


def _check_month(month: str | None) -> None:
    from lake.errors import ConfigError

    if month is not None and (
        len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit()
    ):
        raise ConfigError(f"--month {month!r}: expected YYYY-MM, e.g. 2026-03")
