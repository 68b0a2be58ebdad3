"""The ``seqledger`` command line: settings in, one service call per command, errors out.

Each area's commands live in ``seqledger/commands/<area>.py`` and attach themselves to the groups
below through ``register(groups)``. Heavy libraries are imported inside commands, so ``--help``
stays fast.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from lake.errors import SeqledgerError
from lake.settings import DEFAULT_LAKE, LAKE_ENV, Settings

COMMAND_MODULES = ("demo", "events", "status", "dragen", "cost", "lake", "qc", "release",
                   "dashboard", "infra")

EPILOG = f"""\b
Environment:
  {LAKE_ENV}   where the lake lives: a folder or s3://bucket/prefix
                   (default: {DEFAULT_LAKE}, relative to the current folder)
  SEQLEDGER_S3_ENDPOINT / AWS_ENDPOINT_URL_S3   an S3-compatible server, e.g. http://127.0.0.1:8333
"""


@dataclass(frozen=True)
class Groups:
    main: click.Group
    ingest: click.Group
    report: click.Group
    lake: click.Group
    infra: click.Group


def settings_from(ctx: click.Context) -> Settings:
    """The settings built once by the main group."""
    return ctx.find_root().obj["settings"]


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Render seqledger's own errors as one clear line and exit 1 (``--debug`` re-raises)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SeqledgerError as e:
            if click.get_current_context().find_root().obj.get("debug"):
                raise
            hint = " (retrying may help)" if e.retryable else ""
            click.secho(f"Error: {e}{hint}", fg="red", err=True)
            sys.exit(1)

    return wrapper


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="seqledger")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """seqledger: run, track, price and quality-check DRAGEN on AWS Batch."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    try:
        ctx.obj["settings"] = Settings.from_env()
    except SeqledgerError as e:
        raise click.UsageError(str(e)) from e


@main.group(epilog=EPILOG)
def ingest() -> None:
    """Load the outside world into the lake: events, DRAGEN metrics, billing exports."""


@main.group(epilog=EPILOG)
def report() -> None:
    """Reports from the lake's analytics views."""


@main.group("lake", epilog=EPILOG)
def lake_group() -> None:
    """Look after the lake: tables, compaction, catalog DDL."""


@main.group("infra", epilog=EPILOG)
def infra_group() -> None:
    """The AWS deployment: templates, Lambda packages, the deploy command."""


GROUPS = Groups(main, ingest, report, lake_group, infra_group)
for _name in COMMAND_MODULES:
    importlib.import_module(f"seqledger.commands.{_name}").register(GROUPS)


if __name__ == "__main__":  # pragma: no cover
    main()
