"""Cost commands: ``ingest cur|prices``; ``report cost|savings|reconcile|untagged|automation``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.params import COUNT, LIMIT, MONTH
from seqledger.querying import verbose_option

APPROX_NOTE = (
    "~ includes approximate prices (secondary, derived or assumed; see "
    "pipeline_runner/prices/README.md)"
)


def register(groups: Groups) -> None:
    groups.ingest.add_command(cur)
    groups.ingest.add_command(cur_exports)
    groups.ingest.add_command(prices)
    for command in (cost, savings, reconcile, untagged, automation):
        groups.report.add_command(command)


# -- formatting ------------------------------------------------------------------------------------


def usd(value: float | None, approximate: bool = False) -> str:
    """Dollars for a table cell: cents for sums, more digits for tiny amounts, '' when unknown."""
    if value is None:
        return ""
    mark = "~" if approximate else ""
    if abs(value) < 5e-7:  # below the last digit shown: no "-0.000000"
        value = 0.0
    if value == 0 or abs(value) >= 0.01:
        return f"{mark}{value:,.2f}"
    return f"{mark}{value:.6f}"


def pct(value: float | None) -> str:
    if value is None:
        return ""
    return f"{(value * 100 if abs(value) >= 0.0005 else 0.0):.1f}%"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], right: set[int] | None = None
) -> str:
    """An aligned plain-text table; columns in ``right`` are right-aligned (numbers)."""
    right = right or set()
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, cells)])


def _footnotes(rows: Sequence[dict[str, Any]]) -> None:
    if any((r.get("approximate_rows") or 0) > 0 for r in rows):
        click.echo(APPROX_NOTE)
    unpriced = int(sum(r.get("unpriced_rows") or 0 for r in rows))
    if unpriced:
        click.echo(
            f"! {unpriced} unpriced row(s): a price was missing, so their cost is unknown "
            "and left out of the sums"
        )


# -- ingest ----------------------------------------------------------------------------------------


@click.command("cur")
@click.argument("files", nargs=-1, required=True)
@click.pass_context
@handle_errors
def cur(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Load AWS billing exports (legacy CUR or CUR 2.0 Parquet, or CUR CSV) into billed_costs.

    Loading a file again adds nothing. Rows that do not parse go to quarantine (file and row);
    a file that is not a billing export is refused and the others still load.
    """
    from ingest.cur import load_cur_files
    from lake.store import LakeStore

    store = LakeStore(settings_from(ctx))
    results = load_cur_files(list(files), store)
    rows = [
        [
            r.source,
            r.export_format or "",
            f"{r.rows_read:,}",
            f"{r.rows_loaded:,}",
            f"{r.quarantined:,}",
            usd(r.unblended_cost_usd),
            r.error or "",
        ]
        for r in results
    ]
    click.echo(
        table(
            ["file", "format", "rows", "new", "quarantined", "unblended_usd", "error"],
            rows,
            right={2, 3, 4, 5},
        )
    )
    for r in results:
        if r.unknown_columns:
            click.echo(f"{r.source}: unknown column(s) ignored: {', '.join(r.unknown_columns)}")
    if any(r.error for r in results):
        ctx.exit(1)


@click.command("cur-exports")
@click.argument("prefix", required=False)
@click.pass_context
@handle_errors
def cur_exports(ctx: click.Context, prefix: str | None) -> None:
    """Load the billing export files under PREFIX that are new or rewritten since the last load.

    PREFIX is where the Data Export writes (s3://bucket/billing/ or a folder); default
    SEQLEDGER_BILLING_EXPORTS. The stack's scheduled billing loader runs the same code. Exit 1
    when a file was refused (it is quarantined, and tried again next time).
    """
    from ingest.cur_exports import describe, load_new_exports
    from lake.errors import ConfigError
    from lake.store import LakeStore

    settings = settings_from(ctx)
    prefix = prefix or settings.billing_exports
    if not prefix:
        raise ConfigError("no billing export prefix: give PREFIX or set SEQLEDGER_BILLING_EXPORTS "
                          "(the stack's export writes to s3://<lake bucket>/billing/)")
    done = load_new_exports(LakeStore(settings), prefix,
                            progress=lambda line: click.echo(line, err=True))
    for line in describe(done):
        click.echo(line)
    if done.refused:
        ctx.exit(1)


