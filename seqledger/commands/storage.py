"""Storage commands: ``ingest inventory`` (S3 Inventory deliveries, or a local inventory)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.commands.cost import _connect, _footnotes, table, usd


def register(groups: Groups) -> None:
    groups.ingest.add_command(inventory)
    groups.report.add_command(storage)


@click.command("inventory")
@click.argument("manifests", nargs=-1)
@click.option("--local", "local_folder", type=click.Path(file_okay=False), default=None,
              help="Take an inventory of this output folder instead (the embedded default; "
                   "classes are what the stack's lifecycle rules would have done by --at).")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              default=None, help="With --local: the inventory's time (UTC; default now).")
@click.pass_context
@handle_errors
def inventory(ctx: click.Context, manifests: tuple[str, ...], local_folder: str | None,
              at: datetime | None) -> None:
    """Load S3 Inventory deliveries (each MANIFEST a manifest.json, a path or s3:// URI) into
    the storage table; loading one again adds nothing. The stack delivers one a day per bucket
    under the lake bucket's inventory/ prefix (Parquet; CSV is read too)."""
    from ingest.assembly import load_layout, load_projects
    from ingest.inventory import load_inventory, local_inventory
    from lake.store import LakeStore

    settings = settings_from(ctx)
    if bool(manifests) == bool(local_folder):
        raise click.UsageError("give MANIFEST(s) or --local FOLDER (one of them)")
    store = LakeStore(settings)
    if local_folder:
        when = at.replace(tzinfo=UTC) if at else datetime.now(UTC)
        rows = local_inventory(local_folder, when)
        written = store.write("storage", rows).rows_written if rows else 0
        gib = sum(r["size_bytes"] for r in rows) / 2**30
        click.echo(f"{local_folder}: {len(rows):,} objects, {gib:,.1f} GiB as of "
                   f"{when:%Y-%m-%d %H:%M} UTC; {written:,} new rows in storage")
        return
    layout, projects = load_layout(settings), load_projects(settings).projects
    loads = [load_inventory(store, m, layout, projects) for m in manifests]
    click.echo(table(
        ["manifest", "bucket", "scanned", "objects", "new", "GiB"],
        [[x.manifest, x.source_bucket, f"{x.inventory_at:%Y-%m-%d %H:%M}", f"{x.rows:,}",
          f"{x.rows_written:,}", f"{x.size_bytes / 2**30:,.1f}"] for x in loads],
        right={3, 4, 5}))


@click.command("storage")
@click.option("--by", default="month,project,storage_class", show_default=True,
              help="Comma-separated: month, project, sample_id, storage_class, inventory_source.")
@click.option("--project", default=None, help="One project only.")
@click.pass_context
@handle_errors
def storage(ctx: click.Context, by: str, project: str | None) -> None:
    """Storage as the inventories measured it: GB-months and cost by class, against keeping
    everything in S3 Standard (the realized archival saving)."""
    from analytics.cost import STORAGE_GROUPS, storage_costs

    cols = [c.strip() for c in by.split(",") if c.strip()]
    bad = [c for c in cols if c not in STORAGE_GROUPS]
    if bad or not cols:
        raise click.BadParameter(f"unknown column(s) {bad}; choose from "
                                 f"{', '.join(STORAGE_GROUPS)}", param_hint="--by")
    rows = storage_costs(_connect(ctx), cols, project)
    if not rows:
        click.echo("no storage measured yet: run `seqledger ingest inventory`")
        return
    click.echo(table(
        [*cols, "gb_months", "cost_usd", "all_standard_usd", "saving_usd", "unpriced"],
        [[*(str(r[c] or "") for c in cols), f"{r['gb_months']:,.1f}",
          usd(r["cost_usd"], (r["approximate_rows"] or 0) > 0), usd(r["standard_cost_usd"]),
          usd(r["saving_usd"], (r["approximate_rows"] or 0) > 0), f"{r['unpriced_rows']:,}"]
         for r in rows],
        right=set(range(len(cols), len(cols) + 5))))
    _footnotes(rows)
