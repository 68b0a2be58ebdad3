"""``seqledger dashboard``: the Streamlit app over the lake, on 127.0.0.1."""

from __future__ import annotations

import click

from seqledger.cli import Groups, handle_errors, settings_from

DEFAULT_PORT = 8501


def register(groups: Groups) -> None:
    groups.main.add_command(dashboard)


def streamlit_command(port: int) -> list[str]:
    """The ``streamlit run`` command line: loopback only, headless, no usage statistics."""
    import sys
    from pathlib import Path

    import dashboards

    app = Path(dashboards.__file__).resolve().parent / "app.py"
    return [sys.executable, "-m", "streamlit", "run", str(app),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--global.developmentMode", "false",
            "--client.toolbarMode", "minimal"]


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help=f"Port on 127.0.0.1 (default {DEFAULT_PORT}; with --check, a free one).")
@click.option("--check", is_flag=True,
              help="Start the app, wait until it answers /_stcore/health, stop it and exit 0.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait with --check.")
@click.pass_context
@handle_errors
def dashboard(ctx: click.Context, port: int | None, check: bool, timeout: float) -> None:
    """Open the dashboard (throughput, failures, cost, QC) over the lake on 127.0.0.1."""
    import os

    settings = settings_from(ctx)
    env = {**os.environ, "SEQLEDGER_LAKE": settings.lake_uri}
    if port is not None or not check:
        port = port or DEFAULT_PORT
        _require_free(port)  # else the health check could be answered by the other program
    if not check:
        click.echo(f"dashboard on http://127.0.0.1:{port}/ over {settings.lake_uri} (Ctrl-C stops)")
        cmd = streamlit_command(port)
        os.execve(cmd[0], cmd, env)  # the app replaces this process: one process to stop
    _check(port or _free_port(), env, timeout)


def _require_free(port: int) -> None:
    import socket

    from lake.errors import ConfigError

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise ConfigError(f"port {port} on 127.0.0.1 is in use by another program "
                              f"({e.strerror}): stop it or choose another port with --port"
                              ) from e


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check(port: int, env: dict[str, str], timeout: float) -> None:
    import subprocess
    import time
    import urllib.request

    from lake.errors import TransientError

    url = f"http://127.0.0.1:{port}/_stcore/health"
    proc = subprocess.Popen(streamlit_command(port), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise TransientError(f"streamlit exited with {proc.returncode}: {out[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback
                    if r.read().decode().strip() == "ok" and proc.poll() is None:
                        click.echo(f"dashboard healthy on 127.0.0.1:{port} "
                                   f"after {time.monotonic() - started:.1f} s")
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise TransientError(f"dashboard did not answer {url} within {timeout:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
