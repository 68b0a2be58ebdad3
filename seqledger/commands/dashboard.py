"""``seqledger dashboard``: the Streamlit app over the lake, on 127.0.0.1.

Served to a team (``--address 0.0.0.0`` or any address that is not loopback) the app must sit
behind the center's identity provider: with the ``SEQLEDGER_OIDC_*`` settings, the command writes
Streamlit's ``[auth]`` secrets into a private file for this start and the app asks everyone to
sign in (``st.login``); without them it refuses to bind. See docs/deploy-dashboard.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from seqledger.cli import Groups, handle_errors, settings_from

if TYPE_CHECKING:
    from lake.settings import OidcOptions

DEFAULT_PORT = 8501


def register(groups: Groups) -> None:
    groups.main.add_command(dashboard)


LOOPBACK = "127.0.0.1"


def streamlit_command(port: int, address: str = LOOPBACK, secrets_file: str | None = None
                      ) -> list[str]:
    """The ``streamlit run`` command line: headless, no usage statistics; on ``address``."""
    import sys
    from pathlib import Path

    import dashboards

    app = Path(dashboards.__file__).resolve().parent / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app),
           "--server.address", address, "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--global.developmentMode", "false",
           "--client.toolbarMode", "minimal"]
    if secrets_file:
        cmd += ["--secrets.files", secrets_file]
    return cmd


def is_loopback(address: str) -> bool:
    """Whether ``address`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def auth_secrets(oidc: OidcOptions, cookie_secret: str) -> str:
    """Streamlit's ``[auth]`` secrets (TOML) for one OpenID Connect provider."""
    import json

    def q(v: str) -> str:  # a TOML basic string is a JSON string
        return json.dumps(v)

    return ("[auth]\n"
            f"redirect_uri = {q(oidc.redirect_uri)}\n"
            f"cookie_secret = {q(cookie_secret)}\n"
            f"client_id = {q(oidc.client_id)}\n"
            f"client_secret = {q(oidc.client_secret)}\n"
            f"server_metadata_url = {q(oidc.metadata_url)}\n")


def _write_secrets(oidc: OidcOptions) -> str:
    """The ``[auth]`` secrets in a file only this user can read; its path."""
    import os
    import secrets
    import tempfile

    folder = tempfile.mkdtemp(prefix="seqledger-dashboard-")  # mode 0700
    path = os.path.join(folder, "secrets.toml")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(auth_secrets(oidc, oidc.cookie_secret or secrets.token_urlsafe(32)))
    return path


def _require_auth_off_loopback(address: str, oidc: OidcOptions | None) -> None:
    from lake.errors import ConfigError

    if oidc is None and not is_loopback(address):
        raise ConfigError(
            f"refusing to serve the dashboard on {address} without sign-in: set "
            "SEQLEDGER_OIDC_ISSUER, SEQLEDGER_OIDC_CLIENT_ID, SEQLEDGER_OIDC_CLIENT_SECRET and "
            "SEQLEDGER_OIDC_REDIRECT_URI (docs/deploy-dashboard.md), or bind to 127.0.0.1")


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help=f"Port (default {DEFAULT_PORT}; with --check, a free one).")
@click.option("--address", default=LOOPBACK, show_default=True,
              help="Address to bind. Anything but loopback needs the SEQLEDGER_OIDC_* sign-in "
                   "settings.")
@click.option("--check", is_flag=True,
              help="Start the app, wait until it answers /_stcore/health, stop it and exit 0.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait with --check.")
@click.pass_context
@handle_errors
def dashboard(ctx: click.Context, port: int | None, address: str, check: bool,
              timeout: float) -> None:
    """Open the dashboard (runs, failures, cost, storage, QC, releases) over the lake.

    On 127.0.0.1 unless --address says otherwise; off loopback, only with OIDC sign-in.
    """
    import os

    settings = settings_from(ctx)
    _require_auth_off_loopback(address, settings.oidc)
    env = {**os.environ, "SEQLEDGER_LAKE": settings.lake_uri}
    secrets_file = _write_secrets(settings.oidc) if settings.oidc else None
    if port is not None or not check:
        port = port or DEFAULT_PORT
        _require_free(port, address)  # else the health check could be answered by the other
    if not check:
        who = "sign-in required" if secrets_file else "no sign-in"
        click.echo(f"dashboard on http://{address}:{port}/ over {settings.lake_uri} ({who}; "
                   "Ctrl-C stops)")
        cmd = streamlit_command(port, address, secrets_file)
        os.execve(cmd[0], cmd, env)  # the app replaces this process: one process to stop
    try:
        _check(port or _free_port(), env, timeout, address, secrets_file)
    finally:
        if secrets_file:  # the check's own copy of the client secret goes with it
            import shutil

            shutil.rmtree(os.path.dirname(secrets_file), ignore_errors=True)


def _require_free(port: int, address: str = LOOPBACK) -> None:
    import socket

    from lake.errors import ConfigError

    with socket.socket() as s:
        try:
            s.bind((address, port))
        except OSError as e:
            raise ConfigError(f"port {port} on {address} is in use by another program "
                              f"({e.strerror}): stop it or choose another port with --port"
                              ) from e


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check(port: int, env: dict[str, str], timeout: float, address: str = LOOPBACK,
           secrets_file: str | None = None) -> None:
    import subprocess
    import time
    import urllib.request

    from lake.errors import TransientError

    url = f"http://127.0.0.1:{port}/_stcore/health"
    proc = subprocess.Popen(streamlit_command(port, address, secrets_file), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
