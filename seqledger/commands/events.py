"""``seqledger ingest event FILE…``: process event files exactly as the Lambda handlers would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from seqledger.cli import Groups, handle_errors, settings_from


def register(groups: Groups) -> None:
    groups.ingest.add_command(event)


@click.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-follow", is_flag=True,
              help="Do not run dispatched jobs to completion on the simulated or local executor.")
@click.pass_context
@handle_errors
def event(ctx: click.Context, files: tuple[Path, ...], no_follow: bool) -> None:
    """Process S3 object-created and Batch job-state event files (any AWS envelope).

    The files are processed in batches of 20,000, each as one Lambda invocation (a batch of
    Batch job-state events is read and tracked as columns): arrivals are recorded and complete
    samples dispatched; job-state changes are tracked and retried by policy. With the simulated
    or local executor, dispatched jobs are followed to the end. With the simulated executor
    every row is on the events' own clock: a run is dispatched when its last input arrived, and
    the simulated jobs start from the time of the files' latest event.

    Exit status: 0 when everything was handled (non-inputs such as checksums and READMEs are
    recorded as such); 1 when some input could not be processed (an unreadable or malformed event
    file, an input that cannot be one, a refused dispatch: the others are processed all the
    same); 75 when a transient error (throttling, a storage outage) left part of the work undone:
    run the same files again later, nothing is done twice; 2 for usage errors, such as a file that
    does not exist or a setting that cannot work (nothing is processed).
    """
    from ingest.assembly import build_event_service
    from ingest.service import batch_time
    from ingest.summary import EventSummary
    from lake.errors import ConfigError
    from pipeline_runner.service import recent_months

    settings = settings_from(ctx)
    summary = EventSummary()
    paths = [p.resolve() for p in files]  # one name per file, from whatever folder
    chunks = [paths[i:i + FILES_PER_BATCH] for i in range(0, len(paths), FILES_PER_BATCH)]
    # One clock: the simulator starts at the files' own latest time, and so do the rows it
    # causes (read chunk by chunk, as they are processed: memory holds one chunk).
    now = None
    if settings.executor == "simulated":
        now = max((t for c in chunks if (t := batch_time(_read(c, None))) is not None),
                  default=None)
    try:
        service = build_event_service(settings, now=now)
    except ConfigError as e:  # a setting that cannot work (SEQLEDGER_INPUT_LAYOUT, …): usage
        raise click.UsageError(str(e)) from e
    service.event_clock = settings.executor == "simulated"
    executor = service.runner.executor
    follow = not no_follow and hasattr(executor, "next_event_at")
    if follow:  # first the jobs a killed earlier run of this command left (before new ones
        # take the DRAGEN server's slot): adopted, or failed and retried
        service.runner.resume_lost_jobs(recent_months(now or datetime.now(UTC)))
    for chunk in chunks:
        summary.add(service.process(_read(chunk, summary), now=now))
        service.forget_finished()  # memory holds the open runs, not all the month's
    if follow:
        while (at := executor.next_event_at()) is not None:
            events = executor.advance(at + timedelta(minutes=30))
            summary.add(service.process([(f"batch:{e['id']}", e) for e in events], now=at),
                        followed=True)
    for line in summary.lines():
        click.echo(line)
    for problem in summary.problems:
        click.secho(f"not processed: {problem}", fg="yellow", err=True)
    click.echo(f"lake: {settings.lake_uri}")
    ctx.exit(summary.exit_code)


# Files per batch: memory holds one batch's payloads and rows, whatever the number of files.
FILES_PER_BATCH = 20_000


def _read(paths: list[Path], summary) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file; one that cannot be read is named in ``summary`` (if given)."""
    payloads = []
    for path in paths:
        try:
            payloads.append((str(path), path.read_bytes()))
        except OSError as e:  # exists but cannot be read: named, not quarantined as "not JSON"
            if summary is not None:
                summary.unreadable(str(path), e.strerror or str(e))
    return payloads
