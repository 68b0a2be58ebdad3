"""Every ordinary mistake is one line on stderr, naming the input and the fix, with its exit code.

``seqledger`` runs as a process, as an operator runs it: no traceback may reach the terminal.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lake.errors import LakeWriteError
from lake.settings import Settings
from lake.store import LakeStore
from seqledger.cli import (
    EXIT_BUG,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_LAKE,
    describe,
)
from tests.servers import free_port

SEQLEDGER = str(Path(sys.executable).with_name("seqledger"))


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A folder with the lakes the cases point at.

    ``data``: a lake someone filled (the price tables) plus one corrupt Parquet file in ``costs``;
    ``clean``: the same without the corrupt file;
    ``empty``: an empty lake; ``a-file``: a file where a lake should be; ``no-dragen``: an empty
    folder given as a DRAGEN output folder.
    """
    from pipeline_runner.prices import PriceBook

    root = tmp_path_factory.mktemp("place")
    for name in ("data", "clean"):
        store = LakeStore(Settings(lake_uri=str(root / name)))
        store.write("prices", PriceBook.load_default().rows())
    corrupt = root / "data" / "costs" / "month=2026-10" / "part-corrupt.parquet"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"PAR1 this is not a parquet file, only its first four bytes are right")
    (root / "empty").mkdir()
    (root / "scratch").mkdir()  # for cases that may write (a quarantine row), not "empty"
    (root / "a-file").write_text("not a lake\n")
    (root / "no-dragen").mkdir()
    return root


