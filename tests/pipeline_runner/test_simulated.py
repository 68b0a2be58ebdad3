"""The simulated Batch on Spot: deterministic, realistic, and shaped like real Batch events."""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lake.errors import ConfigError
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.records import JOB_STATES
from pipeline_runner.workflows import build_job_spec, input_size_for_coverage
from tests.ingest import written_events

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=3)
RECLAIM = re.compile(r"^Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.$")


def specs(make_run, config, n: int, capacity: str = "spot", coverage: float = 35.0, prefix="S"):
    size = input_size_for_coverage("fastq", coverage)
    return [build_job_spec(make_run(f"{prefix}{i:04d}", size=size), 1, capacity, config)
            for i in range(n)]


def terminal_events(events):
    return {e["detail"]["jobId"]: e for e in events
            if e["detail"]["status"] in ("SUCCEEDED", "FAILED")}


def test_same_seed_same_story_whatever_the_submission_order(make_run, config):
    jobs = specs(make_run, config, 20)
    a, b, c = (SimulatedBatch(seed=7, clock_start=T0) for _ in range(3))
    ids_a = [a.submit(s) for s in jobs]
    ids_b = [b.submit(s) for s in jobs]
    ids_c = [c.submit(s) for s in reversed(jobs)][::-1]
    assert ids_a == ids_b == ids_c
    events_a, events_b = a.advance(FAR), b.advance(FAR)
    assert json.dumps(events_a) == json.dumps(events_b)
    assert {k: v["detail"]["status"] for k, v in terminal_events(c.advance(FAR)).items()} == \
        {k: v["detail"]["status"] for k, v in terminal_events(events_a).items()}
    other = SimulatedBatch(seed=8, clock_start=T0)
    assert [other.submit(s) for s in jobs] != ids_a


def test_reclaims_follow_the_rate(make_run, config):
    sim = SimulatedBatch(seed=3, clock_start=T0, spot_reclaim_rate=0.1, app_failure_rate=0,
                         infra_failure_rate=0, write_outputs=False)
    for spec in specs(make_run, config, 200):
        sim.submit(spec)
    ends = terminal_events(sim.advance(FAR)).values()
    reclaims = [e for e in ends if e["detail"]["status"] == "FAILED"]
    n, p = 200, 0.1
    assert abs(len(reclaims) - n * p) <= 4 * math.sqrt(n * p * (1 - p))  # 4 sigma: [3, 37]
    for e in reclaims:
        assert RECLAIM.match(e["detail"]["statusReason"])
        assert e["detail"]["container"].get("exitCode") in (None, 143)
    on_demand = SimulatedBatch(seed=3, clock_start=T0, spot_reclaim_rate=0.5, app_failure_rate=0,
                               infra_failure_rate=0, write_outputs=False)
    for spec in specs(make_run, config, 50, capacity="on-demand"):
        on_demand.submit(spec)
    assert {e["detail"]["status"] for e in terminal_events(on_demand.advance(FAR)).values()} == \
        {"SUCCEEDED"}


def test_failures_look_like_batch_failures(make_run, config):
    sim = SimulatedBatch(seed=5, clock_start=T0, spot_reclaim_rate=0.2, app_failure_rate=0.2,
                         infra_failure_rate=0.2, write_outputs=False)
    for spec in specs(make_run, config, 150):
        sim.submit(spec)
    ends = terminal_events(sim.advance(FAR))
    kinds = Counter(j.outcome for j in sim.jobs.values())
    assert all(kinds[k] > 5 for k in ("succeeded", "spot_reclaim", "application_error",
                                      "infrastructure")), kinds
    for job_id, job in sim.jobs.items():
        d = ends[job_id]["detail"]
        code = d["container"].get("exitCode")
        if job.outcome == "application_error":
            assert (code, d["statusReason"]) == (1, "Essential container in task exited")
        elif job.outcome == "infrastructure":
            assert code is None and "exitCode" not in d["attempts"][0]["container"]
        elif job.outcome == "succeeded":
            assert code == 0 and d["attempts"][0]["container"]["exitCode"] == 0


def test_application_errors_repeat_for_the_same_run(make_run, config):
    sim = SimulatedBatch(seed=2, clock_start=T0, spot_reclaim_rate=0, app_failure_rate=0.3,
                         infra_failure_rate=0, write_outputs=False)
    runs = [make_run(f"R{i}") for i in range(40)]
    first = {r.run_id: sim.jobs[sim.submit(build_job_spec(r, 1, "spot", config))].outcome
             for r in runs}
    again = {r.run_id: sim.jobs[sim.submit(build_job_spec(r, 2, "on-demand", config))].outcome
             for r in runs}
    assert first == again and "application_error" in first.values()


