"""`seqledger infra package`: the Lambda zip holds only what the handlers import."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqledger.cli import main
from seqledger.commands import infra as infra_commands
from seqledger.commands.infra import (
    MIB,
    import_closure,
    missing_at_runtime,
    package_files,
    size_report,
    write_zip,
)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project shaped like ours: handlers in ingest, a lake, a runner, a CLI."""
    _write(tmp_path, {
        "lake/__init__.py": "",
        "lake/store.py": "import pyarrow as pa\nfrom .errors import E\n",
        "lake/errors.py": "class E(Exception):\n    pass\n",
        "lake/data/prices.csv": "sku,usd\n",
        "lake/__pycache__/store.cpython-311.pyc": "compiled",
        "pipeline_runner/__init__.py": "",
        "pipeline_runner/policy.py": "from lake import errors\n",
        "ingest/__init__.py": "",
        "ingest/handlers.py": (
            "from typing import TYPE_CHECKING\n"
            "from lake.store import pa\n"
            "from pipeline_runner import policy\n"
            "if TYPE_CHECKING:\n"
            "    from analytics import engine\n"
            "def on_object_created(event, context=None):\n"
            "    import boto3\n"
            "    import duckdb\n"
            "    return boto3, duckdb\n"
        ),
        "analytics/__init__.py": "import duckdb\n",
        "analytics/engine.py": "",
        "seqledger/__init__.py": "import click\n",
    })
    return tmp_path


def test_closure_follows_our_imports_and_stops_at_the_handlers_needs(project):
    closure = import_closure(project, ["ingest.handlers"])
    assert closure.packages == ["ingest", "lake", "pipeline_runner"]
    assert sorted(closure.modules) == [
        "ingest", "ingest.handlers", "lake", "lake.errors", "lake.store",
        "pipeline_runner", "pipeline_runner.policy"]
    assert closure.reached_from["pipeline_runner"] == "ingest.handlers"


def test_imports_lambda_lacks_are_found_and_told_apart_by_when_they_run(project):
    closure = import_closure(project, ["ingest.handlers"])
    external = {(i.name, i.by, i.at_import) for i in closure.external}
    assert ("pyarrow", "lake.store", True) in external
    assert ("duckdb", "ingest.handlers", False) in external
    missing = missing_at_runtime(closure)  # boto3 is in the runtime, pyarrow in the layer
    assert [(m.name, m.at_import) for m in missing] == [("duckdb", False)]


def test_a_missing_entry_module_is_a_clear_error(project):
    from lake.errors import ConfigError

    with pytest.raises(ConfigError, match="entry module ingest.nothing not found"):
        import_closure(project, ["ingest.nothing"])


def test_zip_is_reproducible_and_holds_only_the_packages_files(project, tmp_path):
    files = package_files(project, ["ingest", "lake", "pipeline_runner"])
    first, second = tmp_path / "a" / "f.zip", tmp_path / "b" / "f.zip"
    sizes = write_zip(files, first)
    write_zip(files, second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
    assert names == [
        "ingest/__init__.py", "ingest/handlers.py", "lake/__init__.py", "lake/data/prices.csv",
        "lake/errors.py", "lake/store.py", "pipeline_runner/__init__.py",
        "pipeline_runner/policy.py"]
    assert sizes == (first.stat().st_size, sum(p.stat().st_size for _, p in files))


def test_size_report_against_lambda_limits():
    lines = size_report(5 * MIB, 20 * MIB, None)
    assert lines[0].split() == ["zipped", "5.00", "MiB", "of", "50", "MiB", "for", "a", "direct",
                                "upload", "(10.0", "%)"]
    assert "(8.0 % before the AWSSDKPandas layer" in lines[1]
    lines = size_report(5 * MIB, 20 * MIB, 180 * MIB)
    assert "= 200.00 MiB of 250 MiB (80.0 %)" in lines[1]


def test_package_refuses_a_handler_that_pulls_in_the_cli(project, monkeypatch, tmp_path):
    _write(project, {"ingest/handlers.py": (
        "import seqledger\n"
        "def on_object_created(e, c=None): pass\n"
        "def on_job_state_change(e, c=None): pass\n"
        "def compact_lake(e=None, c=None): pass\n")})
    monkeypatch.setattr(infra_commands, "PROJECT_ROOT", project)
    result = CliRunner().invoke(main, ["infra", "package", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 3  # a configuration problem (README: exit codes)
    assert "seqledger (via ingest.handlers)" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_package_refuses_missing_handlers(project, monkeypatch, tmp_path):
    monkeypatch.setattr(infra_commands, "PROJECT_ROOT", project)
    result = CliRunner().invoke(main, ["infra", "package", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 3  # a configuration problem (README: exit codes)
    assert "ingest.handlers defines no on_job_state_change" in result.output
    assert "ingest.handlers defines no compact_lake" in result.output


def test_real_package_has_lake_ingest_and_runner_only(tmp_path):
    out = tmp_path / "seqledger-lambda.zip"
    result = CliRunner().invoke(main, [
        "infra", "package", "--out", str(out), "--artifact-bucket", "centre-artefacts",
        "--region", "eu-west-2", "--param", "VpcId=vpc-0abc", "--param", "Project=oncology"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        tops = {n.split("/")[0] for n in zf.namelist()}
        assert "ingest/handlers.py" in zf.namelist()
    assert tops == {"ingest", "lake", "pipeline_runner"}
    assert "not included: analytics, expectations, dashboards, seqledger" in result.output
    assert f"of {infra_commands.ZIPPED_LIMIT // MIB} MiB for a direct upload" in result.output
    # The printed commands package the repository template and name every required parameter.
    assert "--template-file infra/seqledger.yaml --s3-bucket centre-artefacts" in result.output
    assert "--capabilities CAPABILITY_NAMED_IAM" in result.output
    assert "VpcId=vpc-0abc" in result.output
    assert "--tags project=oncology cost_centre=genomics-platform" in result.output
    for name in infra_commands.REQUIRED_PARAMETERS:
        assert f"{name}=" in result.output
    # Outside us-east-1 the layer default does not apply: the command says so.
    assert "SdkPandasLayerArn='arn:aws:lambda:eu-west-2:336392948345:layer:" in result.output


def test_bad_param_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["infra", "package", "--out", str(tmp_path / "p.zip"),
                                       "--param", "VpcId"])
    assert result.exit_code == 2  # a bad option
    assert "expected KEY=VALUE" in result.output
