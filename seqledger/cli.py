"""The ``seqledger`` command line: settings in, one service call per command, errors out.

Each area's commands live in ``seqledger/commands/<area>.py`` and attach themselves to the groups
below through ``register(groups)``. Heavy libraries are imported inside commands, so ``--help``
stays fast.
"""

from __future__ import annotations

import errno
import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from lake.errors import ConfigError, SeqledgerError
from lake.settings import DEFAULT_LAKE, LAKE_ENV, Settings

COMMAND_MODULES = ("demo", "events", "status", "dragen", "cost", "storage", "lake", "qc", "release",
                   "dashboard", "infra", "athena")

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


# Exit codes (README "Exit codes"): what a script calling seqledger can rely on.
EXIT_OK = 0
EXIT_INPUT = 1  # an input could not be processed: a bad file, an unknown run, a failed query
EXIT_USAGE = 2  # a bad argument or option (click's own code)
EXIT_LAKE = 3  # the lake, a setting or the machine: missing, unreachable, permission, disk full
# A transient condition deferred part of the work, the rest is done: run the same command again
# later (EX_TEMPFAIL). A command that could not go on at all exits EXIT_LAKE instead.
EXIT_TEMPFAIL = 75
EXIT_BUG = 70  # an unexpected error inside seqledger (EX_SOFTWARE): please report it
EXIT_INTERRUPTED = 130  # ^C

DEBUG_ENV = "SEQLEDGER_DEBUG"

# DuckDB (and any library that polls for signals) turns a ^C that lands inside its call into its own
# exception ("Query interrupted", a RuntimeError), which a caller may handle as an ordinary failure
# and carry on. The boundary remembers every ^C so the command still ends as interrupted.
_interrupts: list[int] = []


def _remember_interrupt(signum: int, frame: Any) -> None:
    _interrupts.append(signum)
    signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt, as Python's own does


def _watch_interrupts() -> None:
    _interrupts.clear()
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _remember_interrupt)
    except ValueError:  # not the main thread (an embedding program): leave its handler alone
        pass


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line a person sees for an error that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, ("interrupted (^C): every file written so far is whole, "
                                  "and running the command again is safe")
    oserror = next((e for e in _chain(exc) if isinstance(e, OSError) and e.errno), None)
    if oserror is not None and oserror.errno in (errno.ENOSPC, errno.EDQUOT):
        return EXIT_LAKE, (f"disk full: {_where(oserror, exc)}: free some space and run the "
                           "command again (nothing half-written was kept)")
    if oserror is not None and oserror.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return EXIT_LAKE, (f"permission denied: {_where(oserror, exc)}: give your user "
                           "access to it, or point SEQLEDGER_LAKE elsewhere")
    if isinstance(exc, SeqledgerError):
        if isinstance(exc, ConfigError):
            return EXIT_LAKE, _one_line(str(exc))
        hint = " (retrying may help)" if exc.retryable else ""
        return (EXIT_LAKE if exc.retryable else EXIT_INPUT), _one_line(f"{exc}{hint}")
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return EXIT_INPUT, f"{_filename(exc, exc)}: {exc.strerror or exc}"
    if isinstance(exc, OSError):  # pyarrow's S3 errors, sockets: the lake or the network
        return EXIT_LAKE, _one_line(f"{exc} (check the lake location and the network)")
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and isinstance(exc, pyarrow.ArrowException):
        return EXIT_INPUT, _one_line(f"could not read: {exc}")
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return EXIT_INPUT, _one_line(f"query failed: {exc}")
    return EXIT_BUG, _one_line(f"internal error ({type(exc).__name__}: {exc}); run again with "
                               f"--debug for the traceback and report it")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    return seen


def _filename(oserror: OSError, exc: BaseException) -> str:
    return str(oserror.filename) if oserror.filename else _one_line(str(exc))


def _where(oserror: OSError, exc: BaseException) -> str:
    """The file an OS error is about, or the message that names it (pyarrow's name no file)."""
    if oserror.filename:
        return str(oserror.filename)
    return _one_line(str(exc) if exc is not oserror else str(oserror), 300)


def _one_line(text: str, width: int = 600) -> str:
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return line if len(line) <= width else line[: width - 1] + "…"


def _debugging(ctx: click.Context | None) -> bool:
    if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
        return True
    return bool(ctx and (ctx.find_root().obj or {}).get("debug"))


def fail(exc: BaseException, ctx: click.Context | None = None) -> NoReturn:
    """End the command for ``exc``: one red line on stderr and its exit code (or re-raise)."""
    if _debugging(ctx or click.get_current_context(silent=True)):
        raise exc
    code, line = describe(KeyboardInterrupt() if _interrupts else exc)
    click.secho(f"Error: {line}", fg="red", err=True)
    raise click.exceptions.Exit(code)


_CLICKS = (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The error boundary around one command (the main group holds the same one for all)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _CLICKS:
            raise
        except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - the one error boundary
            fail(e)

    return wrapper


def settings_for_reading(ctx: click.Context) -> Settings:
    """The settings, once the lake is known to exist (an empty lake says so on stderr)."""
    from lake.location import LakeState, require_lake

    settings = settings_from(ctx)
    check = require_lake(settings)
    if check.state is LakeState.EMPTY:
        click.secho(check.message(), fg="yellow", err=True)
    return settings


class BoundaryGroup(click.Group):
    """The top group: every expected failure of every command ends as one line and a code."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Click's usage errors as one line too (click prints the usage and a hint above them)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        _watch_interrupts()
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.UsageError as e:
            where = e.ctx.command_path if e.ctx else "seqledger"
            click.secho(f"Error: {_one_line(e.format_message())} (see: {where} --help)",
                        fg="red", err=True)
            sys.exit(e.exit_code)
        except click.exceptions.ClickException as e:
            click.secho(f"Error: {_one_line(e.format_message())}", fg="red", err=True)
            sys.exit(e.exit_code)
        except click.exceptions.Abort:  # ^C while click itself was reading input
            _interrupts.append(signal.SIGINT)
            rv = None
        code = rv if isinstance(rv, int) else EXIT_OK
        if _interrupts and code != EXIT_INTERRUPTED:
            # a ^C handled below us as an ordinary error (or not at all): still an interruption
            click.secho(f"Error: {describe(KeyboardInterrupt())[1]}", fg="red", err=True)
            code = EXIT_INTERRUPTED
        sys.exit(code)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _CLICKS:
            raise
        except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - the one error boundary
            fail(e, ctx)


def _show_our_warnings_as_lines() -> None:
    """seqledger's own warnings (a skipped unreadable file) as one yellow line on stderr."""
    import warnings

    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if issubclass(category, UserWarning) and category.__module__.split(".")[0] in OURS:
            click.secho(f"warning: {message}", fg="yellow", err=True)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show


OURS = ("lake", "ingest", "pipeline_runner", "analytics", "expectations", "seqledger")


@click.group(cls=BoundaryGroup, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True,
              help=f"Show tracebacks instead of one-line errors (or set {DEBUG_ENV}=1).")
@click.version_option(package_name="seqledger")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """seqledger: run, track, price and quality-check DRAGEN on AWS Batch.

    \b
    Exit codes: 0 done; 1 an input could not be processed; 2 a bad argument;
    3 the lake or the environment (missing, unreachable, permission denied, disk full);
    75 transient: the rest is done, run the same command again later;
    70 an internal error (please report it); 130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _show_our_warnings_as_lines()
    ctx.obj["settings"] = Settings.from_env()


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
