"""The scheduled QC gate job, as the stack runs it: the job definition's command and environment,
the lake on S3 (SeaweedFS), and credentials only from a task role (a Fargate-style credentials
endpoint on 127.0.0.1), never from keys in the environment."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from expectations.sample_qc import run_gate
from lake.store import LakeStore
from tests.infra.cfn import ROOT_TEMPLATE, load
from tests.servers import ACCESS_KEY, SECRET_KEY

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class _TaskRoleEndpoint(BaseHTTPRequestHandler):
    """What ECS and Fargate serve a task at AWS_CONTAINER_CREDENTIALS_*_URI."""

    requests = 0

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        type(self).requests += 1
        expires = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A real task role's Token is a session token; SeaweedFS knows only static keys and
        # refuses a request carrying one, so the token is empty here (and so not sent).
        body = json.dumps({"AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY,
                           "Token": "", "Expiration": expires}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def task_role():
    server = HTTPServer(("127.0.0.1", 0), _TaskRoleEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v2/credentials/qc-gate"
    server.shutdown()


def _job_definition() -> dict:
    return load(ROOT_TEMPLATE)["Resources"]["QcGateJobDefinition"]["Properties"]


def test_the_job_definition_runs_the_gate_on_fargate_sized_for_gx():
    props = _job_definition()
    container = props["ContainerProperties"]
    assert props["PlatformCapabilities"] == ["FARGATE"]
    # the gate, then the rollups brought current; the gate's exit code unless the rollup failed
    assert container["Command"] == [
        "sh", "-c",
        "seqledger qc gate; gated=$?; seqledger lake rollup --stale || exit $?; exit $gated"]
    assert {r["Type"]: r["Value"] for r in container["ResourceRequirements"]} == {
        "VCPU": "1", "MEMORY": {"Ref": "QcGateMemoryMiB"}}
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env == {"SEQLEDGER_LAKE": {"Fn::Sub": "s3://${LakeBucket}/lake"},
                   "SEQLEDGER_QUERY_ENGINE": "duckdb"}
    assert not any("KEY" in name for name in env)  # credentials come from the task role


def test_the_schedule_submits_the_job_and_may_do_nothing_else():
    template = load(ROOT_TEMPLATE)
    res = template["Resources"]
    (target,) = res["QcGateRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "QcGateQueue"}
    assert target["BatchParameters"]["JobDefinition"] == {"Ref": "QcGateJobDefinition"}
    assert res["QcGateRule"]["Properties"]["ScheduleExpression"] == {"Ref": "QcGateSchedule"}
    statements = res["QcGateSchedulePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == ["batch:SubmitJob"]
    writes = next(s for s in res["QcGateJobPolicy"]["Properties"]["PolicyDocument"]["Statement"]
                  if s["Sid"] == "WriteVerdictsReportsAndRollups")
    assert writes["Resource"] == [{"Fn::Sub": "${LakeBucket.Arn}/lake/qc_results/*"},
                                  {"Fn::Sub": "${LakeBucket.Arn}/lake/reports/qc/*"},
                                  {"Fn::Sub": "${LakeBucket.Arn}/lake/rollup_*"}]
    key_users = res["DataKey"]["Properties"]["KeyPolicy"]["Statement"][1]["Principal"]["AWS"]
    assert {"Fn::GetAtt": ["QcGateJobRole", "Arn"]} in key_users


def test_the_job_gates_pending_runs_on_s3_with_task_role_credentials(
        reference, seaweed, s3_settings, task_role, tmp_path):
    from ingest.dragen.service import ingest_folder

    store = LakeStore(s3_settings)
    for sample, folder in (("TEST", "TEST"), ("NA12878", "NA12878_NFE_B_A04_NS2000")):
        ingest_folder(store, reference / "dragen" / folder, sample_id=sample,
                      run_id=f"run-{sample}", run_at=AT)
    run_gate(store, s3_settings, ["run-NA12878"], evaluated_at=AT)  # gated earlier
    before = store.read("qc_results").num_rows
    store.write("costs", [{"project": "cardio", "sample_id": "TEST", "run_id": "run-TEST",
                           "job_id": "job-1", "attempt": 1, "component": "compute",
                           "usage_start_at": AT, "cost_usd": 4.2}])
    from analytics.rollups import ROLLUPS

    month = AT.strftime("%Y-%m")
    # every rollup of the cost rows lags, and every rollup of the gates (the gate above, never
    # rolled up): the QC counts, and the per-run ones that carry a verdict (turnaround, releases)
    assert _stale(s3_settings, store) == {
        r.table: [month] for r in ROLLUPS if "costs" in r.facts or "qc_results" in r.facts}

    container = _job_definition()["ContainerProperties"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    env |= {"SEQLEDGER_LAKE": s3_settings.lake_uri,  # the bucket the stack names
            "SEQLEDGER_S3_ENDPOINT": seaweed.endpoint, "AWS_REGION": "us-east-1",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": task_role, "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(tmp_path),  # the image's PATH: the project's environment first
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    command = container["Command"]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                           check=False, cwd=tmp_path)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                           check=False, cwd=tmp_path)

    assert first.returncode == 0, first.stderr[-2000:]
    assert _TaskRoleEndpoint.requests > 0
    assert "1 run(s) gated with sample_qc_v1: 0 pass, 0 review, 1 fail" in first.stdout
    results = store.read("qc_results").to_pylist()
    gated = {r["run_id"] for r in results if r["check_id"] == "overall"}
    assert gated == {"run-TEST", "run-NA12878"}
    assert len(results) > before
    assert again.returncode == 0 and "nothing to gate" in again.stdout
    assert _stale(s3_settings, store) == {}  # the job brought the rollups current
    report = re.search(r"report: (\S+)", first.stdout).group(1)
    assert report.startswith(f"{s3_settings.lake_uri}/reports/qc/")
    info = store.fs.get_file_info(report[len("s3://"):])
    assert info.type == pafs.FileType.File and info.size > 1000


def _stale(settings, store) -> dict[str, list[str]]:
    from analytics.engine import connect
    from analytics.rollups import stale_months

    con = connect(settings, store)
    try:
        return stale_months(con, store)
    finally:
        con.close()
