"""The Glue/Athena catalog, generated from the lake's own schemas.

Pure functions: a ``TableSpec`` in, a Glue ``TableInput`` dict, a CloudFormation template or an
Athena ``CREATE EXTERNAL TABLE`` statement out. Nothing here talks to AWS.

Every table is partitioned by ``month`` (the ``month=YYYY-MM`` folders the store writes) and uses
Athena partition projection, so no crawler and no ``MSCK REPAIR TABLE`` is ever needed: Athena
computes the partitions from the table properties instead of reading them from the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

# Imported for their side effect: they register their tables into TABLES (one registry).
from lake import schemas_cost, schemas_dragen, schemas_rollup  # noqa: F401
from lake.schemas import TABLES, TableSpec

PARTITION_KEY = "month"
PARTITION_FORMAT = "yyyy-MM"  # Java date format, as Athena's projection wants it
DEFAULT_FIRST_MONTH = "2024-01"
GLUE_COMMENT_MAX = 255  # Glue rejects longer column comments

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def glue_type(t: pa.DataType) -> str:
    """The Hive/Glue type Athena reads an Arrow column as.

    Raises:
        TypeError: the Arrow type has no Athena equivalent (the schema needs changing).
    """
    if pa.types.is_dictionary(t):
        return glue_type(t.value_type)
    simple = [
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_int8, "tinyint"),
        (pa.types.is_int16, "smallint"),
        (pa.types.is_int32, "int"),
        (pa.types.is_int64, "bigint"),
        (pa.types.is_uint8, "smallint"),
        (pa.types.is_uint16, "int"),
        (pa.types.is_uint32, "bigint"),
        (pa.types.is_float32, "float"),
        (pa.types.is_float64, "double"),
        (pa.types.is_string, "string"),
        (pa.types.is_large_string, "string"),
        (pa.types.is_binary, "binary"),
        (pa.types.is_large_binary, "binary"),
        (pa.types.is_date, "date"),
        (pa.types.is_timestamp, "timestamp"),
    ]
    for test, name in simple:
        if test(t):
            return name
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{glue_type(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{glue_type(t.key_type)},{glue_type(t.item_type)}>"
    if pa.types.is_struct(t):
        inner = ",".join(
            f"{t.field(i).name}:{glue_type(t.field(i).type)}" for i in range(t.num_fields)
        )
        return f"struct<{inner}>"
    # uint64 (no unsigned 64-bit type in Athena), time, duration, float16, unions …
    raise TypeError(f"Arrow type {t} has no Athena/Glue equivalent")


def _doc(field_or_schema_metadata: Mapping[bytes, bytes] | None) -> str:
    if not field_or_schema_metadata:
        return ""
    return field_or_schema_metadata.get(b"doc", b"").decode()


def _comment(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= GLUE_COMMENT_MAX else text[: GLUE_COMMENT_MAX - 1] + "…"


def columns(spec: TableSpec) -> list[dict[str, str]]:
    """The table's columns as Glue wants them: name, type and the schema's doc as comment."""
    return [
        {"Name": f.name, "Type": glue_type(f.type), "Comment": _comment(_doc(f.metadata))}
        for f in spec.schema
    ]


def projection_properties(location: str, first_month: str) -> dict[str, str]:
    """Athena partition-projection properties for the ``month=YYYY-MM`` folders under location.

    ``location`` is the table folder without a trailing slash, e.g. ``s3://bucket/lake/runs``.
    """
    return {
        "projection.enabled": "true",
        f"projection.{PARTITION_KEY}.type": "date",
        f"projection.{PARTITION_KEY}.format": PARTITION_FORMAT,
        f"projection.{PARTITION_KEY}.range": f"{first_month},NOW",
        f"projection.{PARTITION_KEY}.interval": "1",
        f"projection.{PARTITION_KEY}.interval.unit": "MONTHS",
        "storage.location.template": f"{location}/{PARTITION_KEY}=${{{PARTITION_KEY}}}/",
    }


def glue_table_input(
    spec: TableSpec, location: str, first_month: str = DEFAULT_FIRST_MONTH
) -> dict[str, Any]:
    """A Glue ``TableInput`` for one lake table stored under ``location`` (no trailing slash)."""
    return {
        "Name": spec.name,
        "Description": _comment(spec.doc),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "EXTERNAL": "TRUE",
            "classification": "parquet",
            "parquet.compression": "ZSTD",
            "seqledger.key": ",".join(spec.key),
            "seqledger.time_column": spec.time_column,
            **projection_properties(location, first_month),
        },
        "PartitionKeys": [
            {
                "Name": PARTITION_KEY,
                "Type": "string",
                "Comment": f"Month of {spec.time_column} (UTC), YYYY-MM; projected, never crawled",
            }
        ],
        "StorageDescriptor": {
            "Columns": columns(spec),
            "Location": f"{location}/",
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
            "Compressed": True,
        },
    }


def _logical_id(name: str) -> str:
    return "Table" + "".join(part.capitalize() for part in name.split("_"))


def cloudformation_template(tables: Iterable[TableSpec] | None = None) -> dict[str, Any]:
    """A CloudFormation template with the Glue database and one table per lake table.

    The lake's bucket and prefix are template parameters, so the same generated file serves
    every deployment; the root stack passes them in.
    """
    specs = sorted(TABLES.values() if tables is None else tables, key=lambda s: s.name)
    resources: dict[str, Any] = {
        "Database": {
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": {"Ref": "AWS::AccountId"},
                "DatabaseInput": {
                    "Name": {"Ref": "DatabaseName"},
                    "Description": "seqledger lake: runs, job attempts, QC, costs (generated)",
                    "LocationUri": {"Fn::Sub": "s3://${LakeBucket}/${LakePrefix}/"},
                },
            },
        },
    }
    for spec in specs:
        # Placeholders for Fn::Sub: ${LakeBucket} and ${LakePrefix} are parameters, and
        # ${!month} renders as the literal ${month} Athena's location template needs.
        table_input = glue_table_input(
            spec, f"s3://${{LakeBucket}}/${{LakePrefix}}/{spec.name}", first_month="${FirstMonth}"
        )
        table_input["Parameters"] = {k: _sub(v) for k, v in table_input["Parameters"].items()}
        table_input["StorageDescriptor"]["Location"] = _sub(
            table_input["StorageDescriptor"]["Location"]
        )
        resources[_logical_id(spec.name)] = {
            "Type": "AWS::Glue::Table",
            "Properties": {
                "CatalogId": {"Ref": "AWS::AccountId"},
                "DatabaseName": {"Ref": "Database"},
                "TableInput": table_input,
            },
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "seqledger Glue catalog: one table per lake table with partition "
        "projection. GENERATED by `seqledger infra glue-tables` from lake/schemas; "
        "do not edit by hand.",
        "Parameters": {
            "DatabaseName": {
                "Type": "String",
                "Default": "seqledger",
                "AllowedPattern": "^[a-z0-9_]{1,255}$",
                "Description": "Glue database (lowercase, digits and underscores, for Athena)",
            },
            "LakeBucket": {"Type": "String", "Description": "Bucket that holds the lake"},
            "LakePrefix": {
                "Type": "String",
                "Default": "lake",
                "Description": "Prefix of the lake in the bucket, without slashes",
            },
            "FirstMonth": {
                "Type": "String",
                "Default": DEFAULT_FIRST_MONTH,
                "AllowedPattern": "^[0-9]{4}-[0-9]{2}$",
                "Description": "Earliest month (YYYY-MM) Athena projects partitions for",
            },
        },
        "Resources": resources,
        "Outputs": {
            "DatabaseName": {"Value": {"Ref": "Database"}},
            "Tables": {"Value": ",".join(s.name for s in specs)},
        },
    }


def _sub(value: str) -> Any:
    """Wrap a string holding ${Param} references in Fn::Sub; escape Athena's ${month}."""
    if "${" not in value:
        return value
    return {"Fn::Sub": value.replace(f"${{{PARTITION_KEY}}}", f"${{!{PARTITION_KEY}}}")}


