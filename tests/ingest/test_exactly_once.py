"""One job per attempt, whatever AWS redelivers: the Lambda handlers against moto's Batch and a
SeaweedFS lake (which enforces ``If-None-Match: *``, so the claims are the real thing).

Each test reproduces a way the handlers used to submit a second DRAGEN job for one attempt
(issue 16, item 2) and ends by counting the jobs of every attempt in Batch.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
from datetime import UTC, datetime

import pytest

from ingest import handlers
from lake.errors import LakeWriteError, TransientError
from lake.store import LakeStore
from pipeline_runner.executors.batch import BatchExecutor, describe_to_event
from seqledger.envelopes import s3_notification, sqs_sns_message

pytestmark = pytest.mark.integration

SPOT, ON_DEMAND = "once-dragen-spot", "once-dragen-ec2"  # tests.servers.make_moto_batch
AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


class Context:
    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


@pytest.fixture(scope="module")
def batch_env(moto_endpoint):
    """Spot and On-Demand queues and a DRAGEN job definition in moto's Batch (no Docker)."""
    from tests.servers import make_moto_batch

    made = make_moto_batch(moto_endpoint, "once")
    assert (made.spot_queue, made.on_demand_queue) == (SPOT, ON_DEMAND)
    return made.client(), made.job_definition, moto_endpoint


@pytest.fixture
def aws_env(batch_env, s3_settings, tmp_path, monkeypatch):
    """The handlers' environment: a SeaweedFS lake, moto's Batch, a project registry."""
    from tests.servers import ACCESS_KEY, SECRET_KEY

    batch, job_definition, endpoint = batch_env
    projects = tmp_path / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    for name, value in {
        "SEQLEDGER_LAKE": s3_settings.lake_uri,
        "SEQLEDGER_S3_ENDPOINT": s3_settings.s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL_BATCH": endpoint,
        "SEQLEDGER_EXECUTOR": "batch", "SEQLEDGER_SPOT_QUEUE": SPOT,
        "SEQLEDGER_ONDEMAND_QUEUE": ON_DEMAND, "SEQLEDGER_JOB_DEFINITION": job_definition,
        "SEQLEDGER_PROJECTS": str(projects),
        "SEQLEDGER_OUTPUT_PREFIX": "s3://outputs/dragen",
    }.items():
        monkeypatch.setenv(name, value)
    return batch, s3_settings


def jobs_named(batch, name: str) -> list[str]:
    ids = []
    for queue in (SPOT, ON_DEMAND):
        page = batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}])
        ids += [j["jobId"] for j in page["jobSummaryList"] if j["jobName"] == name]
    return ids


def mate_message(sample: str, mate: str, n: int) -> dict:
    key = f"cardio/{sample}/{sample}_S1_L001_{mate}_001.fastq.gz"
    return sqs_sns_message(s3_notification("in", key, 40 * 10**9, f"etag{n}", AT, f"{n:016X}"), AT)


def pair_batch(sample: str) -> dict:
    """One SQS batch holding both mates of a sample, as the event source mapping delivers it."""
    return {"Records": [mate_message(sample, m, n)["Records"][0]
                        for n, m in enumerate(("R1", "R2"))]}


def invoke(handler, event: dict, request_id: str):
    """One Lambda invocation: its answer, or "raised" for a transient error (Lambda retries)."""
    try:
        return handler(copy.deepcopy(event), Context(request_id))
    except TransientError:
        return "raised"


def run_ids(settings) -> list[str]:
    return sorted(LakeStore(settings).read("runs").column("run_id").to_pylist())


def failing_writes(monkeypatch, table: str) -> dict:
    """The lake's writes to ``table`` fail while ``switch["on"]`` (after whatever came before
    them in the same invocation succeeded)."""
    switch = {"on": True, "failed": 0}
    real = LakeStore.write

    def write(self, name, rows, recorded_at=None):
        if name == table and switch["on"]:
            switch["failed"] += 1
            raise LakeWriteError(f"could not write {name}: 503 SlowDown (injected)")
        return real(self, name, rows, recorded_at)

    monkeypatch.setattr(LakeStore, "write", write)
    return switch


