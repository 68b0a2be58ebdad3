"""``seqledger infra athena-views [--check]``: the lake's views in the Glue catalog, for Athena.

The deduplicating view of every table and every view in ``analytics/sql``, from the same SQL
DuckDB runs (transpiled by ``analytics.dialect``). Run it after deploying the stack
(docs/deploy-aws.md) and after every release that changes a view.
"""

from __future__ import annotations

import click

from seqledger.cli import Groups, handle_errors, settings_from


def register(groups: Groups) -> None:
    groups.infra.add_command(athena_views)


@click.command("athena-views")
@click.option("--check", is_flag=True,
              help="Change nothing: exit 1 naming each view that is missing or differs.")
@click.option("--database", default=None,
              help="Glue database (default: SEQLEDGER_GLUE_DATABASE, else seqledger).")
@click.option("--sql", "print_sql", is_flag=True,
              help="Only print the CREATE OR REPLACE VIEW statements (to run in Athena).")
@click.pass_context
@handle_errors
def athena_views(ctx: click.Context, check: bool, database: str | None, print_sql: bool) -> None:
    """Create or update the lake's views in the Glue catalog (Athena views), or --check them.

    Needs the stack's Glue tables (raw_<table>) and credentials that may write the database.
    """
    from analytics import athena

    database = database or settings_from(ctx).athena_database
    if print_sql:
        from analytics.dialect import to_trino

        for name, sql in athena.view_definitions().items():
            click.echo(f"CREATE OR REPLACE VIEW {name} AS\n{to_trino(sql)};\n")
        return
    inputs = athena.view_inputs(database)
    if check:
        drift = athena.describe_view_drift(inputs, athena.read_views(database))
        for line in drift:
            click.echo(f"drift: {line}")
        if drift:
            click.echo(f"{len(drift)} difference(s) in Glue database {database}: run "
                       "`seqledger infra athena-views` to bring the views up to date", err=True)
            ctx.exit(1)
        click.echo(f"Glue database {database}: {len(inputs)} views up to date")
        return
    written = athena.put_views(database, inputs)
    for name in written:
        click.echo(f"wrote view {database}.{name}")
    click.echo(f"Glue database {database}: {len(inputs)} views, {len(written)} written")
