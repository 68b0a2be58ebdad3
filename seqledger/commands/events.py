"""``seqledger ingest event FILE|FOLDER…``: process event files exactly as the Lambda handlers
would, in one process or several (``ingest.parallel``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.progress import progress_bar

# Processes by default: what this machine's cores give, measured (benchmarks/README.md).
MAX_JOBS = 2


def register(groups: Groups) -> None:
    groups.ingest.add_command(event)


@click.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--no-follow", is_flag=True,
              help="Do not run dispatched jobs to completion on the simulated or local executor.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes sharing the work (default: the machine's cores, at most "
                   f"{MAX_JOBS}, for 1,000 files or more); 1 processes everything here.")
@click.option("--progress/--no-progress", default=None,
              help="Show the files processed and their rate on stderr (default: when stderr is "
                   "a terminal).")
@click.pass_context
@handle_errors
def event(ctx: click.Context, files: tuple[Path, ...], no_follow: bool,
          jobs: int | None, progress: bool | None) -> None:
    """Process S3 object-created and Batch job-state event files (any AWS envelope).

    FILES are event files or folders of them: a folder is read whole (its sub-folders too,
    files in name order; names starting with "." are skipped), so a month of events is one
    argument. They are processed in batches of 20,000, each as one Lambda invocation (a batch
    of Batch job-state events is read and tracked as columns): arrivals are recorded and
    complete samples dispatched; job-state changes are tracked and retried by policy. With the
    simulated or local executor, dispatched jobs are followed to the end. With the simulated
    executor every row is on the events' own clock: a run is dispatched when its last input
    arrived, and the simulated jobs start from the time of the files' latest event.

    With --jobs 2 or more, each batch is shared by as many processes, a run's events always in
    the same one (ingest.parallel): the same rows, report and exit status as --jobs 1. Following
    the jobs of the simulated or local executor needs them in one process: without --no-follow
    there, the files are processed with --jobs 1.

    Exit status: 0 when everything was handled (non-inputs such as checksums and READMEs are
    recorded as such); 1 when some input could not be processed (an unreadable or malformed event
    file, an input that cannot be one, a refused dispatch: the others are processed all the
    same); 75 when a transient error (throttling, a storage outage) left part of the work undone:
    run the same files again later, nothing is done twice; 2 for usage errors, such as a file that
    does not exist or a setting that cannot work (nothing is processed).
    """
    from ingest.assembly import build_event_service
    from ingest.parallel import WorkerDied, WorkerPool, latest_time, route
    from ingest.summary import EventSummary
    from lake.errors import ConfigError
    from pipeline_runner.service import recent_months

    settings = settings_from(ctx)
    summary = EventSummary()
    roots = [p.resolve() for p in files]  # one name per file, from whatever folder
    in_process = settings.executor in ("simulated", "local")
    follow = not no_follow and in_process
    # the executor's jobs live in the process that submitted them: followed there
    workers = 1 if follow else (jobs or default_jobs())
    if jobs is None and workers > 1 and len(next(_chunks(roots), [])) < FORK_FROM:
        workers = 1  # a few files: forking and importing in the workers would cost more
    # One clock: the simulator starts at the files' own latest time, and so do the rows it
    # causes (read chunk by chunk, as they are processed: memory holds one chunk).
    now = None
    if settings.executor == "simulated":
        now = latest_time(_chunks(roots), _read_quietly, workers)
    try:
        service = build_event_service(settings, now=now)
    except ConfigError as e:  # a setting that cannot work (SEQLEDGER_INPUT_LAYOUT, …): usage
        raise click.UsageError(str(e)) from e
    service.event_clock = settings.executor == "simulated"
    executor = service.runner.executor
    follow = follow and hasattr(executor, "next_event_at")
    if follow:  # first the jobs a killed earlier run of this command left (before new ones
        # take the DRAGEN server's slot): adopted, or failed and retried
        service.runner.resume_lost_jobs(recent_months(now or datetime.now(UTC)))
    with progress_bar(progress, " files", "events") as advance:
        if workers == 1:
            for chunk in _chunks(roots):
                summary.add(service.process(_read(chunk, summary), now=now))
                service.forget_finished()  # memory holds the open runs, not all the month's
                advance(len(chunk))
        else:
            try:
                with WorkerPool(service, workers) as pool:
                    chunks = _chunks(roots)
                    ahead = [_read(c, summary) for c in _first(chunks)]
                    while ahead:
                        batch = ahead.pop()
                        for part in pool.process(route(batch, workers), now, lambda: ahead.extend(
                                _read(c, summary) for c in _first(chunks))):
                            summary.merge(part)
                        advance(len(batch))
            except WorkerDied as e:  # as if this process had been killed: the same status
                click.secho(f"Error: {e}", fg="red", err=True)
                ctx.exit(e.status)
    if follow:
        while (at := executor.next_event_at()) is not None:
            events = executor.advance(at + timedelta(minutes=30))
            summary.add(service.process([(f"batch:{e['id']}", e) for e in events], now=at),
                        followed=True)
    for line in summary.lines():
        click.echo(line)
    for problem in sorted(summary.problems):
        click.secho(f"not processed: {problem}", fg="yellow", err=True)
    if not summary.payloads and not summary.problems:  # an empty inbox is no error, but said
        click.secho(f"no event files in {', '.join(map(str, files))} (names starting with "
                    "\".\" are skipped)", fg="yellow", err=True)
    click.echo(f"lake: {settings.lake_uri}")
    ctx.exit(summary.exit_code)


# Files per batch: memory holds one batch's payloads and rows, whatever the number of files.
FILES_PER_BATCH = 20_000
# Fewer files than this are processed in one process unless --jobs says otherwise.
FORK_FROM = 1_000


def default_jobs() -> int:
    """The cores this process may use (its affinity, where the system has one), at most
    MAX_JOBS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_JOBS, cores or 1))


def _files(roots: list[Path]) -> Iterator[str]:
    """The files named, and those in the folders named (recursively, in name order, skipping
    names that start with "."), one at a time: a month's names are never all in memory."""
    for root in roots:
        if not root.is_dir():
            yield str(root)
            continue
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if not name.startswith("."):
                    yield os.path.join(folder, name)


def _chunks(roots: list[Path]) -> Iterator[list[str]]:
    """The files in batches of FILES_PER_BATCH."""
    chunk: list[str] = []
    for path in _files(roots):
        chunk.append(path)
        if len(chunk) == FILES_PER_BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _first(chunks: Iterator[list[str]]) -> list[list[str]]:
    """The next chunk, if any (as a list of zero or one)."""
    return [c for c in [next(chunks, None)] if c is not None]


def _read(paths: list[str], summary) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file; one that cannot be read is named in ``summary`` (if given)."""
    payloads = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                payloads.append((path, f.read()))
        except OSError as e:  # exists but cannot be read: named, not quarantined as "not JSON"
            if summary is not None:
                summary.unreadable(path, e.strerror or str(e))
    return payloads


def _read_quietly(paths: list[str]) -> list[tuple[str, bytes]]:
    return _read(paths, None)
