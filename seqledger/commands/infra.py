"""``seqledger infra glue-tables|package`` and ``seqledger lake ddl``: the AWS deployment.

``infra/seqledger.yaml`` is the stack; ``infra/generated/glue-tables.json`` (its nested catalog
stack) is generated from the lake's schemas. ``infra package`` builds the one Lambda zip the three
functions share and prints the two ``aws cloudformation`` commands that deploy everything.
"""

from __future__ import annotations

import ast
import difflib
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import click

from lake.errors import ConfigError
from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.params import MONTH

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROOT_TEMPLATE = Path("infra/seqledger.yaml")
GLUE_TEMPLATE = Path("infra/generated/glue-tables.json")
LAMBDA_ZIP = Path("build/lambda/seqledger-lambda.zip")  # as infra/seqledger.yaml names it

# The functions' entry points, as infra/seqledger.yaml declares them (a test keeps them equal).
HANDLERS = {
    "dispatcher": "ingest.handlers.on_object_created",
    "recorder": "ingest.handlers.on_job_state_change",
    "compactor": "ingest.handlers.compact_lake",
}
FIRST_PARTY = ("lake", "ingest", "pipeline_runner", "analytics", "expectations", "dashboards",
               "seqledger")
# Never in the Lambda: the command line and the presentation layers (DESIGN.md layout).
NOT_IN_LAMBDA = ("analytics", "expectations", "dashboards", "seqledger")
# What a python3.11 function has without us shipping it: the runtime's AWS SDK, and the AWS SDK
# for pandas managed layer (awswrangler with pyarrow, pandas, numpy and their pure dependencies).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil"})
LAYER_PROVIDED = frozenset({"awswrangler", "pyarrow", "pandas", "numpy", "pytz"})

MIB = 1024 * 1024
ZIPPED_LIMIT = 50 * MIB  # Lambda quota: deployment package, zipped, direct upload
UNZIPPED_LIMIT = 250 * MIB  # Lambda quota: function and all its layers, unzipped

# Parameters the deployer must give (no default in the template; a test keeps this in sync).
REQUIRED_PARAMETERS = {
    "VpcId": "vpc-…",
    "SubnetIds": "subnet-…,subnet-…",
    "DragenImage": "ACCOUNT.dkr.ecr.REGION.amazonaws.com/dragen:VERSION",
    "DragenAmiId": "ami-…",
}
DEFAULT_LAYER_REGION = "us-east-1"


def register(groups: Groups) -> None:
    groups.infra.add_command(glue_tables)
    groups.infra.add_command(package)
    groups.lake.add_command(ddl)


# -- the Glue catalog ------------------------------------------------------------------------------

@click.command("glue-tables")
@click.option("--check", is_flag=True,
              help="Do not write: exit 1 with a diff when the committed template has drifted.")
@click.option("--path", "path", type=click.Path(path_type=Path), default=None,
              help=f"Template to write or check (default: {GLUE_TEMPLATE}).")
@handle_errors
def glue_tables(check: bool, path: Path | None) -> None:
    """Regenerate the Glue tables template from the lake's schemas (or check it with --check)."""
    from lake.catalog import describe_drift, render_template
    from lake.schemas import TABLES

    path = path or PROJECT_ROOT / GLUE_TEMPLATE
    generated = render_template()
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    drift = describe_drift(committed, generated) if committed else [f"{path} does not exist"]
    if not drift:
        click.echo(f"{path}: up to date ({len(TABLES)} tables)")
        return
    if check:
        diff = difflib.unified_diff(committed.splitlines(keepends=True),
                                    generated.splitlines(keepends=True),
                                    fromfile=f"{path} (committed)", tofile=f"{path} (from schemas)")
        click.echo("".join(diff), nl=False)
        for line in drift:
            click.secho(f"drift: {line}", fg="red", err=True)
        click.secho("The Glue tables no longer match the lake's schemas: run "
                    "`seqledger infra glue-tables` and commit the result.", fg="red", err=True)
        sys.exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generated, encoding="utf-8")
    for line in drift:
        click.echo(f"updated: {line}")
    click.echo(f"wrote {path} ({len(TABLES)} tables)")


