"""``seqledger status``: what is waiting and why, from the lake, and which rollup months lag.

The waiting runs and samples are queries on the engine the settings name (DuckDB or Athena).
The rollup check reads the lake's file names and the rollups' digests, so it needs the lake
itself: on Athena without a readable lake it says it was not checked, and why.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.querying import open_engine_for, verbose_option


def register(groups: Groups) -> None:
    groups.main.add_command(status)


@click.command()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="Count quarantined inputs from this UTC date on (default: 7 days ago).")
@verbose_option
@click.pass_context
@handle_errors
def status(ctx: click.Context, since: datetime | None) -> None:
    """What is waiting and why: samples missing a mate (by lane), runs queued, runs retrying,
    quarantined inputs counted by reason since a date, and rollup months behind their facts.

    Runs on the engine SEQLEDGER_QUERY_ENGINE names (duckdb or athena)."""
    from analytics.pending import (
        quarantine_by_reason,
        runs_queued,
        runs_retrying,
        samples_waiting,
    )
    from seqledger.render import render_table

    since = (since.replace(tzinfo=UTC) if since else
             datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
             - timedelta(days=7))
    con = open_engine_for(ctx)
    sections = [
        ("samples waiting for a mate", samples_waiting(con),
         ["project", "sample_id", "input_kind", "lane", "missing_mate", "r1_files", "r2_files",
          "last_arrival_at"]),
        ("runs queued (dispatched, not started)", runs_queued(con),
         ["run_id", "project", "sample_id", "input_kind", "dispatched_at"]),
        ("runs retrying", runs_retrying(con),
         ["run_id", "sample_id", "failed_attempt", "failure_kind", "next_capacity",
          "decided_at"]),
        (f"quarantined since {since:%Y-%m-%d}, by reason", quarantine_by_reason(con, since),
         ["inputs", "stage", "reason", "example"]),
    ]
    for title, table, columns in sections:
        click.echo(f"{title}: {table.num_rows}")
        if table.num_rows:
            rows = [[_short(r[c]) for c in columns] for r in table.to_pylist()]
            click.echo(render_table(columns, rows))
        click.echo("")
    _rollup_section(ctx)


def _rollup_section(ctx: click.Context) -> None:
    """Rollup months whose facts changed since they were computed (or that were never computed).

    DuckDB computes such months from the facts on the spot (slower); Athena's views read the
    rollups as stored, so its dashboards and reports lag until the rollup runs.
    """
    from analytics.engine import connect
    from analytics.rollups import stale_months
    from lake.location import LakeState, lake_state
    from lake.store import LakeStore
    from seqledger.render import render_table

    settings = settings_from(ctx)
    title = "rollup months behind their facts"
    check = lake_state(settings)
    if check.state is not LakeState.HAS_DATA:
        click.echo(f"{title}: not checked ({check.message()})")
        return
    store = LakeStore(settings)
    stale = stale_months(connect(settings, store), store)
    click.echo(f"{title}: {sum(len(m) for m in stale.values())}")
    if stale:
        lag = ("Athena reads them as stored until" if settings.query_engine == "athena"
               else "computed from the facts on every query until")
        click.echo(render_table(["rollup", "months"],
                                [[t, ", ".join(m)] for t, m in sorted(stale.items())]))
        click.echo(f"({lag} `seqledger lake rollup --stale` runs)")


def _short(value):
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"
    if isinstance(value, str) and len(value) > 90:
        return value[:89] + "…"
    return value