def run(args: list[str], place: Path, lake: str, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEQLEDGER_")}
    environ.update(SEQLEDGER_LAKE=lake, NO_COLOR="1", **(env or {}))
    return subprocess.run([SEQLEDGER, *args], cwd=place, env=environ, capture_output=True,
                          text=True, timeout=120, check=False)


# a port nobody listens on: the S3 endpoint is down
UNREACHABLE = {"SEQLEDGER_S3_ENDPOINT": "http://127.0.0.1:{port}",
               "AWS_EC2_METADATA_DISABLED": "true"}

# (case, arguments, lake, extra environment, exit code, first line of stderr (a regex))
CASES = [
    ("demo impossible month", ["demo", "--month", "2026-13"], "data", {}, 2,
     r"Error: Invalid value for '--month': '2026-13' is not a real month .*seqledger demo --help"),
    ("demo no samples", ["demo", "--samples", "0"], "data", {}, 2,
     r"Error: Invalid value for '--samples': 0 is not in the range x>=1"),
    ("demo negative samples", ["demo", "--samples", "-3"], "data", {}, 2,
     r"Error: Invalid value for '--samples': -3 is not in the range x>=1"),
    ("demo on a lake it does not own", ["demo", "--samples", "2"], "data", {}, 3,
     r"Error: refusing to play the demo into .*/data: it holds \d+ file\(s\) not made by the "
     r"demo .*--replace"),
    ("demo keep and replace", ["demo", "--keep", "--replace"], "empty", {}, 2,
     r"Error: --keep and --replace contradict each other"),
    ("report cost with a corrupt file", ["report", "cost"], "data", {}, 0,
     r"warning: skipped the unreadable file .*/data/costs/month=2026-10/part-corrupt\.parquet"),
    ("lake tables with a corrupt file", ["lake", "tables"], "data", {}, 0,
     r"warning: skipped the unreadable file .*/part-corrupt\.parquet"),
    ("lake tables, S3 endpoint unreachable", ["lake", "tables"], "s3://lake/prefix", UNREACHABLE,
     3, r"Error: cannot reach the lake s3://lake/prefix: .*SEQLEDGER_S3_ENDPOINT"),
    ("compact unknown table", ["lake", "compact", "--table", "nope"], "data", {}, 2,
     r"Error: Invalid value for '--table': 'nope' is not a table of the lake; one of: arrivals"),
    ("query negative limit", ["lake", "query", "SELECT 1", "--limit", "-1"], "data", {}, 2,
     r"Error: Invalid value for '--limit': -1 is not in the range x>=0"),
    ("query empty", ["lake", "query", ""], "data", {}, 2,
     r"Error: Invalid value for 'SQL': is empty"),
    ("query blank", ["lake", "query", "   "], "data", {}, 2,
     r"Error: Invalid value for 'SQL': is empty"),
    ("query unknown table", ["lake", "query", "SELECT * FROM nope"], "clean", {}, 1,
     r"Error: query failed: Catalog Error: Table with name nope does not exist"),
    ("report cost impossible month", ["report", "cost", "--month", "2026-13"], "data", {}, 2,
     r"Error: Invalid value for '--month': '2026-13' is not a real month"),
    ("report reconcile impossible month", ["report", "reconcile", "--month", "2026-13"], "data",
     {}, 2, r"Error: Invalid value for '--month': '2026-13'"),
    ("report untagged impossible month", ["report", "untagged", "--month", "2026-13"], "data",
     {}, 2, r"Error: Invalid value for '--month': '2026-13'"),
    ("report cost month not a month", ["report", "cost", "--month", "October"], "data", {}, 2,
     r"Error: Invalid value for '--month': 'October' is not a month: expected YYYY-MM"),
    ("compact impossible month", ["lake", "compact", "--month", "2026-13"], "data", {}, 2,
     r"Error: Invalid value for '--month': '2026-13'"),
    ("ddl impossible first month",
     ["lake", "ddl", "--location", "s3://b/p", "--first-month", "2026-13"], "data", {}, 2,
     r"Error: Invalid value for '--first-month': '2026-13'"),
    ("automation negative jobs", ["report", "automation", "--jobs", "-5"], "data", {}, 2,
     r"Error: Invalid value for '--jobs': -5 is not in the range x>=1"),
    ("qc gate unknown run", ["qc", "gate", "--run-id", "nope"], "clean", {}, 1,
     r"Error: no QC metrics for run nope in the lake .*/clean: check the run id"),
    ("ingest dragen empty folder",
     ["ingest", "dragen", "no-dragen", "--sample-id", "S1", "--run-id", "R1"], "scratch", {}, 1,
     r"Error: no-dragen: no DRAGEN metric file to load \(it is empty\)"),
    ("ingest dragen missing folder",
     ["ingest", "dragen", "nowhere", "--sample-id", "S1", "--run-id", "R1"], "scratch", {}, 2,
     r"Error: Invalid value for ROOT: 'nowhere' is not a folder"),
    ("report on a lake that does not exist", ["report", "cost"], "no-such-lake", {}, 3,
     r"Error: no lake at .*/no-such-lake \(the path does not exist\): set SEQLEDGER_LAKE"),
    ("lake tables on a file", ["lake", "tables"], "a-file", {}, 3,
     r"Error: the lake .*/a-file is a file, not a folder: set SEQLEDGER_LAKE"),
    ("report on an empty lake", ["report", "cost"], "empty", {}, 0,
     r"the lake at .*/empty holds no data yet: run `seqledger demo`"),
    ("lake setting not a folder or s3", ["lake", "tables"], "gs://nope", {}, 3,
     r"Error: SEQLEDGER_LAKE='gs://nope': only folders and s3:// URIs are supported"),
    ("unknown command", ["nope"], "data", {}, 2, r"Error: No such command 'nope'"),
]


@pytest.mark.parametrize(("args", "lake", "env", "code", "first"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_an_exit_code(place, args, lake, env, code, first):
    lake = lake if lake.startswith(("s3://", "gs://")) else str(place / lake)
    env = {k: v.format(port=free_port()) for k, v in env.items()}
    out = run(args, place, lake, env)
    lines = out.stderr.splitlines()
    assert out.returncode == code, out.stderr
    assert lines, "nothing on stderr"
    assert re.match(first, lines[0]), lines[0]
    assert "Traceback" not in out.stderr + out.stdout
    if code:  # a failure is exactly one line
        assert len(lines) == 1, out.stderr


def test_the_demo_refusal_leaves_the_lake_as_it_was(place):
    before = sorted(p.relative_to(place) for p in (place / "data").rglob("*"))
    for args in (["demo"], ["demo", "--month", "2026-13"], ["demo", "--keep"]):
        assert run(args, place, str(place / "data")).returncode in (2, 3)
    assert sorted(p.relative_to(place) for p in (place / "data").rglob("*")) == before


def test_debug_shows_the_traceback(place):
    out = run(["--debug", "lake", "tables"], place, str(place / "a-file"))
    assert out.returncode == 1 and "Traceback" in out.stderr
    out = run(["lake", "tables"], place, str(place / "a-file"), {"SEQLEDGER_DEBUG": "1"})
    assert "Traceback" in out.stderr


def _hear_ctrl_c() -> None:
    """The child hears ^C as a terminal's command does, even when the suite was started in the
    background (``make test &``: a shell without job control starts background jobs with SIGINT
    ignored, children inherit that, and the ^C these tests send would never arrive)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupt_is_one_line_and_130(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEQLEDGER_")}
    environ.update(SEQLEDGER_LAKE=str(tmp_path / "lake"), NO_COLOR="1")
    proc = subprocess.Popen([SEQLEDGER, "demo", "--samples", "40"], cwd=tmp_path, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_hear_ctrl_c)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("lake: ")  # the month is being played now
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    # Python acts on ^C between bytecodes: a long Arrow or DuckDB call finishes first, which
    # takes a while on a loaded machine.
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert err.splitlines()[-1].startswith("Error: interrupted"), err
    assert "Traceback" not in err


# A ^C inside a DuckDB query comes back as DuckDB's own RuntimeError("Query interrupted"); code that
# handles it as an ordinary failure carries on. The command must still end as interrupted (130).
_SWALLOWS_CTRL_C = """
import os, signal, threading
import click, duckdb
from seqledger.cli import BoundaryGroup

@click.group(cls=BoundaryGroup)
def main():
    pass

@main.command()
def work():
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    try:
        duckdb.sql("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3").fetchall()
    except RuntimeError as e:
        click.echo(f"handled: {e}")

main(["work"], prog_name="toy")
"""


def test_a_ctrl_c_that_duckdb_swallowed_still_ends_as_interrupted():
    proc = subprocess.run([sys.executable, "-c", _SWALLOWS_CTRL_C], capture_output=True, text=True,
                          timeout=120, preexec_fn=_hear_ctrl_c)
    assert proc.stdout.strip() == "handled: Query interrupted"
    assert proc.returncode == EXIT_INTERRUPTED, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "Error: interrupted (^C): every file written so far is whole, and running the command "
        "again is safe"]


@pytest.mark.parametrize(("exc", "code", "line"), [
    (LakeWriteError("could not write /lake/runs/x.parquet"),
     EXIT_LAKE, "could not write /lake/runs/x.parquet (retrying may help)"),
    (OSError(errno.ENOSPC, "No space left on device", "/lake/runs/x.parquet"),
     EXIT_LAKE, "disk full: /lake/runs/x.parquet: free some space"),
    (PermissionError(errno.EACCES, "Permission denied", "/lake/runs"),
     EXIT_LAKE, "permission denied: /lake/runs: give your user access"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "cur.parquet"),
     EXIT_INPUT, "cur.parquet: No such file or directory"),
    (KeyboardInterrupt(), EXIT_INTERRUPTED, "interrupted"),
    (ZeroDivisionError("division by zero"), EXIT_BUG, "internal error (ZeroDivisionError"),
])
def test_describe_maps_each_failure_to_a_code_and_a_line(exc, code, line):
    got_code, got_line = describe(exc)
    assert (got_code, got_line[:len(line)]) == (code, line)


@pytest.mark.skipif(not Path("/dev/full").is_char_device(), reason="needs /dev/full")
def test_a_disk_full_under_a_lake_write_is_named_as_such():
    """pyarrow's real error on a full device (/dev/full, written to, never replaced) names no
    file; wrapped as the store wraps it, the line still says disk full and which file."""
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    with (pytest.raises(OSError) as full,
          pafs.LocalFileSystem().open_output_stream("/dev/full") as out):
        pq.write_table(pa.table({"a": list(range(100_000))}), out)
    assert full.value.filename is None
    try:
        raise LakeWriteError(f"could not write /lake/costs/p.parquet: {full.value}") from full.value
    except LakeWriteError as e:
        code, line = describe(e)
    assert code == EXIT_LAKE
    assert line.startswith("disk full: could not write /lake/costs/p.parquet: ")
    assert line.endswith("free some space and run the command again (nothing half-written "
                         "was kept)")


def test_dashboard_check_is_not_healthy_when_another_program_holds_the_port(place):
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        out = run(["dashboard", "--check", "--port", str(port)], place, str(place / "clean"))
    assert out.returncode == EXIT_LAKE, out.stdout + out.stderr
    assert "healthy" not in out.stdout
    assert out.stderr.splitlines() == [
        f"Error: port {port} on 127.0.0.1 is in use by another program (Address already in use): "
        "stop it or choose another port with --port"]