def test_runtimes_are_near_real_dragen(make_run, config):
    sim = SimulatedBatch(seed=11, clock_start=T0, spot_reclaim_rate=0, app_failure_rate=0,
                         infra_failure_rate=0, write_outputs=False)
    for spec in specs(make_run, config, 120, coverage=35.0):  # 35x sequenced ~ 30x mean coverage
        sim.submit(spec)
    events = sim.advance(FAR)
    hours = defaultdict(list)
    for job in sim.jobs.values():
        hours[job.instance_type].append(job.running_s / 3600)
    assert set(hours) == {"f1.4xlarge", "f2.6xlarge"}
    assert 1.7 <= statistics.median(hours["f1.4xlarge"]) <= 2.3
    assert statistics.median(hours["f2.6xlarge"]) < 0.85 * statistics.median(hours["f1.4xlarge"])
    bigger = SimulatedBatch(seed=11, clock_start=T0, spot_reclaim_rate=0, app_failure_rate=0,
                            infra_failure_rate=0, write_outputs=False)
    for spec in specs(make_run, config, 40, coverage=60.0, prefix="B"):
        bigger.submit(spec)
    bigger.advance(FAR)
    f1 = [j.running_s for j in bigger.jobs.values() if j.instance_type == "f1.4xlarge"]
    assert statistics.median(f1) / 3600 > 1.5 * statistics.median(hours["f1.4xlarge"])
    # queue wait: RUNNABLE to STARTING, minutes on Spot, sometimes much longer
    at = defaultdict(dict)
    for e in events:
        at[e["detail"]["jobId"]][e["detail"]["status"]] = datetime.fromisoformat(e["time"])
    waits = [(t["STARTING"] - t["RUNNABLE"]).total_seconds() / 60 for t in at.values()]
    assert 3 < statistics.median(waits) < 10 and max(waits) > 20


def test_events_have_the_real_shape(reference, make_run, config):
    sim = SimulatedBatch(seed=1, clock_start=T0, write_outputs=False)
    for spec in specs(make_run, config, 10):
        sim.submit(spec)
    events = sim.advance(FAR)
    ref = [json.loads((reference / "aws-events" / n).read_text(encoding="utf-8-sig")) for n in (
        "batch-job-state-change_RUNNABLE_aws-docs.json",
        "batch-job-state-change_RUNNABLE_aws-lambda-dotnet.json")]
    # SUCCEEDED events with attempts[], written here in the shape of real captures we may not ship
    ref += [written_events.batch_now(), written_events.batch_2017()]
    assert_shape_of(events, ref)


def test_events_have_the_shape_of_real_captures(real_reference, make_run, config):
    """The extra check against the real SUCCEEDED captures, where they are at hand."""
    names = ("batch-job-state-change_SUCCEEDED_umccr-data-portal.json",
             "batch-job-state-change_SUCCEEDED_qiita-2017.json")
    if not all((real_reference / "aws-events" / n).is_file() for n in names):
        pytest.skip(f"the real captures are not in {real_reference}")
    sim = SimulatedBatch(seed=1, clock_start=T0, write_outputs=False)
    for spec in specs(make_run, config, 10):
        sim.submit(spec)
    ref = [json.loads((real_reference / "aws-events" / n).read_text(encoding="utf-8-sig"))
           for n in ("batch-job-state-change_RUNNABLE_aws-docs.json",
                     "batch-job-state-change_RUNNABLE_aws-lambda-dotnet.json", *names)]
    assert_shape_of(sim.advance(FAR), ref)


def assert_shape_of(events: list[dict], ref: list[dict]) -> None:
    detail_keys = set().union(*(r["detail"] for r in ref))
    container_keys = set().union(*(r["detail"]["container"] for r in ref))
    attempt_keys = set().union(*(a for r in ref for a in r["detail"]["attempts"]))
    for e in events:
        assert set(e) == set(ref[0])
        assert e["detail-type"] == "Batch Job State Change" and e["source"] == "aws.batch"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"])
        d = e["detail"]
        assert set(d) <= detail_keys, set(d) - detail_keys
        assert set(d["container"]) <= container_keys | {"instanceType", "exitCode", "reason"}
        for a in d["attempts"]:
            assert set(a) <= attempt_keys
        assert d["jobArn"] == e["resources"][0] and d["jobArn"].endswith(d["jobId"])
        assert isinstance(d["createdAt"], int) and d["tags"]["sample_id"].startswith("S")
    statuses = Counter(e["detail"]["status"] for e in events)
    assert set(statuses) <= set(JOB_STATES) - {"SUBMITTED", "PENDING"}  # Batch sends neither here


def test_outputs_are_written_before_success_is_reported(make_run, config, tmp_path):
    sim = SimulatedBatch(seed=4, clock_start=T0, spot_reclaim_rate=0.3, duplicate_rate=0.3,
                         reorder_rate=0.3)
    for spec in specs(make_run, config, 12):
        sim.submit(spec)
    seen = []

    def check(events):
        for e in events:
            out = next(v["value"] for v in e["detail"]["container"]["environment"]
                       if v["name"] == "SEQLEDGER_OUTPUT")
            sample = e["detail"]["tags"]["sample_id"]
            written = Path(out, f"{sample}.mapping_metrics.csv").exists()
            if e["detail"]["status"] == "SUCCEEDED":
                assert written and len(list(Path(out).iterdir())) == 10  # 9 metric files, replay
                seen.append(sample)
            elif e["detail"]["status"] == "FAILED":
                assert not written

    delivered = sim.run_until_idle(check)
    assert seen and sim.pending == 0 and delivered > 12 * 3


