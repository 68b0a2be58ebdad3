"""``seqledger ingest dragen ROOT…``: load DRAGEN run folders (one, or thousands) into the lake."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.progress import progress_bar

if TYPE_CHECKING:
    from ingest.dragen.bulk import BulkSummary
    from ingest.dragen.service import IngestSummary

RUNS_LISTED = 50  # above this, only the runs with something to say are listed


def register(groups: Groups) -> None:
    groups.ingest.add_command(dragen)


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as e:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time, e.g. 2025-03-01T12:00:00Z",
                                 param_hint="--run-at") from e
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _check_roots(roots: tuple[str, ...]) -> None:
    for root in roots:
        if not root.startswith("s3://") and not Path(root.removeprefix("file://")).is_dir():
            raise click.BadParameter(f"{root!r} is not a folder", param_hint="ROOT")


@click.command(epilog="""\b
Run ids (bulk form), in this order:
  --mapping CSV     header folder,sample_id,run_id[,run_date]; folder is the run as
                    listed (its folder under the root, plus /PREFIX when a folder
                    holds several runs), or the folder's absolute path or s3:// URI
  --id-pattern RE   named groups sample_id, run_id (and run_date) searched in the
                    same FOLDER/PREFIX text, e.g. '(?P<run_id>[^/]+)/(?P<sample_id>[^/]+)$'
  otherwise         sample: the replay's --RGSM-tumor/--RGSM, else the output prefix;
                    run: PREFIX-<12 hex of the SHA-256 of the run's metric files>
