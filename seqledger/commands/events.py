"""``seqledger ingest event FILE…``: process event files exactly as the Lambda handlers would."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from seqledger.cli import Groups, handle_errors, settings_from


def register(groups: Groups) -> None:
    groups.ingest.add_command(event)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-follow", is_flag=True,
              help="Do not run dispatched jobs to completion on the simulated or local executor.")
@click.pass_context
@handle_errors
def event(ctx: click.Context, files: tuple[Path, ...], no_follow: bool) -> None:
    """Process S3 object-created and Batch job-state event files (any AWS envelope).

    The files are one batch, as one Lambda invocation: arrivals are recorded and complete samples
    dispatched; job-state changes are tracked and retried by policy. Files that cannot be read are
    quarantined and named on stderr (exit status 1); the others are processed all the same.
    With the simulated or local executor, dispatched jobs are followed to the end.
    """
    from ingest.assembly import build_event_service

    settings = settings_from(ctx)
    service = build_event_service(settings)
    payloads = []
    for path in (p.resolve() for p in files):  # one name per file, from whatever folder
        try:
            payloads.append((str(path), path.read_bytes()))
        except OSError as e:
            payloads.append((str(path), b""))
            click.secho(f"{path}: cannot read: {e}", fg="red", err=True)
    out = service.process(payloads)
    quarantined = list(out.quarantine)
    executor = service.runner.executor
    followed = 0
    if not no_follow and hasattr(executor, "next_event_at"):
        while (at := executor.next_event_at()) is not None:
            events = executor.advance(at + timedelta(minutes=30))
            followed += len(events)
            more = service.process([(f"batch:{e['id']}", e) for e in events], now=at)
            quarantined += more.quarantine
    click.echo(f"payloads {out.payloads}, objects {out.objects}, new arrivals "
               f"{out.arrivals_written}, job-state changes {out.job_changes}")
    for d in out.dispatched:
        state = "dispatched" if d.dispatched else f"not dispatched ({d.reason or d.error})"
        click.echo(f"  run {d.run_id}: {state}")
    if followed:
        click.echo(f"followed {followed} job-state events from the {settings.executor} executor")
    for s in out.skipped:
        click.echo(f"  skipped {s.where}: {s.event_name} ({s.reason})")
    for q in quarantined:
        where = f"{q['source']}:{q['line']}" if q.get("line") else q["source"]
        click.secho(f"quarantined {where}: {q['reason']}", fg="yellow", err=True)
    click.echo(f"lake: {settings.lake_uri}")
    if quarantined:
        ctx.exit(1)
