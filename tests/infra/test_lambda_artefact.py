"""The built Lambda zip runs the handlers on its own: a clean interpreter (``python -I -S``, only
the unzipped artefact on ``sys.path``, no project venv) against SeaweedFS and moto's Batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from lake.settings import Settings
from lake.store import LakeStore
from seqledger.cli import main
from seqledger.envelopes import object_created
from tests.servers import ACCESS_KEY, SECRET_KEY, make_moto_batch

pytestmark = pytest.mark.integration

# Runs one handler in the clean interpreter: argv = artefact dir, handler, event file.
RUN_HANDLER = """
import json, sys
sys.path[:0] = [sys.argv[1]]
import ingest.handlers as h
out = getattr(h, sys.argv[2])(json.load(open(sys.argv[3])), None)
mods = sorted(m for m in ("pandas", "numpy", "duckdb", "great_expectations") if m in sys.modules)
print(json.dumps({"result": out, "heavy": mods, "pyarrow": sys.modules["pyarrow"].__file__}))
"""


@pytest.fixture(scope="module")
def artefact(tmp_path_factory) -> Path:
    """`seqledger infra package`'s zip, unzipped into an empty folder."""
    out = tmp_path_factory.mktemp("build") / "seqledger-lambda.zip"
    result = CliRunner().invoke(main, ["infra", "package", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "runtime: boto3, botocore, pyarrow" in result.output
    root = tmp_path_factory.mktemp("function")
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        zf.extractall(root)
    # what the functions need is in it, what they never import is not
    tops = {n.split("/")[0] for n in names}
    assert {"ingest", "lake", "pipeline_runner", "pyarrow", "boto3", "botocore"} <= tops
    assert not tops & {"pandas", "numpy", "duckdb", "great_expectations", "seqledger",
                       "analytics", "awswrangler"}
    assert "ingest/__pycache__/handlers.cpython-311.pyc" in names
    assert not [n for n in names if "/tests/" in n or "flight" in n]
    return root


def _invoke(artefact: Path, handler: str, event: dict, env: dict[str, str],
            tmp_path: Path) -> dict:
    event_file = tmp_path / f"{handler}.json"
    event_file.write_text(json.dumps(event))
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUN_HANDLER, str(artefact), handler, str(event_file)],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_both_handlers_run_from_the_artefact(artefact, seaweed, s3_settings, moto_endpoint,
                                              tmp_path):
    batch = make_moto_batch(moto_endpoint, "art" + os.urandom(2).hex())
    projects = tmp_path / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    env = {  # the function's environment, as the template sets it, plus the local endpoints
        "SEQLEDGER_LAKE": s3_settings.lake_uri, "SEQLEDGER_S3_ENDPOINT": seaweed.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_BATCH": moto_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true", "SEQLEDGER_EXECUTOR": "batch",
        "SEQLEDGER_SPOT_QUEUE": batch.spot_queue, "SEQLEDGER_ONDEMAND_QUEUE": batch.on_demand_queue,
        "SEQLEDGER_JOB_DEFINITION": batch.job_definition, "SEQLEDGER_PROJECTS": str(projects),
        "SEQLEDGER_OUTPUT_PREFIX": f"{s3_settings.lake_uri}-out", "PATH": "/usr/bin:/bin",
    }
    at = datetime(2026, 5, 1, tzinfo=UTC)
    records = []
    for n, mate in enumerate(("R1", "R2")):  # what SQS hands the dispatcher (S3 -> SNS -> SQS)
        key = f"cardio/S7/S7_S1_L001_{mate}_001.fastq.gz"
        records += object_created("sqs-sns", "in", key, 40 * 10**9, f"e{n}", at,
                                  f"{n:08X}")["Records"]

    dispatched = _invoke(artefact, "on_object_created", {"Records": records}, env, tmp_path)

    assert dispatched["heavy"] == []
    assert dispatched["pyarrow"].startswith(str(artefact))
    assert dispatched["result"] == {"batchItemFailures": []}  # an SQS batch: nothing to redo
    client = batch.client()
    (summary,) = client.list_jobs(jobQueue=batch.spot_queue, jobStatus="SUCCEEDED")[
        "jobSummaryList"] or client.list_jobs(jobQueue=batch.spot_queue)["jobSummaryList"]
    (job,) = client.describe_jobs(jobs=[summary["jobId"]])["jobs"]
    assert job["tags"]["sample_id"] == "S7" and job["tags"]["project"] == "cardio"
    store = LakeStore(Settings(lake_uri=s3_settings.lake_uri, s3=s3_settings.s3))
    (run,) = store.read("runs").to_pylist()
    assert run["status"] == "DISPATCHED"

    # moto's Batch has already run the job; Batch would send this event through EventBridge
    from pipeline_runner.executors.batch import describe_to_event

    event = describe_to_event(job, datetime(2026, 5, 1, 3, tzinfo=UTC))
    recorded = _invoke(artefact, "on_job_state_change", event, env, tmp_path)

    assert recorded["heavy"] == []
    assert recorded["result"]["job_changes"] == 1
    assert recorded["result"]["finished_runs"] == [run["run_id"]]
    statuses = {r["status"] for r in store.read("runs", dedupe=False).to_pylist()}
    assert statuses == {"DISPATCHED", "SUCCEEDED"}
    (decision,) = store.read("decisions").to_pylist()
    assert decision["action"] == "complete" and decision["job_id"] == job["jobId"]


def test_the_billing_loader_runs_from_the_artefact(artefact, seaweed, s3_settings, reference,
                                                   tmp_path):
    import pyarrow.parquet as pq

    from tests.cost.synthetic import cur2_table
    from tests.cost.test_cur_exports import _rows

    store = LakeStore(Settings(lake_uri=s3_settings.lake_uri, s3=s3_settings.s3))
    exports = f"{s3_settings.lake_uri}-billing/"
    with store.fs.open_output_stream(
            f"{exports[5:]}cur2/x/data/BILLING_PERIOD=2026-06/x-00001.snappy.parquet") as out:
        pq.write_table(cur2_table(reference, _rows()), out)
    env = {  # the function's environment as the template sets it, plus the local endpoint
        "SEQLEDGER_LAKE": s3_settings.lake_uri, "SEQLEDGER_BILLING_EXPORTS": exports,
        "SEQLEDGER_S3_ENDPOINT": seaweed.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin",
    }
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    first = _invoke(artefact, "load_billing_exports", scheduled, env, tmp_path)
    again = _invoke(artefact, "load_billing_exports", scheduled, env, tmp_path)

    assert first["heavy"] == [] and first["pyarrow"].startswith(str(artefact))
    assert (first["result"]["listed"], first["result"]["rows_loaded"]) == (1, 2)
    assert (again["result"]["loaded"], again["result"]["rows_loaded"]) == ([], 0)
    assert sorted(r["resource_id"] for r in store.read("billed_costs").to_pylist()) == [
        "arn:task/t1", "i-1"]