def test_a_lake_write_failing_after_submit_then_redelivery_makes_one_job(aws_env, monkeypatch):
    batch, settings = aws_env
    event = pair_batch("S11")
    switch = failing_writes(monkeypatch, "runs")
    first = invoke(handlers.on_object_created, event, "req-1")  # SubmitJob, then the write fails
    assert switch["failed"] >= 1
    # the messages go back to the queue (each needs the run recorded); nothing is quarantined
    assert first in ("raised", {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                                      for r in event["Records"]]})
    assert LakeStore(settings).read("quarantine").num_rows == 0

    switch["on"] = False
    second = invoke(handlers.on_object_created, event, "req-2")  # SQS redelivers
    (run_id,) = run_ids(settings)
    assert len(jobs_named(batch, f"{run_id}-a1")) == 1
    assert second == {"batchItemFailures": []}
    (attempt,) = LakeStore(settings).read("job_attempts").to_pylist()
    assert attempt["job_id"] == jobs_named(batch, f"{run_id}-a1")[0]


class _Rendezvous:
    """Holds the first caller of a step until a second one arrives (or ``timeout_s`` passes),
    so two invocations overlap the way concurrent Lambdas do."""

    def __init__(self, timeout_s: float = 3.0) -> None:
        self.barrier = threading.Barrier(2, timeout=timeout_s)

    def wait(self) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other never came
            self.barrier.wait()


def overlap(monkeypatch, *, after_write: str | None = None) -> None:
    """Make two concurrent invocations meet before SubmitJob (and after writing a table)."""
    submit, written = _Rendezvous(), _Rendezvous()
    real_submit, real_write = BatchExecutor.submit, LakeStore.write

    def slow_submit(self, spec):
        submit.wait()
        return real_submit(self, spec)

    def write(self, name, rows, recorded_at=None):
        result = real_write(self, name, rows, recorded_at)
        if name == after_write:
            written.wait()
        return result

    monkeypatch.setattr(BatchExecutor, "submit", slow_submit)
    monkeypatch.setattr(LakeStore, "write", write)


def in_parallel(*calls):
    results: list = [None] * len(calls)

    def run(i, call):
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_dispatchers_each_holding_one_mate_make_one_job(aws_env, monkeypatch):
    """Two invocations each write one mate, overlapping: one job (not two), and not none either
    (each reads its sample's arrivals before its write; a waiting sample is read again after)."""
    batch, settings = aws_env
    r1, r2 = mate_message("S12", "R1", 1), mate_message("S12", "R2", 2)
    overlap(monkeypatch, after_write="arrivals")
    answers = in_parallel(lambda: invoke(handlers.on_object_created, r1, "req-r1"),
                          lambda: invoke(handlers.on_object_created, r2, "req-r2"))
    (run_id,) = {r for r in run_ids(settings)} or {None}
    assert run_id is not None, answers
    assert len(jobs_named(batch, f"{run_id}-a1")) == 1
    # the loser's message went back to the queue; its redelivery finds the job
    failures = [a["batchItemFailures"] for a in answers if isinstance(a, dict)]
    retry = [m for m, f in zip((r1, r2), failures, strict=True) if f]
    for message in retry:
        assert invoke(handlers.on_object_created, message, "req-retry") == {
            "batchItemFailures": []}
    assert len(jobs_named(batch, f"{run_id}-a1")) == 1
    assert LakeStore(settings).read("quarantine").num_rows == 0


def failed_event(batch, job_id: str) -> dict:
    """A Spot reclaim of ``job_id``, as the EventBridge event Batch sends."""
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    job.update(status="FAILED", statusReason="Host EC2 (instance i-0a1b2c3d4e5f67890) terminated.",
               startedAt=job["createdAt"] + 600_000, stoppedAt=job["createdAt"] + 3_600_000)
    job["attempts"] = [{"container": {"exitCode": 143, "reason": "reclaimed"},
                        "startedAt": job["startedAt"], "stoppedAt": job["stoppedAt"],
                        "statusReason": job["statusReason"]}]
    return json.loads(json.dumps(describe_to_event(job, AT.replace(hour=11)), default=str))