def render_template(tables: Iterable[TableSpec] | None = None) -> str:
    """The generated template as committed: stable JSON (CloudFormation reads JSON and YAML)."""
    return json.dumps(cloudformation_template(tables), indent=2, ensure_ascii=False) + "\n"


def athena_ddl(
    spec: TableSpec, database: str, lake_uri: str, first_month: str = DEFAULT_FIRST_MONTH
) -> str:
    """``CREATE EXTERNAL TABLE`` for one table, the same definition the template deploys."""
    location = f"{lake_uri.rstrip('/')}/{spec.name}"
    table_input = glue_table_input(spec, location, first_month)
    cols = ",\n".join(
        f"  `{c['Name']}` {c['Type']} COMMENT {_quote(c['Comment'])}"
        for c in table_input["StorageDescriptor"]["Columns"]
    )
    part = table_input["PartitionKeys"][0]
    props = ",\n".join(
        f"  {_quote(k)}={_quote(v)}"
        for k, v in table_input["Parameters"].items()
        if k != "EXTERNAL"
    )
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{spec.name}` (\n{cols}\n)\n"
        f"COMMENT {_quote(table_input['Description'])}\n"
        f"PARTITIONED BY (`{part['Name']}` {part['Type']} COMMENT {_quote(part['Comment'])})\n"
        f"STORED AS PARQUET\n"
        f"LOCATION {_quote(table_input['StorageDescriptor']['Location'])}\n"
        f"TBLPROPERTIES (\n{props}\n);\n"
    )


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def athena_ddl_all(database: str, lake_uri: str, first_month: str = DEFAULT_FIRST_MONTH) -> str:
    """DDL for every lake table, with the database, in name order."""
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`;\n"]
    statements += [
        athena_ddl(TABLES[name], database, lake_uri, first_month) for name in sorted(TABLES)
    ]
    return "\n".join(statements)


