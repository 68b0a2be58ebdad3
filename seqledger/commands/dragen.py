"""``seqledger ingest dragen DIR``: load a run's DRAGEN metric files into the lake."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from seqledger.cli import Groups, handle_errors, settings_from


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


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sample-id", required=True, help="The sample the run analysed.")
@click.option("--run-id", required=True, help="The run (one analysis of the sample).")
@click.option("--run-at", default=None, metavar="ISO-TIME",
              help="When the run finished (UTC if no zone). Default: the newest metric file's "
                   "modification time.")
@click.pass_context
@handle_errors
def dragen(ctx: click.Context, folder: Path, sample_id: str, run_id: str,
           run_at: str | None) -> None:
    """Load a folder of DRAGEN outputs (metric CSVs, histograms, replay JSON) into the lake.

    Every DRAGEN metric file family is read; files that are not metrics (BAMs, logs) are
    skipped, and files or lines that cannot be read go to the quarantine table with the
    reason. Loading the same folder twice adds nothing.
    """
    from ingest.dragen.service import ingest_folder
    from lake.errors import TerminalError
    from lake.store import LakeStore
    from seqledger.render import render_table

    summary = ingest_folder(LakeStore(settings_from(ctx)), folder, sample_id=sample_id,
                            run_id=run_id, run_at=_when(run_at))
    if not summary.files_loaded and not summary.quarantined:
        seen = f"only {len(summary.files)} other file(s)" if summary.files else "it is empty"
        raise TerminalError(f"{folder}: no DRAGEN metric file to load ({seen}); give the folder "
                            "DRAGEN wrote, with files such as <sample>.mapping_metrics.csv")
    rows = [(f.name, f.family or "-", f.rows, f.problems,
             f.error or f.skipped or "") for f in summary.files]
    click.echo(render_table(["file", "family", "rows", "bad lines", "note"], rows))
    written = sum(summary.rows_written.values())
    total = sum(summary.rows.values())
    version = f", DRAGEN {summary.dragen_version}" if summary.dragen_version else ""
    click.echo(f"\nrun {run_id} (sample {sample_id}, {summary.run_at:%Y-%m-%d %H:%M:%S} UTC"
               f"{version}): {summary.files_loaded} file(s) read, {total} row(s): "
               + ", ".join(f"{n} {t}" for t, n in summary.rows.items()))
    if total and not written:
        click.echo("already loaded: the lake has these rows, nothing new was written")
    if summary.quarantined:
        click.secho(f"{summary.quarantined} quarantine row(s): see the quarantine table",
                    fg="yellow", err=True)
        ctx.exit(1)
