"""Every attempt linked to its EC2 instance through ECS (issue 12, item 4): a Batch event names
only the ECS container instance; DescribeContainerInstances (moto's ECS) gives the EC2 id, and
the whole-instance rule then charges an attempt that was not reclaimed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.ec2_describe import describer
from ingest.ecs_describe import ContainerInstances, cluster_of
from ingest.service import EventService
from lake.store import LakeStore
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.prices import PriceBook
from pipeline_runner.projects import ProjectRegistry, ProjectTags
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig
from seqledger.envelopes import object_created

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GB = 10**9


def test_the_cluster_comes_from_the_new_arn_format_only():
    arn = "arn:aws:ecs:us-east-1:123456789012:container-instance/{}"
    assert cluster_of(arn.format("dragen_Batch_1a2b/5c6d")) == "dragen_Batch_1a2b"
    assert cluster_of(arn.format("5c6d7e8f")) is None  # the old format names no cluster
    sent = []

    class Ecs:
        def describe_container_instances(self, **kw):
            sent.append(kw)
            return {"containerInstances": []}

    ci = ContainerInstances(Ecs())
    assert ci([arn.format("5c6d7e8f"), "local:host-1"]) == {}
    assert sent == [] and ci.skipped == {arn.format("5c6d7e8f")}
    ci = ContainerInstances(Ecs(), default_cluster="dragen_Batch_9")
    ci([arn.format(f"{n:08x}") for n in range(150)])
    assert [(s["cluster"], len(s["containerInstances"])) for s in sent] == [
        ("dragen_Batch_9", 100), ("dragen_Batch_9", 50)]  # ECS takes at most 100 a call


def test_a_job_detail_carries_its_container_instance_and_an_old_format_one_is_skipped(
    reference,
):
    from ingest.batch_events import job_state_changes

    doc = json.loads((reference / "aws-events" / "describe-jobs_SUCCEEDED_botocore-example.json")
                     .read_text())
    (change,) = job_state_changes(doc, "botocore").changes
    arn = ("arn:aws:ecs:us-east-1:012345678910:container-instance/"
           "5406d7cd-58bd-4b8f-9936-48d7c6b1526c")
    assert change.container_instance_arn == arn and change.instance_id is None
    ci = ContainerInstances(client=None)  # never called: the ARN names no cluster
    assert ci([arn]) == {} and ci.skipped == {arn}


class _Throttled:
    """The moto client, throttled on its first DescribeContainerInstances (as ECS throttles)."""

    def __init__(self, ecs):
        self.ecs, self.calls = ecs, 0

    def describe_container_instances(self, **kw):
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}},
                              "DescribeContainerInstances")
        return self.ecs.describe_container_instances(**kw)


def _clients(endpoint: str):
    import boto3

    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    return boto3.client("ec2", **kw), boto3.client("ecs", **kw)


def _service(lake, tmp_path: Path, ecs, columnar: bool = False) -> EventService:
    store = LakeStore(lake)
    sim = SimulatedBatch(seed=5, clock_start=T0, spot_reclaim_rate=0.0, instance_events=True,
                         app_failure_rate=0.0, infra_failure_rate=0.0,
                         capacity_shortage_rate=0.0)
    config = RunnerConfig(output_prefix=str(tmp_path / "out"))
    return EventService(store, Runner(store, sim, config),
                        ProjectRegistry({"cardio": ProjectTags("CC-1", "a.lee")}),
                        PriceBook.load_default(), output_prefix=str(tmp_path / "out"),
                        pipeline_release="dragen-4.2.4", columnar=columnar,
                        container_instances=ContainerInstances(ecs))


def _batches(service: EventService, ec2, ecs) -> tuple[list[list[dict]], dict[str, str]]:
    """The simulated run's event batches, its instances made real in moto: each simulated
    instance is an EC2 instance registered in an ECS cluster, and the events name moto's ids
    and container instance ARNs (so the EC2 id can only come from ECS)."""
    key = "cardio/S9/S9_S1_L001_{}_001.fastq.gz"
    service.process([(key.format(m), object_created("s3", "in", key.format(m), 30 * GB,
                                                    f"etag-{m}", T0, "0" * 16))
                     for m in ("R1", "R2")], now=T0)
    sim, batches = service.runner.executor, []
    while (at := sim.next_event_at()) is not None:
        batches.append(sim.advance(at + timedelta(minutes=5)))
    image = ec2.describe_images()["Images"][0]["ImageId"]
    swap: dict[str, str] = {}  # simulated id or ARN -> moto's
    for event in (e for b in batches for e in b):
        sim_arn = event["detail"].get("container", {}).get("containerInstanceArn")
        if not sim_arn or sim_arn in swap:
            continue
        cluster, sim_id = cluster_of(sim_arn), "i-" + sim_arn.rsplit("/", 1)[1]
        ecs.create_cluster(clusterName=cluster)
        (inst,) = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                    InstanceType="f2.6xlarge")["Instances"]
        registered = ecs.register_container_instance(
            cluster=cluster, instanceIdentityDocument=json.dumps(
                {"instanceId": inst["InstanceId"]}))["containerInstance"]
        swap[sim_arn] = registered["containerInstanceArn"]
        swap[sim_id] = inst["InstanceId"]
    assert swap, "the simulated job was placed on an instance"

    def on_moto(event: dict) -> dict:
        text = json.dumps(event)
        for old, new in swap.items():
            text = text.replace(old, new)
        return json.loads(text)

    back = {v: k for k, v in swap.items()}
    describe = describer(sim, sim.region)
    service.describe_instances = lambda ids: [
        {**r, "instance_id": swap[r["instance_id"]]}
        for r in describe([back[i] for i in ids])]
    return [[on_moto(e) for e in b] for b in batches], swap


@pytest.mark.integration
@pytest.mark.parametrize("columnar", [False, True], ids=["rows", "columns"])
def test_an_attempt_not_reclaimed_gets_its_instance_from_ecs_and_pays_the_whole_instance(
    lake_settings, tmp_path, moto_endpoint, columnar,
):
    ec2, ecs = _clients(moto_endpoint)
    sent = []
    ecs.meta.events.register("provide-client-params.ecs.DescribeContainerInstances",
                             lambda params, **_: sent.append(dict(params)))
    service = _service(lake_settings, tmp_path, ecs, columnar)
    batches, swap = _batches(service, ec2, ecs)
    outcomes = [service.process([(f"event:{e['id']}", e) for e in b],
                                now=datetime.fromisoformat(b[-1]["time"])) for b in batches]
    assert not [t for o in outcomes for t in o.transient]
    (arn,) = [v for k, v in swap.items() if ":container-instance/" in k]
    (instance_id,) = [v for k, v in swap.items() if k.startswith("i-")]
    # one call for every event that named the container instance: the answer is cached
    assert sent == [{"cluster": "dragen-spot", "containerInstances": [arn]}]
    attempts = service.store.read("job_attempts").to_pylist()
    placed = [r for r in attempts if r["status"] in ("STARTING", "RUNNING", "SUCCEEDED")]
    assert placed and {r["instance_id"] for r in placed} == {instance_id}
    assert not any(r["status_reason"] and "Host EC2" in r["status_reason"] for r in attempts)
    rows = {r["component"]: r for r in service.store.read("costs").to_pylist()}
    assert rows["compute"]["price_source"].endswith(
        f"whole instance: the only job on {instance_id} from launch to termination "
        "(EC2 bills the instance)")
    lives = {r["state"]: r["state_at"] for r in service.store.read("instances").to_pylist()
             if r["instance_id"] == instance_id and r["source"] == "ec2-event"}
    boot, idle = rows["compute:instance-boot"], rows["compute:instance-idle"]
    assert boot["usage_start_at"] == lives["running"] and boot["cost_usd"] > 0
    assert idle["usage_end_at"] == lives["shutting-down"] and idle["cost_usd"] > 0


@pytest.mark.integration
def test_a_throttled_lookup_leaves_the_row_without_the_id_and_a_later_event_brings_it(
    lake_settings, tmp_path, moto_endpoint,
):
    ec2, ecs = _clients(moto_endpoint)
    throttled = _Throttled(ecs)
    service = _service(lake_settings, tmp_path, throttled)
    batches, swap = _batches(service, ec2, ecs)
    (instance_id,) = [v for k, v in swap.items() if k.startswith("i-")]
    events = sorted((e for b in batches for e in b if e.get("source") == "aws.batch"),
                    key=lambda e: e["time"])
    first = next(i for i, e in enumerate(events) if e["detail"]["status"] == "STARTING")
    out = service.process([("starting", events[first])],
                          now=datetime.fromisoformat(events[first]["time"]))
    assert len(out.transient) == 1 and "ThrottlingException" in out.transient[0]
    assert "dragen-spot" in out.transient[0] and not out.quarantine
    (row,) = [r for r in service.store.read("job_attempts").to_pylist()
              if r["status"] == "STARTING"]
    assert row["instance_id"] is None  # kept without the id: the event is not lost
    rest = events[first + 1:]
    out = service.process([(f"event:{e['id']}", e) for e in rest],
                          now=datetime.fromisoformat(rest[-1]["time"]))
    assert not out.transient and throttled.calls == 2
    ids = {r["status"]: r["instance_id"] for r in service.store.read("job_attempts").to_pylist()}
    assert ids["STARTING"] is None and ids["SUCCEEDED"] == instance_id
