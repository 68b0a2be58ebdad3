"""The bill flows in: the stack's CUR 2.0 export, the scheduled loader, and tag activation."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber

from ingest.cur_exports import EXPORT_COLUMNS, ExportFile, export_query, is_data_file, pending
from lake.settings import Settings
from lake.store import LakeStore
from pipeline_runner import cost_allocation
from pipeline_runner.records import REQUIRED_TAGS
from tests.cost.synthetic import cur2_table, interval, line_id
from tests.infra.cfn import ROOT_TEMPLATE, load

SEQLEDGER = str(Path(sys.executable).with_name("seqledger"))  # the CLI as users run it
H0 = datetime(2026, 6, 3, 10, tzinfo=UTC)
H1 = datetime(2026, 6, 3, 11, tzinfo=UTC)


def _rows(cost: float = 0.6) -> list[dict]:
    """An instance-hour and a job's split vCPU line, as a CUR 2.0 export with split data has."""
    base = {"identity_time_interval": interval(H0, H1), "line_item_usage_start_date": H0,
            "line_item_usage_end_date": H1, "line_item_line_item_type": "Usage",
            "line_item_product_code": "AmazonEC2", "product_region_code": "us-east-1"}
    return [
        base | {"identity_line_item_id": line_id("i-1"), "line_item_resource_id": "i-1",
                "line_item_usage_type": "USE1-SpotUsage:f2.6xlarge", "line_item_usage_amount": 1.0,
                "line_item_unblended_cost": cost, "product_instance_type": "f2.6xlarge",
                "resource_tags": {"user_project": "P1"}},
        base | {"identity_line_item_id": line_id("t1"), "line_item_resource_id": "arn:task/t1",
                "line_item_usage_type": "USE1-ECS-EC2-vCPU-Hours", "line_item_unblended_cost": 0.0,
                "split_line_item_parent_resource_id": "i-1", "split_line_item_split_cost": 0.3,
                "resource_tags": {"user_project": "P1", "user_sample_id": "S1"}},
    ]


# -- the stack's export ----------------------------------------------------------------------------

def test_the_stack_exports_exactly_the_columns_the_loader_reads(reference):
    resources = load(ROOT_TEMPLATE)["Resources"]
    export = resources["BillingExportCur2"]["Properties"]["Export"]
    assert export["DataQuery"]["QueryStatement"] == export_query()
    config = export["DataQuery"]["TableConfigurations"]["COST_AND_USAGE_REPORT"]
    assert config == {"TIME_GRANULARITY": "HOURLY", "INCLUDE_RESOURCES": "TRUE",
                      "INCLUDE_SPLIT_COST_ALLOCATION_DATA": "TRUE",
                      "INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY": "FALSE"}
    s3 = export["DestinationConfigurations"]["S3Destination"]
    assert (s3["S3Bucket"], s3["S3Prefix"]) == ({"Ref": "LakeBucket"}, "billing/cur2")
    assert s3["S3OutputConfigurations"]["Format"] == "PARQUET"
    # every selected column is a real CUR 2.0 column (AWS's CID framework selects the same)
    documented = {r["column"] for r in csv.DictReader(
        (reference / "aws-cur" / "cur2-columns_cid-data-exports.csv").open())}
    assert set(EXPORT_COLUMNS) <= documented, set(EXPORT_COLUMNS) - documented
    # the scheduled loader reads where the export writes
    loader = resources["BillingLoaderFunction"]["Properties"]["Environment"]["Variables"]
    assert loader["SEQLEDGER_BILLING_EXPORTS"] == {"Fn::Sub": "s3://${LakeBucket}/billing/"}
    assert resources["BillingLoadRule"]["Properties"]["Targets"][0]["Arn"] == {
        "Fn::GetAtt": ["BillingLoaderFunction", "Arn"]}