@click.command("ddl")
@click.option("--database", default=None,
              help="Database name (default: SEQLEDGER_GLUE_DATABASE).")
@click.option("--location", default=None,
              help="s3://bucket/prefix of the lake (default: SEQLEDGER_LAKE when it is on S3).")
@click.option("--first-month", type=MONTH, default=None,
              help="Earliest month Athena projects, YYYY-MM.")
@click.pass_context
@handle_errors
def ddl(ctx: click.Context, database: str | None, location: str | None,
        first_month: str | None) -> None:
    """Print Athena CREATE EXTERNAL TABLE statements (partition projection) for every table."""
    from lake.catalog import DEFAULT_FIRST_MONTH, athena_ddl_all

    settings = settings_from(ctx)
    location = location or (settings.lake_uri if settings.lake_is_s3 else None)
    if not location or not location.startswith("s3://"):
        raise ConfigError("Athena reads the lake from S3: give --location s3://bucket/prefix "
                          "or set SEQLEDGER_LAKE to the s3:// lake")
    click.echo(athena_ddl_all(database or settings.athena_database, location,
                              first_month or DEFAULT_FIRST_MONTH), nl=False)


# -- the Lambda package ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportedName:
    """A top-level package one of the handlers' modules imports."""

    name: str
    by: str  # the importing module
    at_import: bool  # imported when the module loads (not inside a function)


@dataclass
class Closure:
    """The first-party modules the handlers reach, and everything else they import."""

    modules: dict[str, Path] = field(default_factory=dict)
    # package -> the first module found importing it
    reached_from: dict[str, str] = field(default_factory=dict)
    external: list[ImportedName] = field(default_factory=list)

    @property
    def packages(self) -> list[str]:
        return sorted({m.split(".")[0] for m in self.modules})


def module_file(root: Path, module: str) -> Path | None:
    """The source file of a module under root (``a/b.py`` or ``a/b/__init__.py``), if any."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _classify_nodes(tree: ast.Module) -> tuple[set[int], set[int]]:
    """Ids of the nodes run at import (outside functions), and of those that never run
    (under ``if TYPE_CHECKING:``)."""
    eager: set[int] = set()
    never: set[int] = set()

    def visit(node: ast.AST, at_import: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            never.update(id(n) for stmt in node.body for n in ast.walk(stmt))
            for child in node.orelse:
                visit(child, at_import)
            return
        if at_import:
            eager.add(id(node))
        inside_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, at_import and not inside_function)

    for stmt in tree.body:
        visit(stmt, True)
    return eager, never


def _imports(module: str, path: Path) -> Iterable[tuple[str, bool]]:
    """(imported module, at import time) for every import statement in one module's source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    eager, never = _classify_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in never:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in eager
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target, id(node) in eager
            # `from pkg import mod` imports the submodule pkg.mod when there is one.
            for alias in node.names:
                yield f"{target}.{alias.name}", id(node) in eager


def import_closure(root: Path, entries: Iterable[str],
                   first_party: Iterable[str] = FIRST_PARTY) -> Closure:
    """Follow the imports of ``entries`` through the project's own modules under ``root``.

    Raises:
        ConfigError: an entry module does not exist.
    """
    ours = set(first_party)
    closure = Closure()
    queue: list[tuple[str, str]] = []
    for entry in entries:
        if module_file(root, entry) is None:
            raise ConfigError(f"entry module {entry} not found under {root}")
        queue.append((entry, "(entry)"))
    seen_external: set[tuple[str, str]] = set()
    while queue:
        module, by = queue.pop()
        if module in closure.modules:
            continue
        path = module_file(root, module)
        if path is None:
            continue  # `from pkg import name` where name is not a module
        closure.modules[module] = path
        closure.reached_from.setdefault(module.split(".")[0], by)
        parts = module.split(".")
        queue += [(".".join(parts[:i]), module) for i in range(1, len(parts))]
        for target, at_import in _imports(module, path):
            top = target.split(".")[0]
            if not top:
                continue
            if top in ours:
                queue.append((target, module))
            elif top not in sys.stdlib_module_names and (top, module) not in seen_external:
                seen_external.add((top, module))
                closure.external.append(ImportedName(top, module, at_import))
    return closure