def test_two_recorders_handling_one_failed_event_make_one_retry(aws_env, monkeypatch):
    batch, settings = aws_env
    invoke(handlers.on_object_created, pair_batch("S13"), "req-d")
    (run_id,) = run_ids(settings)
    (first_job,) = jobs_named(batch, f"{run_id}-a1")
    event = failed_event(batch, first_job)

    overlap(monkeypatch)
    answers = in_parallel(lambda: invoke(handlers.on_job_state_change, event, "req-f1"),
                          lambda: invoke(handlers.on_job_state_change, event, "req-f2"))
    assert len(jobs_named(batch, f"{run_id}-a2")) == 1
    if "raised" in answers:  # Lambda retries the invocation that found the claim held
        assert invoke(handlers.on_job_state_change, event, "req-f3") != "raised"
    (second_job,) = jobs_named(batch, f"{run_id}-a2")
    store = LakeStore(settings)
    submitted = [r for r in store.read("job_attempts").to_pylist()
                 if r["attempt"] == 2 and r["status"] == "SUBMITTED"]
    assert [r["job_id"] for r in submitted] == [second_job]
    (decision,) = store.read("decisions").to_pylist()
    assert (decision["job_id"], decision["action"]) == (first_job, "retry")


def test_a_duplicate_that_still_happens_is_terminated_and_recorded(aws_env):
    """A claimer that outlives the takeover time submits late: the takeover's job stays the
    attempt's job, the late one is terminated in Batch and a decision row says why."""
    from datetime import timedelta

    from lake.claims import ClaimStore
    from pipeline_runner.service import Runner
    from pipeline_runner.workflows import RunnerConfig, run_request

    batch, settings = aws_env
    job_definition = batch.describe_job_definitions(jobDefinitionName="once-dragen")[
        "jobDefinitions"][0]["jobDefinitionArn"]
    config = RunnerConfig(spot_queue=SPOT, on_demand_queue=ON_DEMAND,
                          output_prefix="s3://outputs/dragen")
    run = run_request("cardio", "S14", "cram", ["s3://in/cardio/S14/S14.cram"], 30 * 10**9,
                      "a.lee", "CC-1", "s3://outputs/dragen", "dragen-4.2.4")

    def runner(owner: str) -> Runner:
        # takeover at once: the other claimer looks dead whatever it is doing
        claims = ClaimStore.for_settings(settings, owner=owner, takeover_after=timedelta(0))
        return Runner(LakeStore(settings), BatchExecutor(batch, job_definition, (SPOT, ON_DEMAND)),
                      config, claims=claims)

    slow, fast = runner("lambda-a"), runner("lambda-b")
    taken_over = []
    real_submit = slow.executor.submit

    def submit_late(spec):  # the slow claimer stalls; meanwhile another takes over and submits
        taken_over.append(fast.dispatch(run, AT))
        return real_submit(spec)

    slow.executor.submit = submit_late
    sent = []
    batch.meta.events.register("provide-client-params.batch.TerminateJob",
                               lambda params, **_: sent.append(dict(params)))
    result = slow.dispatch(run, AT)

    jobs = jobs_named(batch, f"{run.run_id}-a1")
    assert len(jobs) == 2  # the race did happen
    kept = taken_over[0].job_id
    (late,) = set(jobs) - {kept}
    assert result.job_id == kept
    # moto's simple Batch has finished every job already, so check the request we sent
    (terminate,) = sent
    assert terminate["jobId"] == late and kept in terminate["reason"]
    store = LakeStore(settings)
    (decision,) = store.read("decisions").to_pylist()
    assert (decision["job_id"], decision["attempt"], decision["action"]) == (
        late, 1, "terminate_duplicate")
    assert kept in decision["reason"]
    assert {r["job_id"] for r in store.read("job_attempts").to_pylist()} == {kept}


# -- transient is not permanent (issue 16, item 3) ------------------------------------------------


def failing_submits(monkeypatch, code: str, status: int):
    """Every BatchExecutor the handlers make gets a client whose SubmitJob fails."""
    from tests.faults import FailingBatch

    made = []
    real_create = BatchExecutor.create.__func__

    def create(cls, *args, **kwargs):
        executor = real_create(cls, *args, **kwargs)
        executor.client = FailingBatch(executor.client, code, status)
        made.append(executor.client)
        return executor

    monkeypatch.setattr(BatchExecutor, "create", classmethod(create))
    return made