def test_only_data_files_are_loaded_and_only_new_versions():
    assert is_data_file("billing/cur2/x/data/BILLING_PERIOD=2026-06/x-00001.snappy.parquet")
    assert not is_data_file("billing/cur2/x/metadata/BILLING_PERIOD=2026-06/x-Manifest.json")
    assert not is_data_file("billing/cur2/x/data/.tmp-00001.parquet")
    a = ExportFile("s3://b/a.parquet", 10, H0)
    b = ExportFile("s3://b/b.parquet", 20, H1)
    rewritten = ExportFile("s3://b/a.parquet", 12, H1)
    assert pending([a, b], [(a.uri, a.version)]) == [b]
    assert pending([rewritten, b], [(a.uri, a.version), (b.uri, b.version)]) == [rewritten]


# -- the loader on a real S3 server ----------------------------------------------------------------

def test_the_loader_reads_each_export_file_once_and_a_restated_file_again(
        s3_settings, reference):
    store = LakeStore(s3_settings)
    prefix = f"{s3_settings.lake_uri}-billing/cur2/seqledger-cur2"
    month_dir = f"{prefix[5:]}/data/BILLING_PERIOD=2026-06"

    def put(name: str, table) -> None:
        with store.fs.open_output_stream(f"{month_dir}/{name}") as out:
            pq.write_table(table, out)

    put("seqledger-cur2-00001.snappy.parquet", cur2_table(reference, _rows(0.6)))
    with store.fs.open_output_stream(f"{prefix[5:]}/metadata/seqledger-cur2-Manifest.json") as out:
        out.write(b'{"reportId": "x"}')
    from ingest.cur_exports import load_new_exports

    first = load_new_exports(store, prefix)
    assert (first.listed, len(first.loaded), first.rows_loaded, first.refused) == (1, 1, 2, ())
    again = load_new_exports(store, prefix)
    assert (again.listed, again.loaded, again.rows_loaded) == (1, (), 0)

    # AWS restates the month: the same file, rewritten with a corrected cost, and a new file.
    # (S3 keeps modification times in whole seconds and a restatement comes hours later: a
    # same-size rewrite within the same second would look unchanged, so step past it.)
    time.sleep(1.1)
    put("seqledger-cur2-00001.snappy.parquet", cur2_table(reference, _rows(0.55)))
    put("not-a-bill.parquet", cur2_table(reference, _rows()).select(["bill_bill_type"]))
    restated = load_new_exports(store, prefix)
    # the rewritten file is read again; its restated line is a new version that wins
    assert len(restated.loaded) == 1 and restated.rows_loaded == 2
    assert [u.rsplit("/", 1)[1] for u in restated.refused] == ["not-a-bill.parquet"]
    billed = {r["resource_id"]: r["unblended_cost_usd"] for r in store.read("billed_costs")
              .to_pylist()}
    assert billed == {"i-1": pytest.approx(0.55), "arn:task/t1": 0.0}
    ledger = store.read("billing_files").to_pylist()
    assert len(ledger) == 2 and {r["rows_read"] for r in ledger} == {2}
    (refusal,) = [q for q in store.read("quarantine").to_pylist()
                  if q["source"].endswith("not-a-bill.parquet")]
    assert "not an AWS billing export" in refusal["reason"]


def test_the_cli_loads_a_local_export_folder_once(tmp_path, reference):
    exports = tmp_path / "billing" / "cur2" / "data" / "BILLING_PERIOD=2026-06"
    exports.mkdir(parents=True)
    pq.write_table(cur2_table(reference, _rows()), exports / "part-00001.snappy.parquet")
    env = {**os.environ, "SEQLEDGER_LAKE": str(tmp_path / "lake"),
           "SEQLEDGER_BILLING_EXPORTS": str(tmp_path / "billing")}
    cmd = [SEQLEDGER, "ingest", "cur-exports"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 export file(s) under the prefix; 1 new or rewritten loaded "
                                   "(2 new billed rows)")
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    assert "0 new or rewritten loaded (0 new billed rows)" in second.stdout
    unset = subprocess.run(cmd, env={**env, "SEQLEDGER_BILLING_EXPORTS": ""},
                           capture_output=True, text=True, timeout=120, check=False)
    assert unset.returncode == 3
    assert unset.stderr.strip().splitlines() == [
        "Error: no billing export prefix: give PREFIX or set SEQLEDGER_BILLING_EXPORTS (the "
        "stack's export writes to s3://<lake bucket>/billing/)"]


