"""The Glue catalog generated from the lake's schemas: types, projection, DDL and drift."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from lake import catalog
from lake.schemas import TABLES, _f
from lake.store import LakeStore
from seqledger.cli import main

COMMITTED = Path(__file__).resolve().parents[2] / "infra" / "generated" / "glue-tables.json"


def _glue_tables(template: dict) -> dict[str, dict]:
    return {r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
            for r in template["Resources"].values() if r["Type"] == "AWS::Glue::Table"}


@pytest.mark.parametrize(("arrow", "glue"), [
    (pa.string(), "string"),
    (pa.int16(), "smallint"),
    (pa.int32(), "int"),
    (pa.int64(), "bigint"),
    (pa.float64(), "double"),
    (pa.bool_(), "boolean"),
    (pa.timestamp("us", tz="UTC"), "timestamp"),
    (pa.date32(), "date"),
    (pa.decimal128(12, 4), "decimal(12,4)"),
    (pa.list_(pa.string()), "array<string>"),
    (pa.map_(pa.string(), pa.float64()), "map<string,double>"),
    (pa.struct([("x", pa.int32()), ("tags", pa.list_(pa.string()))]),
     "struct<x:int,tags:array<string>>"),
    (pa.dictionary(pa.int32(), pa.string()), "string"),
])
def test_arrow_types_map_to_athena_types(arrow, glue):
    assert catalog.glue_type(arrow) == glue


def test_a_type_athena_cannot_read_is_refused():
    with pytest.raises(TypeError, match="uint64"):
        catalog.glue_type(pa.uint64())


def test_every_lake_table_has_a_glue_table_with_its_columns_in_order():
    tables = _glue_tables(catalog.cloudformation_template())
    # schemas_dragen and schemas_cost register tables of their own: they must be here too.
    # The Glue tables hold the raw rows; the plain names are the deduplicating views.
    assert set(tables) == {f"raw_{name}" for name in TABLES}
    for name, spec in TABLES.items():
        name = f"raw_{name}"
        cols = tables[name]["StorageDescriptor"]["Columns"]
        assert [c["Name"] for c in cols] == spec.schema.names
        assert [c["Type"] for c in cols] == [catalog.glue_type(f.type) for f in spec.schema]
        assert [c["Comment"] for c in cols] == [
            catalog._comment(f.metadata[b"doc"].decode()) for f in spec.schema]
        keys = tables[name]["PartitionKeys"]
        assert [(k["Name"], k["Type"]) for k in keys] == [("month", "string")]
        assert f"Month of {spec.time_column} (UTC)" in keys[0]["Comment"]


def test_column_comments_are_the_schema_docs():
    runs = _glue_tables(catalog.cloudformation_template())["raw_runs"]
    comments = {c["Name"]: c["Comment"] for c in runs["StorageDescriptor"]["Columns"]}
    assert comments["status"] == "DISPATCHED | RUNNING | SUCCEEDED | FAILED"
    assert comments["recorded_at"] == "When seqledger wrote the row (UTC)"
    assert all(len(c) <= catalog.GLUE_COMMENT_MAX for c in comments.values())


def test_partition_projection_replaces_crawlers():
    props = catalog.glue_table_input(TABLES["job_attempts"], "s3://b/lake/job_attempts",
                                     "2025-03")["Parameters"]
    assert props["projection.enabled"] == "true"
    assert props["projection.month.type"] == "date"
    assert props["projection.month.format"] == "yyyy-MM"
    assert props["projection.month.range"] == "2025-03,NOW"
    assert props["projection.month.interval"] == "1"
    assert props["projection.month.interval.unit"] == "MONTHS"
    assert props["storage.location.template"] == "s3://b/lake/job_attempts/month=${month}/"


def test_template_location_escapes_athenas_placeholder_from_fn_sub():
    tables = _glue_tables(catalog.cloudformation_template())
    template = tables["raw_costs"]["Parameters"]["storage.location.template"]
    assert template == {"Fn::Sub": "s3://${LakeBucket}/${LakePrefix}/costs/month=${!month}/"}
    assert tables["raw_costs"]["Parameters"]["projection.month.range"] == {
        "Fn::Sub": "${FirstMonth},NOW"}


def test_location_template_matches_the_folders_the_store_writes(lake_settings):
    store = LakeStore(lake_settings)
    at = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    result = store.write("quarantine", [{
        "quarantine_id": "q1", "quarantined_at": at, "stage": "ingest.event",
        "source": "evt-1", "reason": "malformed"}])
    written = Path(result.files_written[0]).relative_to(lake_settings.lake_uri)
    props = catalog.glue_table_input(TABLES["quarantine"], "LAKE/quarantine")["Parameters"]
    folder = props["storage.location.template"].replace("${month}", "2026-03")
    assert f"LAKE/{written.parent.as_posix()}/" == folder


def test_committed_template_is_what_the_schemas_generate():
    """Fails when a schema changed without `seqledger infra glue-tables` being run."""
    committed = COMMITTED.read_text(encoding="utf-8")
    assert catalog.describe_drift(committed, catalog.render_template()) == []


def test_drift_names_a_missing_table():
    fewer = [s for name, s in TABLES.items() if name != "decisions"]
    lines = catalog.describe_drift(catalog.render_template(fewer), catalog.render_template())
    assert lines == ["table raw_decisions: missing from the committed template"]


def test_drift_names_a_changed_column_and_an_added_one():
    spec = TABLES["runs"]
    fields = [f.with_type(pa.int32()) if f.name == "input_size_bytes" else f for f in spec.schema]
    fields.append(_f("queue_wait_s", pa.float64(), "Seconds queued"))
    changed = dataclasses.replace(spec, schema=pa.schema(fields))
    others = [s for n, s in TABLES.items() if n != "runs"]
    lines = catalog.describe_drift(catalog.render_template(),
                                   catalog.render_template([*others, changed]))
    assert lines == ["table raw_runs: changed (+queue_wait_s, ~input_size_bytes)"]


def test_drift_names_a_table_no_longer_in_the_schemas():
    extra = dataclasses.replace(TABLES["quarantine"], name="old_table")
    lines = catalog.describe_drift(catalog.render_template([*TABLES.values(), extra]),
                                   catalog.render_template())
    assert lines == [
        "table raw_old_table: in the committed template but no longer in the lake's schemas"]


def test_check_command_passes_on_the_committed_template():
    result = CliRunner().invoke(main, ["infra", "glue-tables", "--check"])
    assert result.exit_code == 0, result.output
    assert f"up to date ({len(TABLES)} tables)" in result.output


def test_check_command_fails_with_a_diff_when_drifted(tmp_path):
    stale = tmp_path / "glue-tables.json"
    template = json.loads(catalog.render_template())
    del template["Resources"]["TableQcResults"]
    stale.write_text(json.dumps(template, indent=2) + "\n")
    result = CliRunner().invoke(main, ["infra", "glue-tables", "--check", "--path", str(stale)])
    assert result.exit_code == 1
    assert "+    \"TableQcResults\": {" in result.output
    assert "drift: table raw_qc_results: missing from the committed template" in result.output
    # --check never writes; without it the file is regenerated.
    assert "TableQcResults" not in stale.read_text()
    result = CliRunner().invoke(main, ["infra", "glue-tables", "--path", str(stale)])
    assert result.exit_code == 0, result.output
    assert stale.read_text() == catalog.render_template()


def test_athena_ddl_declares_columns_partition_and_projection():
    ddl = catalog.athena_ddl(TABLES["qc_results"], "seqledger", "s3://lake-bucket/lake/")
    assert ddl.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `seqledger`.`raw_qc_results` (")
    assert "  `passed` boolean COMMENT 'Whether the check passed'," in ddl
    assert "PARTITIONED BY (`month` string COMMENT" in ddl
    assert "STORED AS PARQUET\nLOCATION 's3://lake-bucket/lake/qc_results/'" in ddl
    assert "'storage.location.template'='s3://lake-bucket/lake/qc_results/month=${month}/'" in ddl
    assert "'projection.month.interval.unit'='MONTHS'" in ddl
    assert len(re.findall(r"^  `\w+` ", ddl, flags=re.M)) == len(TABLES["qc_results"].columns)


def test_athena_ddl_quotes_apostrophes():
    assert catalog._quote("Sample's id") == "'Sample\\'s id'"


def test_lake_ddl_command_prints_every_table_for_the_s3_lake():
    result = CliRunner(env={"SEQLEDGER_LAKE": "s3://centre-lake/lake"}).invoke(
        main, ["lake", "ddl", "--database", "genomics"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("CREATE DATABASE IF NOT EXISTS `genomics`;")
    created = re.findall(r"CREATE EXTERNAL TABLE IF NOT EXISTS `genomics`\.`(\w+)`", result.output)
    assert created == [f"raw_{name}" for name in sorted(TABLES)]
    assert "LOCATION 's3://centre-lake/lake/runs/'" in result.output


def test_lake_ddl_needs_an_s3_location(tmp_path):
    result = CliRunner(env={"SEQLEDGER_LAKE": str(tmp_path)}).invoke(main, ["lake", "ddl"])
    assert result.exit_code == 3  # a configuration problem (README: exit codes)
    assert "--location s3://" in result.output


def _ddl_properties(ddl: str) -> dict[str, dict[str, str]]:
    """TBLPROPERTIES of each table in ``seqledger lake ddl`` output."""
    tables = re.findall(r"`\w+`\.`(\w+)` \(.*?TBLPROPERTIES \((.*?)\n\);", ddl, flags=re.S)
    return {name: dict(re.findall(r"^  '([^']+)'='([^']*)'", props, flags=re.M))
            for name, props in tables}


def _resolve(value, params: dict[str, str]) -> str:
    """A template value with its Fn::Sub parameters filled in (as CloudFormation would)."""
    if isinstance(value, dict):
        value = value["Fn::Sub"].replace("${!month}", "\0month")
        for k, v in params.items():
            value = value.replace(f"${{{k}}}", v)
        return value.replace("\0month", "${month}")
    return value


def test_lake_ddl_and_the_glue_template_declare_the_same_tables_and_projection():
    params = {"LakeBucket": "centre-lake", "LakePrefix": "lake", "FirstMonth": "2025-02"}
    result = CliRunner(env={"SEQLEDGER_LAKE": "s3://centre-lake/lake"}).invoke(
        main, ["lake", "ddl", "--first-month", "2025-02"])
    assert result.exit_code == 0, result.output
    ddl = _ddl_properties(result.output)
    template = _glue_tables(catalog.cloudformation_template())
    assert set(ddl) == set(template)
    for name, table in template.items():
        want = {k: _resolve(v, params) for k, v in table["Parameters"].items() if k != "EXTERNAL"}
        assert ddl[name] == want, name


def test_every_price_partition_written_by_ingest_prices_is_projected(tmp_path):
    """Partition projection reaches every month the prices table holds (2018-10, 2022-05, …)."""
    lake = tmp_path / "lake"
    result = CliRunner(env={"SEQLEDGER_LAKE": str(lake)}).invoke(main, ["ingest", "prices"])
    assert result.exit_code == 0, result.output
    months = sorted({p.name.removeprefix("month=") for p in (lake / "prices").glob("month=*")})
    assert months and months[0] < catalog.DEFAULT_FIRST_MONTH  # prices older than the lake
    ddl = _ddl_properties(CliRunner(env={"SEQLEDGER_LAKE": "s3://b/lake"}).invoke(
        main, ["lake", "ddl"]).output)
    template = _glue_tables(catalog.cloudformation_template())
    # found by what they hold, whatever the Glue table is named
    (in_ddl,) = [p for name, p in ddl.items() if name.endswith("prices")]
    (in_template,) = [t for name, t in template.items() if name.endswith("prices")]
    for first in (in_ddl["projection.month.range"],
                  _resolve(in_template["Parameters"]["projection.month.range"],
                           {"FirstMonth": catalog.DEFAULT_FIRST_MONTH})):
        start, end = first.split(",")
        assert end == "NOW"
        unreachable = [m for m in months if m < start]
        assert unreachable == [], f"prices partitions before the projection range {start}"
