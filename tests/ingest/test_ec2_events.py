"""EC2 instance state changes: the documented event, DescribeInstances on moto, and the event
service recording instance lives and restating a lone job's compute (issue 12, item 4)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.ec2_describe import describer
from ingest.ec2_events import ec2_state_changes
from ingest.s3_events import detect_kind, parse_event_text
from ingest.service import EventService
from lake.errors import InvalidEvent
from lake.store import LakeStore
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.prices import PriceBook
from pipeline_runner.projects import ProjectRegistry, ProjectTags
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig
from seqledger.envelopes import object_created

DOC = "ec2-instance-state-change_pending_aws-docs.json"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GB = 10**9


def test_the_documented_event_is_an_instance_entering_pending(reference):
    doc = parse_event_text((reference / "aws-events" / DOC).read_bytes(), DOC)
    assert detect_kind(doc) == "ec2"
    assert ec2_state_changes(doc, DOC) == [{
        "instance_id": "i-abcd1111", "state": "pending",
        "state_at": datetime(2021, 11, 11, 21, 29, 54, tzinfo=UTC), "region": "us-east-1",
        "account_id": "123456789012", "source": "ec2-event",
        "event_id": "7bf73129-1428-4cd3-a780-95db273d1602"}]


def test_through_sns_and_with_a_state_ec2_does_not_send(reference):
    doc = json.loads((reference / "aws-events" / DOC).read_text())
    sns = {"Records": [{"EventSource": "aws:sns", "EventSubscriptionArn": "arn:x",
                        "Sns": {"Type": "Notification", "Message": json.dumps(doc)}}]}
    assert detect_kind(sns) == "ec2"
    (row,) = ec2_state_changes(sns, "sns")
    assert row["instance_id"] == "i-abcd1111"
    doc["detail"]["state"] = "rebooting"
    with pytest.raises(InvalidEvent, match="'rebooting' is not one of pending, running"):
        ec2_state_changes(doc, DOC)


@pytest.mark.integration
def test_describe_instances_on_moto_sends_the_ids_and_reads_launch_type_zone_and_spot(
    moto_endpoint,
):
    import boto3

    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    od = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="f1.2xlarge",
                           Placement={"AvailabilityZone": "us-east-1b"})["Instances"][0]
    spot = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="f2.6xlarge",
                             InstanceMarketOptions={"MarketType": "spot"})["Instances"][0]
    sent = []
    ec2.meta.events.register("provide-client-params.ec2.DescribeInstances",
                             lambda params, **_: sent.append(dict(params)))
    rows = describer(ec2, "us-east-1")([od["InstanceId"], spot["InstanceId"]])
    assert sent == [{"InstanceIds": [od["InstanceId"], spot["InstanceId"]]}]
    by_id = {r["instance_id"]: r for r in rows}
    assert by_id[od["InstanceId"]] == {
        "instance_id": od["InstanceId"], "instance_type": "f1.2xlarge",
        "capacity": "on-demand", "availability_zone": "us-east-1b", "region": "us-east-1",
        "source": "describe-instances", "state": "pending", "state_at": od["LaunchTime"]}
    assert by_id[spot["InstanceId"]]["capacity"] == "spot"
    assert by_id[spot["InstanceId"]]["instance_type"] == "f2.6xlarge"


# -- the event service ------------------------------------------------------------------------

def _service(lake, tmp_path: Path) -> EventService:
    store = LakeStore(lake)
    sim = SimulatedBatch(seed=5, clock_start=T0, spot_reclaim_rate=1.0, instance_events=True,
                         app_failure_rate=0.0, infra_failure_rate=0.0)
    config = RunnerConfig(output_prefix=str(tmp_path / "out"))
    return EventService(store, Runner(store, sim, config),
                        ProjectRegistry({"cardio": ProjectTags("CC-1", "a.lee")}),
                        PriceBook.load_default(), output_prefix=str(tmp_path / "out"),
                        pipeline_release="dragen-4.2.4", describe_instances=describer(sim))


def _play(service: EventService) -> list[tuple[str, dict]]:
    key = "cardio/S9/S9_S1_L001_{}_001.fastq.gz"
    service.process([(key.format(m), object_created("s3", "in", key.format(m), 30 * GB,
                                                    f"etag-{m}", T0, "0" * 16))
                     for m in ("R1", "R2")], now=T0)
    sim, delivered = service.runner.executor, []
    while (at := sim.next_event_at()) is not None:
        batch = [(f"event:{e['id']}", e) for e in sim.advance(at + timedelta(minutes=5))]
        delivered += batch
        service.process(batch, now=at)
    return delivered


def test_a_reclaimed_spot_attempt_pays_its_instance_from_launch_to_reclaim(lake_settings,
                                                                            tmp_path):
    service = _service(lake_settings, tmp_path)
    _play(service)
    store = service.store
    lives = {r["instance_id"]: r for r in store.read("instances").to_pylist()
             if r["state"] == "running"}
    attempts = store.read("job_attempts").to_pylist()
    reclaimed = {r["job_id"]: r["instance_id"] for r in attempts if r["instance_id"]}
    assert reclaimed  # every Spot attempt is reclaimed here; Batch names the host then
    costs = store.read("costs").to_pylist()
    for job_id, instance_id in reclaimed.items():
        rows = {r["component"]: r for r in costs if r["job_id"] == job_id}
        whole = rows["compute"]
        assert whole["price_source"].endswith(
            f"whole instance: the only job on {instance_id} from launch to termination "
            "(EC2 bills the instance)")
        boot = rows["compute:instance-boot"]
        assert boot["usage_start_at"] == lives[instance_id]["state_at"]  # running, not pending
        assert boot["usage_end_at"] == whole["usage_start_at"] and boot["cost_usd"] > 0
        assert rows["compute:instance-idle"]["cost_usd"] == 0  # the reclaim ended the instance
    # DescribeInstances filled in what the events do not carry
    described = [r for r in store.read("instances").to_pylist()
                 if r["source"] == "describe-instances"]
    assert {r["instance_id"] for r in described} >= set(reclaimed.values())
    assert all(r["instance_type"] in ("f1.4xlarge", "f2.6xlarge") and r["availability_zone"]
               for r in described)


def test_replayed_duplicated_and_reordered_events_change_nothing(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    delivered = _play(service)
    store = service.store
    files = {t: sorted(store.files(t)) for t in ("instances", "costs", "job_attempts")}
    costs = sorted(store.read("costs").to_pylist(), key=lambda r: (r["job_id"], r["component"]))
    again = delivered + delivered[::3]
    random.Random(1).shuffle(again)
    service.process(again, now=T0 + timedelta(days=2))
    assert {t: sorted(store.files(t)) for t in files} == files
    assert sorted(store.read("costs").to_pylist(),
                  key=lambda r: (r["job_id"], r["component"])) == costs


@pytest.mark.parametrize("key", ["account", "region", "id"])
def test_a_field_of_the_wrong_type_is_a_bad_event_not_a_failed_batch(
        lake_settings, tmp_path, reference, key):
    """A mutated account (True) reached the instances write and failed the whole batch with a
    SchemaError (found by the event fuzzer); it is one quarantined event, the good one lands."""
    good = (reference / "aws-events" / DOC).read_bytes()
    doc = json.loads(good)
    doc[key] = True
    with pytest.raises(InvalidEvent, match=f"{key} must be a string, got bool"):
        ec2_state_changes(doc, "bad.json")
    service = _service(lake_settings, tmp_path)
    out = service.process([("bad.json", json.dumps(doc).encode()), (DOC, good)], now=T0)
    assert out.instance_changes == 1
    assert [q["source"] for q in out.quarantine] == ["bad.json"]


@pytest.mark.parametrize("columnar", [False, True])
def test_the_service_records_the_documented_event_on_either_reader(lake_settings, tmp_path,
                                                                  reference, columnar):
    service = _service(lake_settings, tmp_path)
    service.columnar = columnar  # the columnar reader hands what is not a Batch event back
    out = service.process([(DOC, (reference / "aws-events" / DOC).read_bytes())], now=T0)
    assert (out.instance_changes, out.quarantine, out.restated) == (1, [], None)
    (row,) = service.store.read("instances").to_pylist()
    assert (row["instance_id"], row["state"], row["source"]) == (
        "i-abcd1111", "pending", "ec2-event")
