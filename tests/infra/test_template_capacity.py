"""The stack's compute settings have one source: the On-Demand queue's RUNNABLE limit, and the
DRAGEN job's vCPUs, memory and timeout, which the runner submits exactly as the job definition
declares them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.assembly import build_event_service
from lake.settings import Settings
from pipeline_runner.executors.batch import build_submit_request
from pipeline_runner.workflows import build_job_spec, run_request
from tests.infra.cfn import ROOT_TEMPLATE, load

# the parameters the job definition takes its values from, and the variables they reach the
# runner by (a test below keeps the template to this)
ONE_SOURCE = {"DragenVcpus": "SEQLEDGER_JOB_VCPUS", "DragenMemoryMiB": "SEQLEDGER_JOB_MEMORY_MIB",
              "JobTimeoutSeconds": "SEQLEDGER_JOB_TIMEOUT_S"}


@pytest.fixture(scope="module")
def root() -> dict:
    return load(ROOT_TEMPLATE)


def test_both_queues_cancel_what_waits_too_long_for_capacity(root):
    res = root["Resources"]
    limits = {name: res[name]["Properties"]["JobStateTimeLimitActions"]
              for name in ("SpotQueue", "OnDemandQueue")}
    assert limits["OnDemandQueue"] == [{
        "Action": "CANCEL", "State": "RUNNABLE",
        "MaxTimeSeconds": {"Ref": "OnDemandRunnableTimeoutSeconds"},
        "Reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"}]
    assert limits["SpotQueue"][0]["MaxTimeSeconds"] == {"Ref": "RunnableTimeoutSeconds"}
    on_demand = root["Parameters"]["OnDemandRunnableTimeoutSeconds"]
    assert on_demand["Default"] > root["Parameters"]["RunnableTimeoutSeconds"]["Default"]


def test_the_runner_gets_the_job_definition_s_own_parameters(root):
    res = root["Resources"]
    container = res["DragenJobDefinition"]["Properties"]["ContainerProperties"]
    declared = {r["Type"]: r["Value"]["Ref"] for r in container["ResourceRequirements"]}
    timeout = res["DragenJobDefinition"]["Properties"]["Timeout"]["AttemptDurationSeconds"]
    assert {declared["VCPU"], declared["MEMORY"], timeout["Ref"]} == set(ONE_SOURCE)
    for function in ("DispatcherFunction", "RecorderFunction"):
        env = res[function]["Properties"]["Environment"]["Variables"]
        assert {v: env[v] for v in ONE_SOURCE.values()} == {
            v: {"Ref": p} for p, v in ONE_SOURCE.items()}, function


def test_what_the_runner_submits_is_what_the_stack_says(tmp_path: Path):
    env = {"SEQLEDGER_LAKE": str(tmp_path / "lake"), "SEQLEDGER_JOB_VCPUS": "48",
           "SEQLEDGER_JOB_MEMORY_MIB": "491520", "SEQLEDGER_JOB_TIMEOUT_S": "21600"}
    service = build_event_service(Settings.from_env(env))
    run = run_request("cardio", "S1", "cram", ["s3://in/cardio/S1/S1.cram"], 30 * 10**9, "a.lee",
                      "CC-1", str(tmp_path / "out"), "dragen-4.2.4")
    spec = build_job_spec(run, 1, "spot", service.runner.config)
    request = build_submit_request(spec, "seqledger-dragen")
    assert request["containerOverrides"]["resourceRequirements"] == [
        {"type": "VCPU", "value": "48"}, {"type": "MEMORY", "value": "491520"}]
    assert request["timeout"] == {"attemptDurationSeconds": 21600}


def test_unset_the_runner_sizes_jobs_itself_and_bad_values_are_named(tmp_path: Path):
    from lake.errors import ConfigError

    settings = Settings.from_env({"SEQLEDGER_LAKE": str(tmp_path)})
    assert (settings.job_vcpus, settings.job_memory_mib, settings.job_timeout_s) == (None,) * 3
    with pytest.raises(ConfigError, match="SEQLEDGER_JOB_VCPUS='24.5': expected a whole number"):
        Settings.from_env({"SEQLEDGER_LAKE": str(tmp_path), "SEQLEDGER_JOB_VCPUS": "24.5"})
