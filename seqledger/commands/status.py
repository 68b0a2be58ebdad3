"""``seqledger status``: what is waiting and why, from the lake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from seqledger.cli import Groups, handle_errors, settings_from


def register(groups: Groups) -> None:
    groups.main.add_command(status)


@click.command()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="Count quarantined inputs from this UTC date on (default: 7 days ago).")
@click.pass_context
@handle_errors
def status(ctx: click.Context, since: datetime | None) -> None:
    """What is waiting and why: samples missing a mate (by lane), runs queued, runs retrying,
    and quarantined inputs counted by reason since a date."""
    from analytics.engine import connect
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
    con = connect(settings_from(ctx))
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


def _short(value):
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"
    if isinstance(value, str) and len(value) > 90:
        return value[:89] + "…"
    return value
