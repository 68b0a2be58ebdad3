"""``seqledger demo``: play a small production month on the embedded default."""

from __future__ import annotations

import shutil

import click

from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.params import COUNT, MONTH


def register(groups: Groups) -> None:
    groups.main.add_command(demo)


@click.command()
@click.option("--samples", type=COUNT, default=50, show_default=True,
              help="Samples arriving in the month.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same month).")
@click.option("--month", type=MONTH, default="2026-10", show_default=True, help="Month to play.")
@click.option(
    "--keep",
    is_flag=True,
    help="Keep what the demo's lake already holds (default: the demo's lake starts empty).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Delete a local lake the demo did not make and play the demo there instead.",
)
@click.pass_context
@handle_errors
def demo(ctx: click.Context, samples: int, seed: int, month: str, keep: bool,
         replace: bool) -> None:
    """Play a production month: arrivals → Batch on Spot (simulated) → QC → cost → lake.

    The demo writes only to a lake it owns: one that does not exist yet, an empty folder, or one
    it made before (marked with a .seqledger-demo file). It refuses any other lake unless given
    --replace, which deletes that (local) lake first.
    """
    from lake.errors import ConfigError
    from seqledger.demo import claim_lake, demo_workdir, mark_lake, play
    from seqledger.render import render_table

    if keep and replace:
        raise click.UsageError("--keep and --replace contradict each other: choose one")
    settings = settings_from(ctx)
    claim = claim_lake(settings)
    if not claim.owned and not replace:
        raise ConfigError(
            f"refusing to play the demo into {settings.lake_uri}: it holds {claim.files} "
            f"file(s) {claim.why}; give --replace to delete it first, or set SEQLEDGER_LAKE "
            "to a new folder")
    if claim.exists and claim.files and (replace or not keep):
        if settings.lake_is_s3:
            if not claim.owned:
                raise ConfigError(f"--replace deletes local lakes only: delete "
                                  f"{settings.lake_uri} yourself or choose an empty prefix")
        else:
            click.echo(f"removing the lake at {settings.lake_uri} ({claim.files} files, "
                       f"{claim.why})", err=True)
            shutil.rmtree(settings.lake_uri)
    mark_lake(settings)
    workdir = demo_workdir(settings)
    click.echo(f"lake: {settings.lake_uri}  (set SEQLEDGER_LAKE to change)")
    with click.progressbar(
        length=1, label="playing the month", show_pos=True, item_show_func=lambda s: s
    ) as bar:

        def progress(now: str, done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos, now)

        result = play(
            settings, samples=samples, seed=seed, month=month, workdir=workdir, progress=progress
        )
    s = result.summary
    click.echo(
        f"\nplayed {result.payloads} event payloads ({result.batch_events} Batch "
        f"job-state events) in {result.elapsed_s:.1f} s\n"
    )
    lines = [
        ("samples arrived", s["samples_arrived"]),
        ("objects that are not inputs", s["objects_not_inputs"]),
        ("runs", s["runs"]),
        ("  succeeded", s["runs_succeeded"]),
        ("  failed", s["runs_failed"]),
        ("job attempts", s["attempts"]),
        ("Spot reclaims", s["spot_reclaims"]),
        ("retries (of which moved to On-Demand)", f"{s['retries']} ({s['moved_to_on_demand']})"),
        ("application errors (not retried)", s["application_errors"]),
        ("QC pass / review / fail", f"{s['qc_pass']} / {s['qc_review']} / {s['qc_fail']}"),
        ("quarantined inputs", s["quarantined"]),
        ("estimated cost", f"${s['cost_usd']:,.2f}"),
        *(line for c in s.get("cost_by_component", []) for line in (
            (f"  {c['component']}", f"${c['cost_usd']:,.2f}" + _mark(c)),
            *(_instance_lines(s) if c["component"] == "compute" else []))),
        *_automation_lines(s.get("automation")),
        *_storage_lines(s.get("storage_by_class", [])),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        click.echo(f"  {k:<{width}}  {v}")
    rows = [
        (r["project"], r["runs"], r["cost_usd"], r["usd_per_run"]) for r in s["cost_by_project"]
    ]
    click.echo(
        "\ncost by project\n" + render_table(["project", "runs", "cost_usd", "usd_per_run"], rows)
    )
    click.echo("\nrelease validation (GIAB HG001-HG007, hap.py against the truth set)\n"
               + render_table(["release", "against", "verdict", "failed checks", "report"],
                              [(v["release"], v["baseline"] or "-", v["verdict"].upper(),
                                ", ".join(v["failed"]) or "-", v["report"])
                               for v in s.get("releases", [])]))
    me = _command_name()
    before, after = s["files_compacted"]
    click.echo(f"\ncompacted the lake: {before} files -> {after}")
    click.echo(f"replayable event files: {result.events_dir}/ (projects: {workdir}/projects.toml)")
    click.echo(
        f"\nnext:\n  {me} dashboard                  # open the dashboard over this lake"
        f"\n  {me} report cost --by project   # cost reports"
        f'\n  {me} lake query "SELECT * FROM run_latest LIMIT 5"'
        f"\n  {me} release list               # releases and their validation state"
    )


def _instance_lines(s: dict) -> list[tuple[str, str]]:
    """EC2 bills an instance from launch to termination: what that added for lone jobs."""
    if not s.get("instances"):
        return []
    return [("    of which instance boot and idle",
             f"${s['instance_boot_idle_usd']:,.2f}  ({s['whole_instance_attempts']} attempts "
             f"alone on their instance, of {s['instances']} instances launched)")]


def _automation_lines(a: dict | None) -> list[tuple[str, str]]:
    """Lambda, SNS and EventBridge at the month's event volume (not in the lake's costs)."""
    if not a:
        return []
    mark = "  ~ approximate prices" if a["approximate"] else ""
    cost = a["cost_usd"]  # cents at the demo's volume: shown, not rounded away
    return [("automation (Lambda, SNS, EventBridge)",
             (f"${cost:,.2f}" if cost >= 0.01 else f"${cost:.4f}") + mark)]


def _storage_lines(by_class: list[dict]) -> list[tuple[str, str]]:
    """Storage measured by the daily local inventories, and the realized archival saving."""
    if not by_class:
        return []
    cost = sum(c["cost_usd"] or 0 for c in by_class)
    standard = sum(c["standard_usd"] or 0 for c in by_class)
    approx = "  ~ approximate prices" if any(c["approximate"] for c in by_class) else ""
    first = min(c["first_month"] for c in by_class)
    last = max(c["last_month"] for c in by_class)
    return [
        (f"storage {first} to {last} (daily inventories)", f"${cost:,.2f}{approx}"),
        *((f"  {c['storage_class']}", f"${c['cost_usd'] or 0:,.2f}  ({c['gb_months']:,.1f} "
           "GB-months)") for c in by_class),
        ("  all in S3 Standard would be", f"${standard:,.2f}"),
        ("  archival saved (realized)", f"${standard - cost:,.2f}"
         + (f" ({(standard - cost) / standard:.0%})" if standard else "")),
    ]


def _mark(component: dict) -> str:
    """How a component was priced, when not from a published price."""
    if component["assumed"]:
        return "  ASSUMED rate: set yours with `seqledger ingest prices --licence-rate-usd`"
    return "  ~ approximate prices" if component["approximate"] else ""


def _command_name() -> str:
    """How to call seqledger again from here: its name if on PATH, else the path it ran from."""
    import os
    import shutil
    import sys

    on_path = shutil.which("seqledger")
    if on_path and os.path.realpath(on_path) == os.path.realpath(sys.argv[0]):
        return "seqledger"
    return (
        os.path.relpath(sys.argv[0])
        if sys.argv and sys.argv[0].endswith("seqledger")
        else "seqledger"
    )
