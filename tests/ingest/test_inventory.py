"""S3 Inventory deliveries (tests/fixtures/s3-inventory, AWS's manifest and Parquet/CSV format)
into the storage table, priced by the storage_costs view and in the savings and per-sample
reports; the same from SeaweedFS; and the local inventory of an output folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from analytics.cost import cost_per_sample, savings, storage_costs
from analytics.engine import connect
from ingest.inventory import load_inventory, local_inventory, parse_manifest
from ingest.tagging import tag_local_run
from lake.errors import ParseError
from lake.store import LakeStore
from pipeline_runner.prices import PriceBook
from pipeline_runner.retention import DEFAULT_RETENTION
from seqledger.cli import main

FIXTURE = Path(__file__).parents[1] / "fixtures" / "s3-inventory" / "inventory"
RESULTS = next((FIXTURE / "results").glob("*/seqledger-daily/*Z/manifest.json"))
INPUTS = next((FIXTURE / "input").glob("*/seqledger-daily/*Z/manifest.json"))
SCAN = datetime(2026, 4, 15, 1, 0, tzinfo=UTC)
GIB = 2**30
APRIL_DAYS = 30


def test_a_parquet_and_a_csv_delivery_load_attributed_by_key(lake_settings):
    store = LakeStore(lake_settings)
    results = load_inventory(store, str(RESULTS))
    inputs = load_inventory(store, str(INPUTS), projects=("cardio",))
    assert (results.rows, results.rows_written, results.inventory_at) == (4, 4, SCAN)
    assert (inputs.rows, inputs.source_bucket) == (3, "seqledger-input-123456789012-us-east-1")
    assert load_inventory(store, str(RESULTS)).rows_written == 0  # the same delivery again

    rows = {r["object_key"].rpartition("/")[2]: r for r in store.read("storage").to_pylist()}
    cram = rows["S1.cram"]
    assert (cram["size_bytes"], cram["storage_class"], cram["data_class"]) == (
        38 * 10**9, "DEEP_ARCHIVE", "alignment")
    assert (cram["project"], cram["sample_id"], cram["run_id"]) == (
        "cardio", "S1", "0a1b2c3d4e5f6a7b")
    assert cram["last_modified_at"] == datetime(2026, 2, 10, 9, tzinfo=UTC)
    r1 = rows["S1_R1_001.fastq.gz"]  # an input: the input layout finds project and sample
    assert (r1["project"], r1["sample_id"], r1["run_id"], r1["storage_class"]) == (
        "cardio", "S1", None, "DEEP_ARCHIVE")
    assert rows["S2.cram"]["storage_class"] == "STANDARD"


def test_measured_storage_is_priced_by_class_and_against_all_standard(lake_settings):
    store = LakeStore(lake_settings)
    book = PriceBook.load_default()
    store.write("prices", book.rows())
    load_inventory(store, str(RESULTS))
    load_inventory(store, str(INPUTS), projects=("cardio",))
    con = connect(lake_settings)

    by_class = {(r["sample_id"], r["storage_class"]): r
                for r in storage_costs(con, ("sample_id", "storage_class"))}
    deep = by_class[("S1", "DEEP_ARCHIVE")]
    s1_deep_gib = (38 + 31 + 33) * 10**9 / GIB  # the CRAM and both FASTQs
    assert deep["gb_months"] == pytest.approx(s1_deep_gib / APRIL_DAYS)
    deep_usd = book.storage("DEEP_ARCHIVE", SCAN).usd
    std_usd = book.storage("STANDARD", SCAN).usd
    assert deep["cost_usd"] == pytest.approx(s1_deep_gib / APRIL_DAYS * deep_usd)
    assert deep["saving_usd"] == pytest.approx(s1_deep_gib / APRIL_DAYS * (std_usd - deep_usd))
    assert by_class[("S2", "STANDARD")]["saving_usd"] == pytest.approx(0)

    realized = {r["scenario"]: r for r in savings(con)}["archival vs all-standard (inventory)"]
    total_std = sum(r["standard_cost_usd"] for r in by_class.values())
    total = sum(r["cost_usd"] for r in by_class.values())
    assert realized["baseline_usd"] == pytest.approx(total_std)
    assert realized["saving_usd"] == pytest.approx(total_std - total)
    assert realized["saving_usd"] > 0


def test_per_sample_storage_includes_what_the_inventory_measured(lake_settings):
    store = LakeStore(lake_settings)
    book = PriceBook.load_default()
    store.write("prices", book.rows())
    tags = {"project": "cardio", "sample_id": "S1", "run_id": "0a1b2c3d4e5f6a7b",
            "workflow": "w", "pipeline_release": "r", "requested_by": "u", "cost_centre": "c"}
    store.write("costs", [{**tags, "job_id": "j", "attempt": 1, "component": "compute",
                           "usage_start_at": SCAN, "usage_end_at": SCAN + timedelta(hours=1),
                           "quantity": 1.0, "quantity_unit": "hour", "rate_usd": 1.65,
                           "cost_usd": 1.65, "price_status": "list", "price_source": "t"}])
    load_inventory(store, str(RESULTS))
    con = connect(lake_settings)
    s1 = {r["sample_id"]: r for r in cost_per_sample(con)}["S1"]
    [stored] = [r["cost_usd"] for r in storage_costs(con, ("sample_id",))
                if r["sample_id"] == "S1"]
    assert stored > 0
    assert s1["storage_usd"] == pytest.approx(stored)
    assert s1["estimated_usd"] == pytest.approx(1.65 + stored)


def test_a_delivery_is_read_from_s3(s3_settings):
    """The manifest and its data file uploaded to SeaweedFS, read back through s3:// URIs."""
    import boto3

    o = s3_settings.s3
    s3 = boto3.client("s3", region_name=o.region, endpoint_url=o.endpoint_url,
                      aws_access_key_id=o.access_key, aws_secret_access_key=o.secret_key)
    base = s3_settings.lake_uri.removeprefix("s3://lake/")
    manifest = json.loads(RESULTS.read_text())
    manifest["destinationBucket"] = "arn:aws:s3:::lake"
    for f in manifest["files"]:
        data = (RESULTS.parents[1] / "data" / f["key"].rpartition("/")[2]).read_bytes()
        f["key"] = f"{base}/{f['key']}"
        s3.put_object(Bucket="lake", Key=f["key"], Body=data)
    key = f"{base}/inventory/results/manifest.json"
    s3.put_object(Bucket="lake", Key=key, Body=json.dumps(manifest).encode())

    loaded = load_inventory(LakeStore(s3_settings), f"s3://lake/{key}")
    assert (loaded.rows, loaded.size_bytes) == (4, 38 * 10**9 + 1_200_000_000 + 41_250 + 35 * 10**9)