def describe_drift(committed: str, generated: str) -> list[str]:
    """What differs between a committed catalog template and a freshly generated one, per table.

    Returns one line per added, removed or changed table (or one line when the committed text is
    not a template at all); an empty list means they agree. Formatting-only differences count
    too, as a last line, so the committed file always equals the generator's output.
    """
    if committed == generated:
        return []
    try:
        old = json.loads(committed)
    except ValueError as e:
        return [f"the committed template is not valid JSON ({e})"]
    new = json.loads(generated)

    def tables(template: Mapping[str, Any]) -> dict[str, Any]:
        return {
            r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
            for r in template.get("Resources", {}).values()
            if r.get("Type") == "AWS::Glue::Table"
        }

    old_tables, new_tables = tables(old), tables(new)
    lines = [
        f"table {n}: missing from the committed template"
        for n in sorted(new_tables.keys() - old_tables.keys())
    ]
    lines += [
        f"table {n}: in the committed template but no longer in the lake's schemas"
        for n in sorted(old_tables.keys() - new_tables.keys())
    ]
    for name in sorted(old_tables.keys() & new_tables.keys()):
        before, after = old_tables[name], new_tables[name]
        if before == after:
            continue
        cols_before = {c["Name"]: c for c in before["StorageDescriptor"]["Columns"]}
        cols_after = {c["Name"]: c for c in after["StorageDescriptor"]["Columns"]}
        changes = [f"+{c}" for c in cols_after if c not in cols_before]
        changes += [f"-{c}" for c in cols_before if c not in cols_after]
        changes += [
            f"~{c}" for c in cols_after if c in cols_before and cols_before[c] != cols_after[c]
        ]
        if not changes:
            changes = ["table properties"]
        lines.append(f"table {name}: changed ({', '.join(changes)})")
    if not lines:
        lines.append("the database or the template's formatting differs")
    return lines
