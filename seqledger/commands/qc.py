"""``seqledger qc …``: the per-sample QC gate over the lake."""

from __future__ import annotations

from pathlib import Path

import click

from lake.errors import TerminalError
from seqledger.cli import Groups, handle_errors, settings_for_reading


def register(groups: Groups) -> None:
    groups.main.add_command(qc)


@click.group()
def qc() -> None:
    """Quality control: gate samples on the clinical QC thresholds."""


@qc.command()
@click.option("--run-id", "run_ids", multiple=True, metavar="RUN",
              help="Gate this run (repeatable). Default: every run with QC metrics and no result.")
@click.option("--thresholds", "thresholds_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A thresholds CSV (default: expectations/thresholds/"
                                 "sample_qc_v1.csv).")
@click.pass_context
@handle_errors
def gate(ctx: click.Context, run_ids: tuple[str, ...], thresholds_path: Path | None) -> None:
    """Gate runs on the QC thresholds, record qc_results and print each run's verdict.

    Writes a readable report (HTML, with the Great Expectations result as JSON beside it)
    under <lake>/reports/qc/.
    """
    from expectations.qc_thresholds import load_thresholds
    from expectations.sample_qc import run_gate
    from lake.store import LakeStore
    from seqledger.render import render_table

    settings = settings_for_reading(ctx)
    thresholds = load_thresholds(thresholds_path) if thresholds_path else load_thresholds()
    result = run_gate(LakeStore(settings), settings, run_ids or None, thresholds)
    missing = ", ".join(result.not_found)
    if not result.verdicts:
        if run_ids:  # every run asked for is unknown: an error, not an empty success
            raise TerminalError(f"no QC metrics for run {missing} in the lake {settings.lake_uri}: "
                                "check the run id (seqledger lake query \"SELECT DISTINCT run_id "
                                "FROM qc_metrics\")")
        click.echo("nothing to gate")
        return
    rows = [(r["run_id"], r["sample_id"], r["verdict"], r["observed_text"])
            for r in result.overall()]
    click.echo(render_table(["run_id", "sample_id", "verdict", "checks not passed"], rows))
    counts = result.counts()
    click.echo(f"\n{len(result.verdicts)} run(s) gated with {result.suite_version}: "
               f"{counts['pass']} pass, {counts['review']} review, {counts['fail']} fail")
    if result.rows_written < len(result.rows):
        click.echo("these exact results were already recorded; the lake keeps the earlier rows")
    click.echo(f"report: {result.report_uri}")
    if result.not_found:
        click.secho(f"Error: no QC metrics for run {missing}: check the run id", fg="red", err=True)
        ctx.exit(1)
