"""`seqledger infra package`: the Lambda zip holds only what the handlers import (the build
itself, run from the zip in a clean interpreter, is tested in test_lambda_artefact.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqledger import lambda_build
from seqledger.cli import main
from seqledger.commands import infra as infra_commands
from seqledger.lambda_build import (
    MIB,
    copy_packages,
    distributions_for,
    import_closure,
    size_report,
    strip_tree,
    tree_files,
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


def test_third_party_imports_are_found_and_told_apart_by_when_they_run(project):
    closure = import_closure(project, ["ingest.handlers"])
    external = {(i.name, i.by, i.at_import) for i in closure.external}
    assert ("pyarrow", "lake.store", True) in external
    assert ("duckdb", "ingest.handlers", False) in external
    assert closure.third_party == ["boto3", "duckdb", "pyarrow"]  # analytics' click is not


def test_imports_map_to_locked_distributions_or_a_clear_error():
    installed = {"dateutil": ["python-dateutil"], "pyarrow": ["pyarrow"]}
    assert distributions_for(["pyarrow", "dateutil"], installed) == {
        "dateutil": "python-dateutil", "pyarrow": "pyarrow"}
    from lake.errors import ConfigError

    with pytest.raises(ConfigError, match="import yaml, which no locked dependency provides"):
        distributions_for(["pyarrow", "yaml"], installed)


def test_strip_keeps_what_loads_and_drops_tests_headers_and_flight(tmp_path):
    _write(tmp_path, {
        "pyarrow/__init__.py": "", "pyarrow/libarrow.so.2500": "x" * 10,
        "pyarrow/libarrow_python.so.2500": "p", "pyarrow/libarrow_python.so": "p",
        "pyarrow/libarrow_python.so.2500.1.0": "p", "pyarrow/libarrow_flight.so.2500": "f" * 7,
        "pyarrow/_flight.cpython-311-x86_64-linux-gnu.so": "f", "pyarrow/lib.pyx": "cython",
        "pyarrow/include/arrow/api.h": "h", "pyarrow/tests/test_x.py": "t",
        "pyarrow-25.0.1.dist-info/METADATA": "m", "botocore/data/batch/service-2.json": "{}",
    })
    removed = strip_tree(tmp_path)
    assert sorted(n for n, _ in tree_files(tmp_path)) == [
        "botocore/data/batch/service-2.json", "pyarrow-25.0.1.dist-info/METADATA",
        "pyarrow/__init__.py", "pyarrow/libarrow.so.2500", "pyarrow/libarrow_python.so.2500"]
    assert removed == 1 + 1 + 7 + 1 + len("cython") + 1 + 1


def test_a_missing_entry_module_is_a_clear_error(project):
    from lake.errors import ConfigError

    with pytest.raises(ConfigError, match="entry module ingest.nothing not found"):
        import_closure(project, ["ingest.nothing"])


def test_zip_is_reproducible_and_holds_only_the_packages_files(project, tmp_path):
    tree = tmp_path / "tree"
    copy_packages(project, ["ingest", "lake", "pipeline_runner"], tree)
    files = tree_files(tree)
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
    lines = size_report(5 * MIB, 200 * MIB)
    assert lines[0].split()[:3] == ["zipped", "5.00", "MiB"]
    assert "10.0 % of the 50 MiB direct-upload quota" in lines[0]
    assert lines[1].split() == ["unzipped", "200.00", "MiB", "of", "250", "MiB", "(80.0", "%;",
                                "no", "layers)"]


def test_a_package_over_the_unzipped_limit_is_refused(project, monkeypatch, tmp_path):
    from lake.errors import ConfigError

    _write(project, {"ingest/handlers.py": (
        "from lake import store\n"
        "def on_object_created(e, c=None): pass\n"
        "def on_job_state_change(e, c=None): pass\n"
        "def compact_lake(e=None, c=None): pass\n"
        "def load_billing_exports(e=None, c=None): pass\n")})
    monkeypatch.setattr(lambda_build, "UNZIPPED_LIMIT", 10)
    monkeypatch.setattr(lambda_build, "install_runtime",
                        lambda uv, root, dists, target: _write(target, {"pyarrow/__init__.py": ""}))
    out = tmp_path / "out" / "f.zip"
    with pytest.raises(ConfigError, match="over Lambda's 0 MiB limit"):
        lambda_build.build(project, out, uv="uv")
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # the staging folder is gone too


def test_package_refuses_a_handler_that_pulls_in_the_cli(project, monkeypatch, tmp_path):
    _write(project, {"ingest/handlers.py": (
        "import seqledger\n"
        "def on_object_created(e, c=None): pass\n"
        "def on_job_state_change(e, c=None): pass\n"
        "def compact_lake(e=None, c=None): pass\n"
        "def load_billing_exports(e=None, c=None): pass\n")})
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


def test_deploy_commands_name_every_required_parameter_and_no_layer():
    text = infra_commands.deploy_commands("centre-artefacts", "seqledger", "eu-west-2",
                                          {"VpcId": "vpc-0abc", "Project": "oncology"})
    assert "--template-file infra/seqledger.yaml --s3-bucket centre-artefacts" in text
    assert "--capabilities CAPABILITY_NAMED_IAM" in text
    assert "VpcId=vpc-0abc" in text
    assert "--tags project=oncology cost_centre=genomics-platform" in text
    for name in infra_commands.REQUIRED_PARAMETERS:
        assert f"{name}=" in text
    assert "Layer" not in text


def test_bad_param_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["infra", "package", "--out", str(tmp_path / "p.zip"),
                                       "--param", "VpcId"])
    assert result.exit_code == 2  # a bad option
    assert "expected KEY=VALUE" in result.output
