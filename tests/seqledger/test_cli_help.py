"""Every command answers --help, and the main help shows the lake setting and its default."""

import re

import click
import pytest
from click.testing import CliRunner

from seqledger.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


def test_main_help_names_the_lake_variable_and_default():
    out = CliRunner().invoke(main, ["--help"]).output
    assert "SEQLEDGER_LAKE" in out and ".seqledger/lake" in out


def test_main_help_lists_every_exit_code_the_readme_documents():
    """A script author reads `seqledger --help`; 75 (run again later) was missing from it."""
    from seqledger import cli

    codes = {v for k, v in vars(cli).items() if k.startswith("EXIT_")}
    out = CliRunner().invoke(main, ["--help"]).output
    listed = {int(c) for c in re.findall(r"(?:^|;)\s*(\d+) ", out.split("Exit codes:")[1])}
    assert codes == {0, 1, 2, 3, 70, 75, 130}
    assert listed == codes, out


@pytest.mark.parametrize("path", list(_commands(main)), ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    cmd = main
    for part in path:
        cmd = cmd.commands[part]
    assert cmd.help, f"{' '.join(path)} has no help text"


def test_bad_lake_setting_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("SEQLEDGER_LAKE", "gs://nope")
    result = CliRunner().invoke(main, ["lake", "tables"])
    assert result.exit_code == 3
    assert "SEQLEDGER_LAKE" in result.output
