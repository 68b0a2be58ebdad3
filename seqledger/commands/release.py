"""``seqledger release …`` and ``seqledger ingest happy``: validate a pipeline release."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.querying import verbose_option


def register(groups: Groups) -> None:
    groups.main.add_command(release)
    groups.ingest.add_command(happy)


@click.command()
@click.argument("location")
@click.option("--release", required=True, help="The pipeline release the calls were made with.")
@click.option("--sample-id", default=None,
              help="The reference sample (default: from each file name, e.g. HG002.summary.csv).")
@click.option("--run-id", default=None, help="The run that produced the calls, when known.")
@click.option("--truth-set", default=None, help="The truth set, e.g. 'GIAB v4.2.1 GRCh38'.")
@click.pass_context
@handle_errors
def happy(ctx: click.Context, location: str, release: str, sample_id: str | None,
          run_id: str | None, truth_set: str | None) -> None:
    """Load hap.py accuracy files (summary.csv, extended.csv): a file, or every one under a folder.

    LOCATION is a file or folder, local or s3://. Lines that cannot be read go to quarantine with
    the reason; the others load. Loading the same files twice adds nothing; a corrected file
    replaces what it changed.
    """
    from ingest.happy import ingest_happy
    from lake.store import LakeStore
    from seqledger.render import render_table

    summary = ingest_happy(LakeStore(settings_from(ctx)), location, release=release,
                           sample_id=sample_id, run_id=run_id, truth_set=truth_set)
    click.echo(render_table(["file", "sample", "rows", "bad lines", "error"],
                            [(f.path, f.sample_id or "", f.rows, f.problems, f.error or "")
                             for f in summary.files]))
    click.echo(f"\nrelease {release}: {summary.rows} row(s) from {len(summary.files)} file(s) "
               f"for {len(summary.samples)} sample(s); {summary.rows_written} new")
    if summary.rows and not summary.rows_written:
        click.echo("already loaded: the lake has these exact rows")
    if summary.quarantined:
        click.secho(f"{summary.quarantined} quarantine row(s): see the quarantine table",
                    fg="yellow", err=True)
        sys.exit(1)


@click.group()
def release() -> None:
    """Pipeline releases: validate a candidate against truth sets and its baseline; list them."""


@release.command()
@click.option("--release", "name", required=True, help="The candidate release to validate.")
@click.option("--baseline", default=None,
              help="The release it replaces (default: the latest release that passed "
                   "validation, else the latest with hap.py results on the same samples).")
@click.option("--happy", "happy_dir", default=None, metavar="DIR",
              help="Load the candidate's hap.py files from DIR first (file names give samples).")
@click.option("--thresholds", "thresholds_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="A release thresholds CSV (default: expectations/thresholds/release_v1.csv).")
@click.pass_context
@handle_errors
def validate(ctx: click.Context, name: str, baseline: str | None, happy_dir: str | None,
             thresholds_path: Path | None) -> None:
    """Gate a release on its reference samples; exit 1 when it fails (for CI).

    Checks hap.py accuracy against absolute floors, per-sample regressions against the
    baseline, and QC, runtime and cost drift of the cohort, as one Great Expectations
    validation; records every result in release_validations and writes an HTML report.
    """
    from expectations.release import validate_release
    from expectations.release_thresholds import load_release_thresholds
    from ingest.happy import ingest_happy
    from lake.store import LakeStore
    from seqledger.render import render_table

    settings = settings_from(ctx)
    store = LakeStore(settings)
    thresholds = (load_release_thresholds(thresholds_path) if thresholds_path
                  else load_release_thresholds())
    if happy_dir:
        loaded = ingest_happy(store, happy_dir, release=name)
        click.echo(f"loaded {loaded.rows} hap.py row(s) for {len(loaded.samples)} sample(s) "
                   f"from {happy_dir}", err=True)
    result = validate_release(store, settings, name, baseline=baseline, thresholds=thresholds)
    failed = result.failed()
    if failed:
        click.echo(render_table(
            ["check", "sample", "severity", "why"],
            [(r["check_id"], r["sample_id"], r["severity"], r["note"] or "") for r in failed]))
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}[result.verdict]
    names = sorted({r["check_id"] for r in result.failed("fail")})
    click.secho(
        f"\nrelease {name} against {result.baseline or 'no baseline'} on "
        f"{len(result.samples)} sample(s): {result.verdict.upper()}"
        + (f" (failed: {', '.join(names)})" if names else ""), fg=colour, bold=True)
    click.echo(f"report: {result.report_uri}")
    if result.verdict == "fail":
        sys.exit(1)


@release.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects (for scripts).")
@verbose_option
@click.pass_context
@handle_errors
def list_(ctx: click.Context, as_json: bool) -> None:
    """Releases the lake knows, with their runs and validation state.

    Runs on the engine SEQLEDGER_QUERY_ENGINE names (duckdb or athena)."""
    from analytics.releases import release_states
    from seqledger.querying import open_engine_for
    from seqledger.render import render_table

    states = release_states(open_engine_for(ctx))
    if as_json:
        click.echo(json.dumps(states, indent=2))
        return
    if not states:
        click.echo("no releases yet: nothing has run and no hap.py results are loaded")
        return
    click.echo(render_table(
        ["release", "state", "baseline", "validated at", "reference samples", "runs"],
        [(s["release"], s["state"], s["baseline"] or "", (s["validated_at"] or "")[:19],
          s["reference_samples"], s["runs"]) for s in states]))