def test_the_lambda_handler_loads_the_configured_prefix(tmp_path, reference, monkeypatch):
    exports = tmp_path / "billing" / "data"
    exports.mkdir(parents=True)
    pq.write_table(cur2_table(reference, _rows()), exports / "part-1.parquet")
    monkeypatch.setenv("SEQLEDGER_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("SEQLEDGER_BILLING_EXPORTS", str(tmp_path / "billing"))
    from ingest.handlers import load_billing_exports

    out = load_billing_exports({"source": "aws.events"}, None)
    assert out["rows_loaded"] == 2 and out["refused"] == [] and out["listed"] == 1
    assert load_billing_exports({}, None)["loaded"] == []
    lake = LakeStore(Settings.from_env())
    assert lake.read("billed_costs").num_rows == 2
    assert isinstance(lake.fs, pafs.LocalFileSystem)


# -- cost-allocation tags (moto 5.2.5 has no ce:*CostAllocationTags*: botocore's Stubber checks
#    each request against the API model and asserts exactly what is sent) ------------------------

def _ce():
    import boto3

    return boto3.client("ce", region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x")


def test_tags_billing_has_seen_are_activated_and_the_others_reported():
    ce = _ce()
    keys = list(REQUIRED_TAGS)
    with Stubber(ce) as stub:
        stub.add_response("list_cost_allocation_tags", {"CostAllocationTags": [
            {"TagKey": "project", "Type": "UserDefined", "Status": "Active"},
            {"TagKey": "sample_id", "Type": "UserDefined", "Status": "Inactive"},
            {"TagKey": "cost_centre", "Type": "UserDefined", "Status": "Inactive"},
            {"TagKey": "run_id", "Type": "UserDefined", "Status": "Inactive"},
        ]}, {"TagKeys": keys, "Type": "UserDefined", "MaxResults": 100})
        stub.add_response("update_cost_allocation_tags_status", {"Errors": [
            {"TagKey": "run_id", "Code": "TagKeysLimitExceeded", "Message": "too many"}]},
            {"CostAllocationTagsStatus": [{"TagKey": k, "Status": "Active"}
                                          for k in ("sample_id", "run_id", "cost_centre")]})
        done = cost_allocation.activate(ce, keys)
        stub.assert_no_pending_responses()
    assert done.activated == ("sample_id", "cost_centre")
    assert done.already_active == ("project",)
    assert done.not_seen == ("workflow", "pipeline_release", "requested_by")
    assert done.failed == (("run_id", "TagKeysLimitExceeded: too many"),)
    lines = cost_allocation.describe(done)
    assert lines[0] == "activated: sample_id, cost_centre"
    assert "run this again" in lines[2]


def test_more_than_twenty_tags_are_activated_in_batches_of_twenty():
    ce = _ce()
    keys = [f"t{i:02d}" for i in range(45)]
    with Stubber(ce) as stub:
        stub.add_response("list_cost_allocation_tags", {"CostAllocationTags": [
            {"TagKey": k, "Type": "UserDefined", "Status": "Inactive"} for k in keys]},
            {"TagKeys": keys, "Type": "UserDefined", "MaxResults": 100})
        for chunk in (keys[:20], keys[20:40], keys[40:]):
            stub.add_response("update_cost_allocation_tags_status", {"Errors": []},
                              {"CostAllocationTagsStatus": [{"TagKey": k, "Status": "Active"}
                                                            for k in chunk]})
        done = cost_allocation.activate(ce, keys)
        stub.assert_no_pending_responses()
    assert done.activated == tuple(keys)


def test_activate_tags_without_credentials_is_one_line_and_exit_3(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run([SEQLEDGER, "infra", "activate-tags"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: Cost Explorer: Unable to locate credentials")
    assert "ce:UpdateCostAllocationTagsStatus" in line
    assert json.dumps(done.stdout) == '""'
