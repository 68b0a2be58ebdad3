"""Tag validation, and every executor refusing a job without its cost-allocation tags."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lake.errors import SubmitError
from pipeline_runner.executors.batch import BatchExecutor
from pipeline_runner.executors.local import LocalExecutor
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.records import REQUIRED_TAGS
from pipeline_runner.tags import validate_tags
from pipeline_runner.workflows import build_job_spec

GOOD = {"project": "allofus-wgs", "sample_id": "NA12878-A01", "run_id": "NA12878-A01-0123abcd",
        "workflow": "dragen-germline-wgs", "pipeline_release": "dragen-4.2.4",
        "requested_by": "jane.doe@example.org", "cost_centre": "CC-1042"}


def test_valid_tags_come_back_in_order_with_extras_after():
    tags = validate_tags({"team": "wgs", **dict(reversed(GOOD.items()))}, "j")
    assert list(tags) == [*REQUIRED_TAGS, "team"]


@pytest.mark.parametrize("missing", REQUIRED_TAGS)
def test_a_missing_tag_is_named(missing):
    tags = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(SubmitError, match=rf"job S1-a1 refused: missing tag\(s\): {missing}$"):
        validate_tags(tags, "S1-a1")


def test_every_problem_is_named_at_once():
    tags = {**GOOD, "project": "", "sample_id": "S1,S2", "requested_by": "x" * 257}
    del tags["cost_centre"]
    with pytest.raises(SubmitError) as info:
        validate_tags(tags, "S1-a1")
    message = str(info.value)
    assert "missing tag(s): cost_centre" in message
    assert "project (empty)" in message
    assert "sample_id (characters not allowed in AWS tags: ',')" in message
    assert "requested_by (257 characters, at most 256)" in message


def test_values_aws_accepts():
    validate_tags({**GOOD, "requested_by": "Ünal Öz", "project": "a+b=c:d/e@f_g.h-i"}, "j")
    validate_tags({**GOOD, "requested_by": "x" * 256}, "j")
    for bad in ("a\nb", "semi;colon", "   ", None, 42):
        with pytest.raises(SubmitError):
            validate_tags({**GOOD, "project": bad}, "j")
    with pytest.raises(SubmitError, match="invalid tag key"):
        validate_tags({**GOOD, "aws:createdBy": "x"}, "j")


class _RecordingClient:
    def __init__(self):
        self.calls = []

    def submit_job(self, **request):
        self.calls.append(request)
        return {"jobId": "id-1", "jobName": request["jobName"]}


def test_every_executor_refuses_a_job_missing_a_tag(make_run, config, tmp_path):
    spec = build_job_spec(make_run(), 1, "spot", config)
    untagged = replace(spec, tags={k: v for k, v in spec.tags.items() if k != "cost_centre"})
    client = _RecordingClient()
    local = LocalExecutor(["true"], log_dir=tmp_path)
    executors = [SimulatedBatch(seed=1), local, BatchExecutor(client, "dragen-germline:1")]
    for executor in executors:
        with pytest.raises(SubmitError, match=f"job {spec.job_name} refused: .*cost_centre"):
            executor.submit(untagged)
    assert client.calls == [] and local.active == 0
    assert BatchExecutor(client, "dragen-germline:1").submit(spec) == "id-1"
    assert client.calls[0]["tags"] == spec.tags