def test_duplicates_and_reordering_happen_when_asked(make_run, config):
    sim = SimulatedBatch(seed=9, clock_start=T0, duplicate_rate=0.25, reorder_rate=0.25,
                         write_outputs=False)
    for spec in specs(make_run, config, 30):
        sim.submit(spec)
    events = sim.advance(FAR)
    ids = Counter(e["id"] for e in events)
    assert any(n > 1 for n in ids.values())
    order = defaultdict(list)
    for e in events:
        order[e["detail"]["jobId"]].append(JOB_STATES.index(e["detail"]["status"]))
    assert any(seq != sorted(seq) for seq in order.values())
    plain = SimulatedBatch(seed=9, clock_start=T0, write_outputs=False)
    for spec in specs(make_run, config, 30):
        plain.submit(spec)
    plain_events = plain.advance(FAR)
    assert len({e["id"] for e in plain_events}) == len(plain_events)


def test_the_clock_only_moves_forward(make_run, config):
    sim = SimulatedBatch(seed=1, clock_start=T0, write_outputs=False)
    sim.submit(specs(make_run, config, 1)[0])
    first = sim.next_event_at()
    assert first is not None and T0 < first < T0 + timedelta(seconds=15)
    assert sim.advance(T0) == [] and sim.now == T0
    assert [e["detail"]["status"] for e in sim.advance(first)] == ["RUNNABLE"]
    sim.advance(FAR)
    assert sim.now == FAR and sim.next_event_at() is None


def test_remote_output_needs_a_writer(make_run, config):
    spec = build_job_spec(make_run(output_prefix="s3://results"), 1, "spot", config)
    with pytest.raises(ConfigError, match="writer"):
        SimulatedBatch(seed=1).submit(spec)
    written = {}
    sim = SimulatedBatch(seed=1, clock_start=T0, spot_reclaim_rate=0, app_failure_rate=0,
                         infra_failure_rate=0,
                         writer=lambda folder, files: written.update({folder: files}))
    sim.submit(spec)
    sim.advance(FAR)
    assert list(written) == [spec.environment["SEQLEDGER_OUTPUT"]]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        SimulatedBatch(spot_reclaim_rate=1.5)


def test_each_job_runs_on_an_instance_launched_before_it_and_scaled_down_after(make_run, config):
    """The EC2 state changes of each job's instance (issue 12, item 4), documented shape."""
    sim = SimulatedBatch(seed=4, clock_start=T0, spot_reclaim_rate=0.3, instance_events=True)
    jobs = [sim.submit(s) for s in specs(make_run, config, 40)]
    events = sim.advance(FAR)
    ec2 = [e for e in events if e["source"] == "aws.ec2"]
    assert {tuple(sorted(e)) for e in ec2} == {(
        "account", "detail", "detail-type", "id", "region", "resources", "source", "time")}
    states: dict[str, dict[str, datetime]] = defaultdict(dict)
    for e in ec2:
        at = datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
        states[e["detail"]["instance-id"]][e["detail"]["state"]] = at
    starting = {e["detail"]["jobId"]: datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
                for e in events
                if e["source"] == "aws.batch" and e["detail"]["status"] == "STARTING"}
    outcomes = Counter()
    for job_id in jobs:
        job = sim.jobs[job_id]
        life = states[job.instance_id]
        assert set(life) == {"pending", "running", "shutting-down", "terminated"}
        assert life["pending"] < life["running"] < starting[job_id]
        assert timedelta(seconds=89) <= starting[job_id] - life["running"] <= \
            timedelta(seconds=241)  # boot: 90-240 s, the event times in whole seconds
        end = life["shutting-down"]
        if job.outcome == "spot_reclaim":  # the reclaim is the termination
            assert job.ends_at - timedelta(seconds=6) <= end <= job.ends_at
        else:  # Batch's scale-down after an idle spell
            assert timedelta(minutes=4) <= end - job.ends_at <= timedelta(minutes=15)
        assert life["terminated"] > end
        outcomes[job.outcome] += 1
        (described,) = sim.describe_instances([job.instance_id])["Reservations"][0]["Instances"]
        assert described["InstanceType"] == job.instance_type
        assert described["InstanceLifecycle"] == "spot"
        assert described["Placement"]["AvailabilityZone"].startswith("us-east-1")
    assert outcomes["spot_reclaim"] and outcomes["succeeded"]
    # off by default: a caller that reads only Batch events sees no other kind
    plain = SimulatedBatch(seed=4, clock_start=T0)
    for s in specs(make_run, config, 3):
        plain.submit(s)
    assert {e["source"] for e in plain.advance(FAR)} == {"aws.batch"}