@click.command("prices")
@click.option(
    "--folder",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Price tables to load instead of the shipped ones.",
)
@click.option(
    "--licence-model",
    type=click.Choice(["per_gbase", "per_sample", "per_instance_hour"]),
    default="per_gbase",
    show_default=True,
    help="Which DRAGEN licence rate --licence-rate-usd sets (see SEQLEDGER_LICENCE_MODEL).",
)
@click.option(
    "--licence-rate-usd",
    type=click.FloatRange(min=0),
    default=None,
    help="Your contract's DRAGEN licence rate for --licence-model (the shipped per-Gbase rate "
    "is an assumption). New estimates use it.",
)
@click.option(
    "--licence-usd-per-gbase",
    type=click.FloatRange(min=0),
    default=None,
    help="The same as --licence-model per_gbase --licence-rate-usd X.",
)
@click.pass_context
@handle_errors
def prices(ctx: click.Context, folder: str | None, licence_model: str,
           licence_rate_usd: float | None, licence_usd_per_gbase: float | None) -> None:
    """Write the dated price tables into the lake's prices table (savings baselines, and the
    licence rate new cost estimates use)."""
    from pathlib import Path

    from lake.store import LakeStore
    from pipeline_runner.prices import PriceBook

    if licence_usd_per_gbase is not None:
        if licence_rate_usd is not None and licence_model != "per_gbase":
            raise click.UsageError("--licence-usd-per-gbase sets the per_gbase rate; give "
                                   "--licence-rate-usd for another model")
        licence_model, licence_rate_usd = "per_gbase", licence_usd_per_gbase
    book = PriceBook.load(Path(folder)) if folder else PriceBook.load_default()
    if licence_rate_usd is not None:
        book = book.with_licence_rate(licence_rate_usd, model=licence_model)
    rows = book.rows()
    written = LakeStore(settings_from(ctx)).write("prices", rows)
    approx = sum(1 for r in rows if r["price_status"] != "list")
    click.echo(f"prices: {len(rows):,} rows ({approx:,} approximate or assumed), "
               f"{written.rows_written:,} new")
    licence = [r for r in rows if r["item"].startswith("dragen-licence")]
    for r in licence:
        mark = " (ASSUMED: set yours with --licence-rate-usd)" if r["price_status"] == "assumed" \
            else ""
        click.echo(f"DRAGEN licence: {r['item']} {r['usd']:g} $/{r['unit']}{mark}")


# -- reports ---------------------------------------------------------------------------------------


def _connect(ctx: click.Context):
    from seqledger.querying import open_engine_for

    return open_engine_for(ctx)


