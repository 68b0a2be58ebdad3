"""``seqledger qc …``: the per-sample QC gate over the lake; ``seqledger report qc``: the QC metric
distributions per month, project and release."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from lake.errors import TerminalError
from seqledger.cli import Groups, handle_errors, settings_for_reading


def register(groups: Groups) -> None:
    groups.main.add_command(qc)
    groups.report.add_command(report_qc)


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


def _by(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    """``--by`` checked at the edge: a bad name is a usage error, before the lake is read."""
    from analytics.qc_report import group_columns

    names = [b.strip() for b in value.split(",") if b.strip()]
    try:
        group_columns(names)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None
    return names


_DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.command("qc")
@click.option("--by", "by", callback=_by, default="project", show_default=True,
              help="Comma-separated: month, project, release. Each check is always its own row.")
@click.option("--start", type=_DAY, default=None,
              help="First day, YYYY-MM-DD (its whole month counts: distributions are monthly).")
@click.option("--end", type=_DAY, default=None, help="Last day, YYYY-MM-DD (its whole month).")
@click.option("--project", "projects", multiple=True, help="Only this project (repeatable).")
@click.option("--release", "releases", multiple=True,
              help="Only this pipeline release (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="table for people, csv or json for other programs.")
@click.pass_context
@handle_errors
def report_qc(ctx: click.Context, by: list[str], start: datetime | None, end: datetime | None,
              projects: tuple[str, ...], releases: tuple[str, ...], fmt: str) -> None:
    """QC metric distributions of the latest gates (suite sample_qc): per group and numeric check,
    runs, passed, pass rate, min, p10, p50, p90 and max of the observed values.

    Read from the monthly QC metric rollup. Percentiles are per month: a group spanning several
    months shows runs, passed, min and max, and no percentiles (add month to --by for them).
    """
    from analytics.filters import Filters
    from analytics.qc import metric_summary
    from analytics.qc_report import COLUMNS, summarise
    from seqledger.querying import open_engine_for

    try:
        f = Filters(start=start and start.date(), end=end and end.date(),
                    project=tuple(projects), release=tuple(releases))
    except ValueError as e:  # the range ends before it starts
        raise click.UsageError(str(e), ctx) from None
    rows = summarise(metric_summary(open_engine_for(ctx), f), by)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1))
    elif fmt == "csv":
        click.echo(_csv(rows), nl=False)
    elif not rows:
        click.echo("no gated runs with QC metrics in this range (seqledger qc gate gates them)")
    else:
        click.echo(_table(rows, COLUMNS))


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return out.getvalue()


def _table(rows: list[dict[str, Any]], numbers: tuple[str, ...]) -> str:
    from seqledger.commands.cost import table

    def cell(name: str, v: Any) -> Any:
        if name == "pass_rate" and v is not None:
            return f"{v * 100:.1f}%"
        if isinstance(v, float):  # metrics run from fractions to billions: 4 significant digits
            return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
        return v

    names = list(rows[0])
    heads = [n.removesuffix("_value") for n in names]
    right = {i for i, n in enumerate(names) if n in numbers}
    return table(heads, [[cell(n, r[n]) for n in names] for r in rows], right=right)