def test_what_is_not_an_inventory_is_named():
    with pytest.raises(ParseError, match=r"m.json: not an S3 Inventory manifest.json"):
        parse_manifest('{"files": []}', "m.json")
    orc = json.loads(RESULTS.read_text()) | {"fileFormat": "ORC"}
    with pytest.raises(ParseError, match=r"inventory format ORC is not read"):
        parse_manifest(json.dumps(orc), "m.json")


def test_ingest_inventory_command(lake_settings, tmp_path):
    env = {"SEQLEDGER_LAKE": lake_settings.lake_uri}
    done = CliRunner().invoke(main, ["ingest", "inventory", str(RESULTS)], env=env)
    assert done.exit_code == 0, done.output
    row = next(ln.split() for ln in done.output.splitlines() if "seqledger-results" in ln)
    assert row[-3:] == ["4", "4", f"{(73 * 10**9 + 1_200_041_250) / GIB:,.1f}"]
    missing = CliRunner().invoke(main, ["ingest", "inventory", str(tmp_path / "none.json")],
                                 env=env)
    assert missing.exit_code == 1
    assert "none.json: no such file; give the manifest.json" in missing.output


def test_local_inventory_applies_the_tier_by_age(tmp_path):
    """No lifecycle acts on a folder: the local inventory lists each file in the class the
    stack's rule for its tag would have put it in by then (30 days, then midnight UTC)."""
    outputs = tmp_path / "out"
    attempt = outputs / "cardio" / "S1" / "r1" / "attempt-1"
    attempt.mkdir(parents=True)
    (attempt / "S1.cram").write_bytes(b"c" * 1000)
    (attempt / "S1.hard-filtered.vcf.gz").write_bytes(b"v" * 10)
    finished = datetime(2026, 3, 2, 15, tzinfo=UTC)
    tag_local_run(f"{attempt}/", DEFAULT_RETENTION, finished)

    def classes(at: datetime) -> dict[str, str]:
        return {r["object_key"].rpartition("/")[2]: r["storage_class"]
                for r in local_inventory(str(outputs), at)}

    assert classes(finished - timedelta(hours=1)) == {}  # not written yet
    assert classes(datetime(2026, 4, 1, 23, tzinfo=UTC)) == {
        "S1.cram": "STANDARD", "S1.hard-filtered.vcf.gz": "STANDARD"}
    assert classes(datetime(2026, 4, 2, 0, tzinfo=UTC)) == {
        "S1.cram": "DEEP_ARCHIVE", "S1.hard-filtered.vcf.gz": "STANDARD"}
    [row] = [r for r in local_inventory(str(outputs), datetime(2026, 4, 2, tzinfo=UTC))
             if r["object_key"].endswith(".cram")]
    assert (row["project"], row["sample_id"], row["run_id"], row["size_bytes"]) == (
        "cardio", "S1", "r1", 1000)