def _group_columns(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--by`` checked at the edge: a bad column is a usage error, before the lake is read."""
    from analytics.cost import ALIASES, ESTIMATE_GROUPS

    keys = [ALIASES.get(b.strip(), b.strip()) for b in value.split(",") if b.strip()]
    bad = [k for k in keys if k not in ESTIMATE_GROUPS]
    if not keys or bad:
        raise click.BadParameter(f"cannot group cost by {bad or repr(value)}; choose from "
                                 f"{', '.join(ESTIMATE_GROUPS)}", ctx, param)
    return value


@click.command("cost")
@verbose_option
@click.option(
    "--by",
    "by",
    callback=_group_columns,
    default="project",
    show_default=True,
    help="Comma-separated columns: tags (project, sample_id, run_id, workflow, "
    "pipeline_release, requested_by (or user), cost_centre), month, cost_kind, component, "
    "capacity, instance_type, price_status.",
)
@click.option("--month", type=MONTH, default=None, help="Only this month, YYYY-MM.")
@click.option("--per-sample", is_flag=True,
              help="Instead: cost per sample and per gigabase of input (estimated and billed).")
@click.option("--trend", is_flag=True, help="Instead: estimated cost by month and kind of cost.")
@click.option("--project", default=None, help="With --per-sample or --trend: one project only.")
@click.pass_context
@handle_errors
def cost(ctx: click.Context, by: str, month: str | None, per_sample: bool, trend: bool,
         project: str | None) -> None:
    """Estimated and billed cost grouped by tags (and month, kind, capacity…).

    With --per-sample, the cost of each sample and per gigabase; with --trend, the monthly trend.
    """
    from analytics.cost import cost_by

    if per_sample:
        _per_sample(ctx, project)
        return
    if trend:
        _trend(ctx, project)
        return
    from analytics.cost import ALIASES

    keys = [ALIASES.get(b.strip(), b.strip()) for b in by.split(",") if b.strip()]
    rows = cost_by(_connect(ctx), keys, month)
    out = [
        [
            *(r[k] for k in keys),
            usd(r["estimated_usd"], (r["approximate_rows"] or 0) > 0),
            usd(r["billed_usd"]),
            f"{r['line_count'] or 0:,}",
            f"{r['unpriced_rows'] or 0:,}",
        ]
        for r in rows
    ]
    n = len(keys)
    click.echo(
        table(
            [*keys, "estimated_usd", "billed_usd", "lines", "unpriced"],
            out,
            right={n, n + 1, n + 2, n + 3},
        )
    )
    total_est = sum(r["estimated_usd"] or 0 for r in rows)
    total_bil = sum(r["billed_usd"] or 0 for r in rows)
    click.echo(f"total: estimated {usd(total_est)}  billed {usd(total_bil)}")
    _footnotes(rows)


def _per_sample(ctx: click.Context, project: str | None) -> None:
    from analytics.cost import cost_per_sample

    rows = cost_per_sample(_connect(ctx), project)
    out = [[r["sample_id"], r["project"] or "", r["runs"],
            usd(r["estimated_usd"], (r["approximate_rows"] or 0) > 0), usd(r["compute_usd"]),
            usd(r["licence_usd"]), usd(r["storage_usd"]),
            "" if r["input_gbases"] is None else f"{r['input_gbases']:,.1f}",
            usd(r["estimated_usd_per_gbase"]), usd(r["billed_usd"]), usd(r["billed_usd_per_gbase"]),
            f"{r['unpriced_rows'] or 0:,}"] for r in rows]
    click.echo(table(["sample_id", "project", "runs", "estimated_usd", "compute_usd", "licence_usd",
                      "storage_usd", "gbases", "est_usd_per_gbase", "billed_usd",
                      "billed_usd_per_gbase", "unpriced"], out, right=set(range(2, 12))))
    _footnotes(rows)


def _trend(ctx: click.Context, project: str | None) -> None:
    from analytics.cost import cost_trend

    rows = cost_trend(_connect(ctx), project)
    out = [[r["month"], r["cost_kind"], usd(r["estimated_usd"], (r["approximate_rows"] or 0) > 0),
            f"{r['unpriced_rows'] or 0:,}"] for r in rows]
    click.echo(table(["month", "cost_kind", "estimated_usd", "unpriced"], out, right={2, 3}))
    _footnotes(rows)


@click.command("savings")
@verbose_option
@click.option("--by-month", is_flag=True, help="One line per scenario and month.")
@click.pass_context
@handle_errors
def savings(ctx: click.Context, by_month: bool) -> None:
    """Savings: Spot against On-Demand (estimated and billed); archival against all-Standard."""
    from analytics.cost import savings as savings_rows

    con = _connect(ctx)
    rows = savings_rows(con, by_month)
    lead = ["scenario", "month"] if by_month else ["scenario"]
    out = [
        [
            *(r[k] for k in lead),
            usd(r["actual_usd"]),
            usd(r["baseline_usd"]),
            usd(r["saving_usd"], (r["approximate_rows"] or 0) > 0),
            pct(r["saving_share"]),
            f"{r['unpriced_rows'] or 0:,}",
        ]
        for r in rows
    ]
    n = len(lead)
    click.echo(
        table(
            [*lead, "actual_usd", "baseline_usd", "saving_usd", "saving", "unpriced"],
            out,
            right=set(range(n, n + 5)),
        )
    )
    if not con.rows("SELECT count(*) AS n FROM prices")[0]["n"]:
        click.echo(
            "note: the lake has no price tables, so no baselines; run `seqledger ingest prices`"
        )
    _footnotes(rows)


@click.command("reconcile")
@verbose_option
@click.option("--month", type=MONTH, default=None, help="Only this month, YYYY-MM.")
@click.option("--attempts", is_flag=True, help="One line per attempt instead of per project.")
@click.option(
    "--min-residual-share",
    type=float,
    default=None,
    help="With --attempts: only attempts whose residual is at least this share "
    "(e.g. 0.05), or that have no billed cost.",
)
@click.pass_context
@handle_errors
def reconcile(
    ctx: click.Context, month: str | None, attempts: bool, min_residual_share: float | None
) -> None:
    """Estimated against billed per month and project (or attempt): residual, unused, untagged."""
    from analytics.cost import reconcile as by_month
    from analytics.cost import reconcile_attempts

    con = _connect(ctx)
    if attempts:
        rows = reconcile_attempts(con, month, min_residual_share)
        out = [
            [
                r["job_id"],
                r["attempt"],
                r["capacity"] or "",
                r["instance_id"] or "",
                f"{r['share']:.3f}" if r["share"] is not None else "",
                usd(r["estimated_compute_usd"], (r["approximate_rows"] or 0) > 0),
                usd(r["billed_compute_usd"]),
                r["billed_basis"] or "no billing",
                r["instance_rule"],
                usd(r["residual_usd"]),
                pct(r["residual_share"]),
                usd(r["unused_capacity_usd"]),
            ]
            for r in rows
        ]
        click.echo(
            table(
                [
                    "job_id",
                    "attempt",
                    "capacity",
                    "instance",
                    "share",
                    "estimated_usd",
                    "billed_usd",
                    "basis",
                    "charged",
                    "residual_usd",
                    "residual",
                    "unused_usd",
                ],
                out,
                right={1, 4, 5, 6, 9, 10, 11},
            )
        )
    else:
        rows = by_month(con, month)
        out = [
            [
                r["month"],
                r["project"],
                usd(r["estimated_usd"], (r["approximate_rows"] or 0) > 0),
                usd(r["billed_usd"]),
                usd(r["residual_usd"]),
                pct(r["residual_share"]),
                usd(r["unused_capacity_usd"]),
                usd(r["untagged_usd"]),
                f"{r['unpriced_rows'] or 0:,}",
            ]
            for r in rows
        ]
        click.echo(
            table(
                [
                    "month",
                    "project",
                    "estimated_usd",
                    "billed_usd",
                    "residual_usd",
                    "residual",
                    "unused_usd",
                    "untagged_usd",
                    "unpriced",
                ],
                out,
                right=set(range(2, 9)),
            )
        )
    _footnotes(rows)


@click.command("untagged")
@verbose_option
@click.option("--month", type=MONTH, default=None, help="Only this month, YYYY-MM.")
@click.pass_context
@handle_errors
def untagged(ctx: click.Context, month: str | None) -> None:
    """Billed spend without a project or cost-centre tag, by month and service."""
    from analytics.cost import untagged_spend

    rows = untagged_spend(_connect(ctx), month)
    out = [
        [
            r["month"],
            r["tag_status"],
            r["product_code"] or "",
            usd(r["cost_usd"]),
            f"{r['line_count']:,}",
        ]
        for r in rows
    ]
    click.echo(table(["month", "tags", "service", "cost_usd", "lines"], out, right={3, 4}))
    click.echo(f"total untagged or partially tagged: {usd(sum(r['cost_usd'] or 0 for r in rows))}")


@click.command("automation")
@click.option(
    "--jobs", "jobs", type=COUNT, default=500_000, show_default=True, help="Batch jobs a month."
)
@click.option("--samples", type=COUNT, default=4_000, show_default=True,
              help="WGS samples a month.")
@click.option(
    "--lambda-ms",
    type=click.FloatRange(min=0),
    default=200.0,
    show_default=True,
    help="Average Lambda run time per event.",
)
@click.option("--free-tier", is_flag=True, help="Subtract the Lambda and SNS monthly free tiers.")
@click.option(
    "--dashboard-refreshes",
    type=LIMIT,
    default=720,
    show_default=True,
    help="Times a month each cost view is queried (hourly = 720).",
)
@click.pass_context
@handle_errors
def automation(
    ctx: click.Context,
    jobs: int,
    samples: int,
    lambda_ms: float,
    free_tier: bool,
    dashboard_refreshes: int,
) -> None:
    """Monthly cost of the automation (Lambda, SNS, EventBridge) and of Athena for cost views."""
    from datetime import UTC, datetime

    from analytics.engine import view_sql
    from lake.store import LakeStore
    from pipeline_runner.cost import (
        AutomationVolume,
        QueryLoad,
        athena_monthly_cost,
        automation_monthly_cost,
    )
    from pipeline_runner.prices import PriceBook

    book = PriceBook.load_default()
    now = datetime.now(UTC)
    volume = AutomationVolume(
        batch_jobs_per_month=jobs,
        samples_per_month=samples,
        lambda_avg_ms=lambda_ms,
        free_tier=free_tier,
    )
    lines = automation_monthly_cost(volume, book, now)
    store = LakeStore(settings_from(ctx))
    views = view_sql()
    queries = [
        QueryLoad(name, scanned_bytes(name, views, store), dashboard_refreshes)
        for name in views
        if _is_cost_view(name)
    ]
    lines += athena_monthly_cost(queries, book, now)
    out = [
        [
            x.item,
            f"{x.quantity:,.4f}",
            x.unit,
            "" if x.rate_usd is None else f"{x.rate_usd:g}",
            usd(x.cost_usd, x.price_status == "approximate"),
        ]
        for x in lines
    ]
    click.echo(table(["item", "quantity", "unit", "rate_usd", "cost_usd"], out, right={1, 3, 4}))
    total = sum(x.cost_usd or 0 for x in lines)
    click.echo(
        f"total a month: {usd(total)} ({volume.job_events:,} job events, "
        f"{volume.object_events:,} object events; Athena bytes are an upper bound: "
        "the Parquet files of the tables each view reads)"
    )
    _footnotes(
        [
            {
                "approximate_rows": sum(x.price_status == "approximate" for x in lines),
                "unpriced_rows": sum(x.cost_usd is None for x in lines),
            }
        ]
    )


_COST_VIEWS = ("cost_", "billed_", "savings", "reconcile_", "untagged_")


def _is_cost_view(name: str) -> bool:
    return name.startswith(_COST_VIEWS)


def scanned_bytes(view: str, views: dict[str, str], store: Any) -> int:
    """Upper bound of what a view scans: the Parquet bytes of every table it reads, transitively."""
    import re

    from lake.schemas import TABLES

    seen: set[str] = set()
    tables: set[str] = set()
    todo = [view]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        words = set(re.findall(r"[a-z_][a-z0-9_]*", views.get(name, "").lower()))
        tables |= {w for w in words if w in TABLES}
        todo += [w for w in words if w in views and w not in seen]
    total = 0
    for t in tables:
        files = store.files(t)
        if files:
            total += sum(info.size for info in store.fs.get_file_info(files))
    return total