\b
Exit codes: 0 done (refused runs and bad lines are in the quarantine table);
1 a root or the mapping cannot be read, no run was found, or the single-run
folder was refused (several runs, or no date); 2 bad arguments.""")
@click.argument("roots", nargs=-1, required=True, metavar="ROOT...")
@click.option("--sample-id", default=None, help="Single-run form: the sample ROOT's run analysed.")
@click.option("--run-id", default=None, help="Single-run form: the run (one analysis of it).")
@click.option("--run-at", default=None, metavar="ISO-TIME",
              help="When the run(s) finished (UTC if no zone), for runs whose own files "
                   "(replay, time metrics) and mapping row give no date. Never the files' "
                   "modification time.")
@click.option("--mapping", default=None, metavar="CSV",
              help="A CSV (local or s3://) giving each run folder its ids; see below.")
@click.option("--id-pattern", default=None, metavar="REGEX",
              help="Ids from each run's FOLDER/PREFIX text; see below.")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Worker processes (default: one per CPU).")
@click.option("--batch-runs", type=click.IntRange(1, 100_000), default=50, show_default=True,
              help="Most runs per batch: each batch writes each table once.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar on stderr (default: when stderr is a terminal).")
@click.pass_context
@handle_errors
def dragen(ctx: click.Context, roots: tuple[str, ...], sample_id: str | None,
           run_id: str | None, run_at: str | None, mapping: str | None, id_pattern: str | None,
           workers: int | None, batch_runs: int, progress: bool | None) -> None:
    """Load DRAGEN run folders (metric CSVs, gzipped or not, histograms, replay JSON).

    Bulk form, ROOT… (folders or s3:// prefixes): every run under them is found by its files
    (the output prefix its metric files and replay share; a folder holding several runs gives
    several runs, never one), given ids (see below), and the runs the lake does not have yet
    are loaded in parallel batches. Running it again loads nothing twice.

    Single-run form, ROOT --sample-id S --run-id R: ROOT is one run's folder.

    Files that are not metrics (BAMs, logs) are skipped; files, lines and runs that cannot be
    read go to the quarantine table with the reason.
    """
    from lake.arrow_probe import lean_arrow

    _check_roots(roots)
    when = _when(run_at)
    lean_arrow()  # an ingest converts Python values: no DataFrame, no NumPy array
    if sample_id is not None or run_id is not None:
        if sample_id is None or run_id is None or len(roots) != 1 or mapping or id_pattern:
            raise click.UsageError("the single-run form is one ROOT with both --sample-id and "
                                   "--run-id (and no --mapping or --id-pattern)")
        _single(ctx, roots[0], sample_id, run_id, when)
        return
    _bulk(ctx, roots, when, mapping, id_pattern, workers, batch_runs, progress)


def _single(ctx: click.Context, folder: str, sample_id: str, run_id: str,
            run_at: datetime | None) -> None:
    from ingest.dragen.discovery import is_metric_name, list_files
    from ingest.dragen.service import ingest_folder, run_filesystem
    from lake.errors import ParseError, TerminalError
    from lake.store import LakeStore

    store = LakeStore(settings_from(ctx))
    fs, root = run_filesystem(store, folder)
    try:
        paths = list_files(fs, root)
    except ParseError:
        paths = None  # ingest_folder says what is wrong with the folder
    if paths is not None and not any(is_metric_name(p) for p in paths):
        seen = f"only {len(paths)} other file(s)" if paths else "it is empty"  # BAMs, logs
        raise TerminalError(f"{folder}: no DRAGEN metric file to load ({seen}); give the folder "
                            "DRAGEN wrote, with files such as <sample>.mapping_metrics.csv")
    summary = ingest_folder(store, folder, sample_id=sample_id, run_id=run_id, run_at=run_at)
    if summary.error is not None:  # refused: several runs in the folder, no run date, …
        raise TerminalError(f"{folder}: {summary.error}")
    _print_single(summary)
    if summary.quarantined:
        ctx.exit(1)  # an input could not be processed (README: exit codes)


def _print_single(summary: IngestSummary) -> None:
    from seqledger.render import render_table

    rows = [(f.name, f.family or "-", f.rows, f.problems,
             f.error or f.skipped or "") for f in summary.files]
    click.echo(render_table(["file", "family", "rows", "bad lines", "note"], rows))
    written = sum(summary.rows_written.values())
    total = sum(summary.rows.values())
    version = f", DRAGEN {summary.dragen_version}" if summary.dragen_version else ""
    click.echo(f"\nrun {summary.run_id} (sample {summary.sample_id}, "
               f"{summary.run_at:%Y-%m-%d %H:%M:%S} UTC{version}): {summary.files_loaded} "
               f"file(s) read, {total} row(s): "
               + ", ".join(f"{n} {t}" for t, n in summary.rows.items()))
    if total and not written:
        click.echo("already loaded: the lake has these rows, nothing new was written")
    if summary.quarantined:
        click.secho(f"{summary.quarantined} quarantine row(s): see the quarantine table",
                    fg="yellow", err=True)


def _bulk(ctx: click.Context, roots: tuple[str, ...], run_at: datetime | None,
          mapping_at: str | None, id_pattern: str | None, workers: int | None,
          batch_runs: int, progress: bool | None) -> None:
    from ingest.dragen.bulk import discover, ingest_runs, plan, refuse
    from ingest.dragen.ids import IdMapping, compile_pattern
    from lake.errors import TerminalError
    from lake.store import LakeStore, read_text

    settings = settings_from(ctx)
    pattern = None
    if id_pattern is not None:
        try:
            pattern = compile_pattern(id_pattern)
        except Exception as e:  # noqa: BLE001 - re.error or a missing group: a usage error
            raise click.BadParameter(str(e), param_hint="--id-pattern") from e
    mapping = None
    if mapping_at is not None:
        try:
            text = read_text(settings, mapping_at)
        except (OSError, UnicodeDecodeError) as e:
            raise click.BadParameter(f"cannot read {mapping_at}: {e}",
                                     param_hint="--mapping") from e
        mapping = IdMapping.from_csv(text, mapping_at)
    store = LakeStore(settings)
    found, orphans = discover(store, roots)
    if not found:
        raise TerminalError(f"no DRAGEN run found under {', '.join(roots)}: a run is the files "
                            "of a folder that share an output prefix (S1.mapping_metrics.csv, "
                            "S1-replay.json, …)")
    jobs, refused = plan(found, mapping=mapping, pattern=pattern, run_at=run_at)
    refuse(store, refused)
    with progress_bar(progress, "run", "DRAGEN runs", len(found), len(refused)) as advance:
        summary = ingest_runs(store, jobs, workers=workers, max_batch_runs=batch_runs,
                              progress=advance)
    summary.runs = sorted([*refused, *summary.runs], key=lambda r: r.label)
    summary.orphans = orphans
    _print_bulk(summary, len(roots))


def _print_bulk(summary: BulkSummary, n_roots: int) -> None:
    from seqledger.render import render_table

    listed = summary.runs if len(summary.runs) <= RUNS_LISTED else \
        [r for r in summary.runs if r.status == "refused" or r.quarantined]
    if listed:
        rows = [(r.label, r.status, r.sample_id or "", r.run_id or "",
                 f"{r.run_at:%Y-%m-%d %H:%M}" if r.run_at else "", r.dragen_version or "",
                 r.rows, r.quarantined, r.reason or "") for r in listed]
        click.echo(render_table(["run", "status", "sample", "run id", "run at (UTC)", "DRAGEN",
                                 "rows", "quarantined", "note"], rows))
        click.echo()
    loaded, skipped, refused = (summary.count(s) for s in ("loaded", "skipped", "refused"))
    click.echo(f"{len(summary.runs)} run(s) under {n_roots} root(s): {loaded} loaded, "
               f"{skipped} skipped (already loaded), {refused} refused; {summary.rows:,} row(s) "
               f"in {summary.files_written} new lake file(s)")
    if summary.quarantined:
        click.secho(f"{summary.quarantined} quarantine row(s) (refused runs, unreadable files "
                    "and lines): see the quarantine table", fg="yellow")
    if summary.orphans:
        click.secho(f"{len(summary.orphans)} metric-looking file(s) belong to no run, e.g. "
                    f"{summary.orphans[0][0]} ({summary.orphans[0][1]})", fg="yellow")
