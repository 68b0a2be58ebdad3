"""``seqledger infra glue-tables|package`` and ``seqledger lake ddl``: the AWS deployment.

``infra/seqledger.yaml`` is the stack; ``infra/generated/glue-tables.json`` (its nested catalog
stack) is generated from the lake's schemas. ``infra package`` builds the one Lambda zip the three
functions share and prints the two ``aws cloudformation`` commands that deploy everything.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from lake.errors import ConfigError
from seqledger.cli import Groups, handle_errors, settings_from
from seqledger.params import MONTH

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROOT_TEMPLATE = Path("infra/seqledger.yaml")
GLUE_TEMPLATE = Path("infra/generated/glue-tables.json")
LAMBDA_ZIP = Path("build/lambda/seqledger-lambda.zip")  # as infra/seqledger.yaml names it

# Parameters the deployer must give (no default in the template; a test keeps this in sync).
REQUIRED_PARAMETERS = {
    "VpcId": "vpc-…",
    "SubnetIds": "subnet-…,subnet-…",
    "DragenImage": "ACCOUNT.dkr.ecr.REGION.amazonaws.com/dragen:VERSION",
    "DragenAmiId": "ami-…",
    "QcGateImage": "ACCOUNT.dkr.ecr.REGION.amazonaws.com/seqledger:VERSION",
}


def register(groups: Groups) -> None:
    groups.infra.add_command(glue_tables)
    groups.infra.add_command(package)
    groups.infra.add_command(activate_tags)
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

def deploy_commands(artifact_bucket: str | None, stack_name: str, region: str,
                    parameters: Mapping[str, str]) -> str:
    """The `aws cloudformation package` + `deploy` pair, with every required parameter."""
    bucket = artifact_bucket or "<artifact-bucket>"
    given = dict(parameters)
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
@click.pass_context
@handle_errors
def package(ctx: click.Context, out: Path | None, artifact_bucket: str | None, stack_name: str,
            region: str | None, params: tuple[str, ...]) -> None:
    """Build the Lambda zip (our code and its locked runtime wheels); print the deploy commands."""
    from seqledger import lambda_build

    pairs = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--param")
        pairs[key] = value
    root = PROJECT_ROOT
    out = out or root / LAMBDA_ZIP
    click.echo(f"building {out} (locked wheels for {lambda_build.WHEEL_PLATFORM}, "
               f"cp{''.join(map(str, lambda_build.PYTHON_VERSION))}) …", err=True)
    built = lambda_build.build(root, out)

    click.echo(f"built {built.zip_path}")
    for p in built.closure.packages:
        click.echo(f"  {p:<16} (reached from {built.closure.reached_from[p]})")
    skipped = [p for p in lambda_build.FIRST_PARTY if p not in built.closure.packages]
    click.echo(f"  not included: {', '.join(skipped)}")
    click.echo("  runtime: " + ", ".join(sorted(set(built.distributions.values())))
               + " and their locked dependencies (no public layer)")
    click.echo(f"  {built.compiled} modules byte-compiled; "
               f"{built.stripped / lambda_build.MIB:.1f} MiB of tests, headers and Arrow Flight "
               "left out")
    for line in lambda_build.size_report(built.zipped, built.unzipped):
        click.echo(line)

    region = region or settings_from(ctx).s3.region
    click.echo("\nDeploy (from the repository root; see docs/deploy-aws.md):\n")
    click.echo(deploy_commands(artifact_bucket, stack_name, region, pairs), nl=False)


def cost_explorer() -> Any:
    """Cost Explorer's client: its API is served from us-east-1 only (AWS_ENDPOINT_URL_CE works)."""
    import boto3

    return boto3.client("ce", region_name="us-east-1")


@click.command("activate-tags")
@click.option("--tag", "tags", multiple=True, metavar="KEY",
              help="A tag key to activate (repeatable); default: every tag seqledger puts on "
                   "jobs (project, sample_id, run_id, workflow, pipeline_release, requested_by, "
                   "cost_centre).")
@handle_errors
def activate_tags(tags: tuple[str, ...]) -> None:
    """Activate seqledger's cost-allocation tags in Billing, so they appear in the bill.

    Run once after the first jobs ran (Billing must have seen a tag before it can be activated;
    that takes up to 24 h). Exit 1 while some tag is not activated yet: run again later.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from pipeline_runner.cost_allocation import activate, describe
    from pipeline_runner.records import REQUIRED_TAGS

    try:
        done = activate(cost_explorer(), tags or REQUIRED_TAGS)
    except (BotoCoreError, ClientError) as e:
        raise ConfigError(f"Cost Explorer: {e} — run with the credentials of the account that "
                          "pays the bill (in an organization, the management account), allowed "
                          "ce:ListCostAllocationTags and ce:UpdateCostAllocationTagsStatus") from e
    for line in describe(done):
        click.echo(line)
    if done.not_seen or done.failed:
        raise SystemExit(1)
