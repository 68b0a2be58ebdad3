"""``seqledger dashboard``: loopback by default, no non-local bind without OIDC sign-in, and the
``[auth]`` secrets Streamlit's ``st.login`` reads, generated from the settings."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import seqledger.cli  # noqa: F401 - registers the commands first (as the entry point does)
from lake.errors import ConfigError
from lake.settings import Settings
from seqledger.commands.dashboard import auth_secrets, is_loopback, streamlit_command

SEQLEDGER = str(Path(sys.executable).with_name("seqledger"))
OIDC = {"SEQLEDGER_OIDC_ISSUER": "https://idp.genome.example.org/realms/ops",
        "SEQLEDGER_OIDC_CLIENT_ID": "seqledger-dashboard",
        "SEQLEDGER_OIDC_CLIENT_SECRET": "s3cr\"et",
        "SEQLEDGER_OIDC_REDIRECT_URI": "https://dash.genome.example.org/oauth2callback"}


def _run(args: list[str], lake: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEQLEDGER_")}
    environ.update(SEQLEDGER_LAKE=str(lake), NO_COLOR="1", **(env or {}))
    return subprocess.run([SEQLEDGER, "dashboard", *args], env=environ, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("address", ["0.0.0.0", "10.1.2.3", "dash.genome.example.org"])
def test_a_non_local_address_without_sign_in_is_refused(tmp_path, address):
    out = _run(["--address", address, "--check"], tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        f"Error: refusing to serve the dashboard on {address} without sign-in: set "
        "SEQLEDGER_OIDC_ISSUER, SEQLEDGER_OIDC_CLIENT_ID, SEQLEDGER_OIDC_CLIENT_SECRET and "
        "SEQLEDGER_OIDC_REDIRECT_URI (docs/deploy-dashboard.md), or bind to 127.0.0.1"]


def test_half_an_oidc_configuration_is_named(tmp_path):
    out = _run(["--address", "0.0.0.0"], tmp_path,
               {"SEQLEDGER_OIDC_ISSUER": OIDC["SEQLEDGER_OIDC_ISSUER"]})
    assert out.returncode == 3
    assert out.stderr.splitlines() == [
        "Error: OIDC sign-in is half configured: set SEQLEDGER_OIDC_CLIENT_ID, "
        "SEQLEDGER_OIDC_CLIENT_SECRET, SEQLEDGER_OIDC_REDIRECT_URI too (or unset every "
        "SEQLEDGER_OIDC_* setting)"]


def test_loopback_addresses():
    assert [is_loopback(a) for a in ("127.0.0.1", "127.3.0.1", "::1", "localhost", "0.0.0.0",
                                     "192.168.1.10", "dash.example.org", "::")] == [
        True, True, True, True, False, False, False, False]
    cmd = streamlit_command(8600)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert "--secrets.files" not in cmd


def test_the_auth_secrets_are_what_st_login_reads():
    oidc = Settings.from_env(OIDC).oidc
    assert oidc is not None and "s3cr" not in repr(oidc)
    parsed = tomllib.loads(auth_secrets(oidc, "cookie-123"))
    assert parsed == {"auth": {
        "redirect_uri": "https://dash.genome.example.org/oauth2callback",
        "cookie_secret": "cookie-123", "client_id": "seqledger-dashboard",
        "client_secret": "s3cr\"et",
        "server_metadata_url": "https://idp.genome.example.org/realms/ops/.well-known/"
                               "openid-configuration"}}
    with pytest.raises(ConfigError, match="expected the app's address ending in /oauth2callback"):
        Settings.from_env({**OIDC, "SEQLEDGER_OIDC_REDIRECT_URI": "https://dash.example.org/"})


def test_the_budget_setting_is_a_positive_number():
    assert Settings.from_env({"SEQLEDGER_MONTHLY_BUDGET_USD": "25000"}).monthly_budget_usd \
        == 25000.0
    assert Settings.from_env({}).monthly_budget_usd is None
    with pytest.raises(ConfigError, match=r"SEQLEDGER_MONTHLY_BUDGET_USD='-5': expected a "):
        Settings.from_env({"SEQLEDGER_MONTHLY_BUDGET_USD": "-5"})


def test_with_sign_in_configured_the_app_starts_with_its_auth_secrets(tmp_path):
    tmp_path.joinpath("lake").mkdir()
    private = tmp_path / "tmp"
    private.mkdir()
    out = _run(["--check", "--timeout", "90"], tmp_path / "lake", {**OIDC, "TMPDIR": str(private)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("dashboard healthy on 127.0.0.1:")
    assert not [p for p in private.iterdir() if p.name.startswith("seqledger-dashboard-")]