def missing_at_runtime(closure: Closure) -> list[ImportedName]:
    """Imports neither shipped, nor in the Lambda runtime, nor in the SDK for pandas layer."""
    provided = RUNTIME_PROVIDED | LAYER_PROVIDED
    return [i for i in closure.external if i.name not in provided]


def package_files(root: Path, packages: Iterable[str]) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every file of the packages, in a stable order."""
    files = []
    for package_name in sorted(packages):
        for path in sorted((root / package_name).rglob("*")):
            rel = path.relative_to(root)
            hidden = any(p.startswith(".") or p == "__pycache__" for p in rel.parts)
            if not path.is_file() or hidden or path.suffix in (".pyc", ".pyo"):
                continue
            files.append((rel.as_posix(), path))
    return files


def write_zip(files: Iterable[tuple[str, Path]], out: Path) -> tuple[int, int]:
    """A reproducible zip (fixed times and modes) of files; returns (zipped, unzipped) bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.partial")
    unzipped = 0
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, path in files:
            data = path.read_bytes()
            unzipped += len(data)
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(out)
    return out.stat().st_size, unzipped


def handler_problems(root: Path, handlers: Mapping[str, str]) -> list[str]:
    """Handlers whose module or module-level function does not exist."""
    problems = []
    for function, target in handlers.items():
        module, _, name = target.rpartition(".")
        path = module_file(root, module)
        if path is None:
            problems.append(f"{function}: module {module} not found ({target})")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        defined = {n.name for n in tree.body
                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        defined |= {t.id for n in tree.body if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}
        if name not in defined:
            problems.append(f"{function}: {module} defines no {name} ({target})")
    return problems


def size_report(zipped: int, unzipped: int, layer_bytes: int | None) -> list[str]:
    """Lines comparing the package with Lambda's limits; layer_bytes None when unknown."""
    lines = [f"zipped    {zipped / MIB:8.2f} MiB  of {ZIPPED_LIMIT // MIB} MiB for a direct "
             f"upload ({100 * zipped / ZIPPED_LIMIT:.1f} %)"]
    if layer_bytes is None:
        lines.append(f"unzipped  {unzipped / MIB:8.2f} MiB  of {UNZIPPED_LIMIT // MIB} MiB with "
                     f"layers ({100 * unzipped / UNZIPPED_LIMIT:.1f} % before the AWSSDKPandas "
                     "layer; give --layer-mb to count it)")
    else:
        total = unzipped + layer_bytes
        lines.append(f"unzipped  {unzipped / MIB:8.2f} MiB + layer {layer_bytes / MIB:.2f} MiB = "
                     f"{total / MIB:.2f} MiB of {UNZIPPED_LIMIT // MIB} MiB "
                     f"({100 * total / UNZIPPED_LIMIT:.1f} %)")
    return lines


def deploy_commands(artifact_bucket: str | None, stack_name: str, region: str,
                    parameters: Mapping[str, str]) -> str:
    """The `aws cloudformation package` + `deploy` pair, with every required parameter."""
    bucket = artifact_bucket or "<artifact-bucket>"
    given = dict(parameters)
    if region != DEFAULT_LAYER_REGION and "SdkPandasLayerArn" not in given:
        given["SdkPandasLayerArn"] = (f"arn:aws:lambda:{region}:336392948345:layer:"
                                      "AWSSDKPandas-Python311:<version for this region>")
    ordered = {k: given.pop(k, f"<{v}>") for k, v in REQUIRED_PARAMETERS.items()} | given
    overrides = " \\\n      ".join(f"{k}={_shell(v)}" for k, v in ordered.items())
    project = ordered.get("Project", "seqledger")
    cost_centre = ordered.get("CostCentre", "genomics-platform")
    packaged = "build/seqledger.packaged.yaml"
    return (
        f"aws cloudformation package --region {region} \\\n"
        f"    --template-file {ROOT_TEMPLATE} --s3-bucket {bucket} --s3-prefix {stack_name} \\\n"
        f"    --output-template-file {packaged}\n"
        f"aws cloudformation deploy --region {region} \\\n"
        f"    --template-file {packaged} --stack-name {stack_name} \\\n"
        f"    --s3-bucket {bucket} --s3-prefix {stack_name} \\\n"
        f"    --capabilities CAPABILITY_NAMED_IAM \\\n"
        f"    --tags project={_shell(project)} cost_centre={_shell(cost_centre)} \\\n"
        f"    --parameter-overrides \\\n      {overrides}\n"
    )


def _shell(value: str) -> str:
    safe = all(c.isalnum() or c in "-_.,:/=@+" for c in value)
    return value if safe and value else "'" + value.replace("'", "'\\''") + "'"


@click.command("package")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help=f"Zip to write (default: {LAMBDA_ZIP}, where the template expects it).")
@click.option("--artifact-bucket", default=None,
              help="Bucket `aws cloudformation package` uploads the zip and templates to.")