@pytest.mark.parametrize(("code", "status"), [("TooManyRequestsException", 429),
                                              ("ServerException", 500)])
def test_a_throttled_or_failing_submit_goes_back_to_the_queue(aws_env, monkeypatch, code, status):
    batch, settings = aws_env
    event = pair_batch(f"S2{status}")
    clients = failing_submits(monkeypatch, code, status)
    answer = invoke(handlers.on_object_created, event, "req-1")
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    # the message that completed the pair goes back (and its mate, which now completes it too)
    assert event["Records"][1]["messageId"] in failed
    assert failed <= {r["messageId"] for r in event["Records"]}
    assert clients[0].refused >= 1
    assert LakeStore(settings).read("quarantine").num_rows == 0  # nothing given up on

    recover(monkeypatch)  # Batch recovers; SQS redelivers the failed messages
    retry = {"Records": [r for r in event["Records"] if r["messageId"] in failed]}
    assert invoke(handlers.on_object_created, retry, "req-2") == {"batchItemFailures": []}
    (run_id,) = run_ids(settings)
    assert len(jobs_named(batch, f"{run_id}-a1")) == 1


HANDLER_ENV = ("SEQLEDGER_LAKE", "SEQLEDGER_S3_ENDPOINT", "AWS_ACCESS_KEY_ID",
               "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_BATCH", "SEQLEDGER_EXECUTOR",
               "SEQLEDGER_SPOT_QUEUE", "SEQLEDGER_ONDEMAND_QUEUE", "SEQLEDGER_JOB_DEFINITION",
               "SEQLEDGER_PROJECTS", "SEQLEDGER_OUTPUT_PREFIX")


def recover(monkeypatch) -> None:
    """Undo the injected faults, keeping the handlers' environment."""
    env = {name: os.environ[name] for name in HANDLER_ENV}
    monkeypatch.undo()
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("op", ["write", "list"])
def test_lake_failures_go_back_to_the_queue(aws_env, monkeypatch, op):
    """The lake answers 503 to every write (or listing): both messages are retried, none is
    quarantined, and the redelivery dispatches the sample once."""
    from tests.faults import failing_lake

    batch, settings = aws_env
    event = pair_batch(f"S3{op}")
    failing_lake(monkeypatch, lambda o, path: o == op and "/_claims/" not in path)
    answer = invoke(handlers.on_object_created, event, "req-1")
    # every message goes back (or the invocation fails as a whole, which SQS treats the same)
    assert answer in ("raised", {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                                       for r in event["Records"]]})
    recover(monkeypatch)
    assert invoke(handlers.on_object_created, event, "req-2") == {"batchItemFailures": []}
    (run_id,) = run_ids(settings)
    assert len(jobs_named(batch, f"{run_id}-a1")) == 1
    assert LakeStore(settings).read("quarantine").num_rows == 0


def test_the_recorder_raises_on_a_throttled_resubmission_and_decides_on_retry(aws_env,
                                                                              monkeypatch):
    batch, settings = aws_env
    invoke(handlers.on_object_created, pair_batch("S15"), "req-d")
    (run_id,) = run_ids(settings)
    (first_job,) = jobs_named(batch, f"{run_id}-a1")
    event = failed_event(batch, first_job)
    failing_submits(monkeypatch, "TooManyRequestsException", 429)
    with pytest.raises(TransientError, match="resubmitting attempt 2"):
        handlers.on_job_state_change(copy.deepcopy(event), Context("req-f1"))
    store = LakeStore(settings)
    assert store.read("decisions").num_rows == 0  # undecided, so the retry decides
    assert store.read("quarantine").num_rows == 0

    recover(monkeypatch)  # Lambda's asynchronous retry, once Batch has recovered
    handlers.on_job_state_change(copy.deepcopy(event), Context("req-f2"))
    assert len(jobs_named(batch, f"{run_id}-a2")) == 1
    (decision,) = store.read("decisions").to_pylist()
    assert (decision["job_id"], decision["action"]) == (first_job, "retry")