@click.option("--stack-name", default="seqledger", show_default=True)
@click.option("--region", default=None,
              help="Deployment region (default: AWS_REGION or us-east-1).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A stack parameter for the printed deploy command (repeatable).")
@click.option("--layer-mb", type=float, default=None,
              help="Unzipped size of the AWSSDKPandas layer in MiB, to check the 250 MiB total.")
@click.pass_context
@handle_errors
def package(ctx: click.Context, out: Path | None, artifact_bucket: str | None, stack_name: str,
            region: str | None, params: tuple[str, ...], layer_mb: float | None) -> None:
    """Build the Lambda zip from the project's own code and print the deploy commands."""
    root = PROJECT_ROOT
    problems = handler_problems(root, HANDLERS)
    if problems:
        raise ConfigError("cannot package the functions: " + "; ".join(problems))
    entries = sorted({target.rpartition(".")[0] for target in HANDLERS.values()})
    closure = import_closure(root, entries)
    forbidden = [p for p in closure.packages if p in NOT_IN_LAMBDA]
    if forbidden:
        raise ConfigError(
            "the handlers import "
            + ", ".join(f"{p} (via {closure.reached_from[p]})" for p in forbidden)
            + "; these packages must not be in the Lambda (DESIGN.md layout)")
    missing = missing_at_runtime(closure)
    fatal = [m for m in missing if m.at_import]
    if fatal:
        raise ConfigError("modules the handlers load import packages Lambda does not have: "
                          + ", ".join(f"{m.name} (in {m.by})" for m in fatal))
    out = out or root / LAMBDA_ZIP
    zipped, unzipped = write_zip(package_files(root, closure.packages), out)

    click.echo(f"built {out}")
    for p in closure.packages:
        click.echo(f"  {p:<16} (reached from {closure.reached_from[p]})")
    skipped = [p for p in FIRST_PARTY if p not in closure.packages]
    click.echo(f"  not included: {', '.join(skipped)}")
    for m in missing:
        click.secho(f"  warning: {m.by} imports {m.name} inside a function; Lambda does not "
                    "have it, so that code path would fail there", fg="yellow")
    click.echo("pyarrow, pandas and numpy come from the AWS SDK for pandas layer "
               "(SdkPandasLayerArn); boto3 from the python3.11 runtime.")
    layer_bytes = None if layer_mb is None else int(layer_mb * MIB)
    for line in size_report(zipped, unzipped, layer_bytes):
        click.echo(line)
    if zipped > ZIPPED_LIMIT or unzipped + (layer_bytes or 0) > UNZIPPED_LIMIT:
        raise ConfigError("the package exceeds a Lambda size limit (see above)")

    pairs = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--param")
        pairs[key] = value
    region = region or settings_from(ctx).s3.region
    click.echo("\nDeploy (from the repository root; see docs/deploy-aws.md):\n")
    click.echo(deploy_commands(artifact_bucket, stack_name, region, pairs), nl=False)
