"""The columnar batch path gives the lake the row path gives, event for event.

Both paths get the same random stream — simulated Batch on Spot with reclaims, every batch's
events doubled, shuffled and serialized as files would be, real reference payloads and
malformed ones mixed in — each into its own lake; every table must hold the same rows.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from ingest.event_columns import read_job_changes
from ingest.service import EventService
from lake.settings import Settings
from lake.store import LakeStore
from pipeline_runner.change_columns import EVENT_TAGS, SEQ_STRIDE, changes_from_table
from pipeline_runner.executors.simulated import SimulatedBatch
from pipeline_runner.prices import PriceBook
from pipeline_runner.projects import ProjectRegistry, ProjectTags
from pipeline_runner.service import Runner
from pipeline_runner.workflows import RunnerConfig, input_size_for_coverage
from seqledger.envelopes import object_created
from tests.ingest.batch_payloads import job_event

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROJECTS = ProjectRegistry({"cardio": ProjectTags("CC-1", "a.lee")})
TABLES = ("arrivals", "runs", "job_attempts", "decisions", "costs", "qc_metrics", "quarantine")


def _bad_payloads(reference) -> list[tuple[str, bytes]]:
    """Malformed and unusual Batch payloads: each must be named and kept as the row path
    keeps it, whatever the columnar reader makes of its neighbours."""
    good = job_event("job-x", "run-x-a1", "RUNNING", T0, queue="q", tags={}, created_at=T0)
    text = json.dumps(good)
    step = json.dumps({"Error": "States.TaskFailed", "Cause": json.dumps(
        {"JobId": "job-y", "JobName": "run-y-a1", "Status": "FAILED", "CreatedAt": 1772442000000})})
    events = reference / "aws-events"
    return [
        ("truncated.json", text[:-20].encode()),
        ("surrogate.json", text.replace('"RUNNING"', '"RUNNING", "note": "\\ud800"').encode()),
        ("exit-as-text.json", text.replace('"dependsOn"', '"exitCode": "0", "dependsOn"')
         .replace('"container": {', '"container": {"exitCode": "0", ').encode()),
        ("unknown-status.json", text.replace('"RUNNING"', '"PAUSED"').encode()),
        ("tag-number.json", text.replace('"tags": {}', '"tags": {"cost": 5}').encode()),
        ("no-time.json", text.replace('"time"', '"when"').encode()),
        ("local-time.json", text.replace('Z"', '"', 1).encode()),
        ("epoch-seconds.json", text.replace(str(int(T0.timestamp() * 1000)),
                                            str(int(T0.timestamp()))).encode()),
        ("step-functions.json", step.encode()),
        ("not-json", b"\xff\xfe not json"),
        ("newline-in-string.json", text.replace('"RUNNING"', '"RUN\nNING"').encode()),
        ("two-documents.json", (text + " " + text).encode()),
        # values the columnar reader leaves to the row reader, which names or takes them
        ("february-30.json", text.replace('"2026-03-02T09:00:00Z"', '"2026-02-30T09:00:00Z"')
         .encode()),
        ("year-zero.json", text.replace('"2026-03-02T09:00:00Z"', '"0000-03-02T09:00:00Z"')
         .encode()),
        ("null-attempt.json", text.replace('"attempts": []', '"attempts": [null]').encode()),
        ("nested-tags.json", text.replace('"tags": {}', '"tags": {"a": {"b": "c"}}').encode()),
        ("two-tags.json", text.replace('"tags": {}', '"tags": {}, "tags": {"x": "y"}').encode()),
        ("vcpu-exponent.json", text.replace('"value": "16"', '"value": "1.6e1"')
         .replace('"job-x"', '"job-z"').replace('"run-x-a1"', '"run-z-a1"').encode()),
        *((f.name, f.read_bytes()) for f in sorted(events.glob("batch-job-state-change_*.json"))),
        *((f.name, f.read_bytes()) for f in sorted(events.glob("describe-jobs_*.json"))),
    ]


def _service(settings: Settings, root, columnar: bool) -> EventService:
    store = LakeStore(settings)
    sim = SimulatedBatch(seed=11, clock_start=T0, spot_reclaim_rate=0.3, app_failure_rate=0.1,
                         duplicate_rate=0.2, reorder_rate=0.3)
    config = RunnerConfig(output_prefix=str(root / "out"))
    return EventService(store, Runner(store, sim, config), PROJECTS, PriceBook.load_default(),
                        output_prefix=str(root / "out"), pipeline_release="dragen-4.2.4",
                        columnar=columnar)


def _arrivals(n: int) -> list[tuple[str, dict]]:
    size = input_size_for_coverage("fastq", 30) // 2
    return [(f"S{i}-{mate}", object_created("s3", "in", f"cardio/S{i}/S{i}_{mate}.fastq.gz",
                                             size, f"etag-{i}-{mate}", T0 + timedelta(minutes=i),
                                             f"{k:016X}"))
            for i in range(n) for k, mate in enumerate(("R1", "R2"))]


def _content(store: LakeStore) -> dict[str, list[str]]:
    out = {}
    for name in TABLES:
        rows = store.read(name).to_pylist()
        out[name] = sorted(json.dumps({k: v for k, v in r.items() if k != "recorded_at"},
                                      default=str, sort_keys=True)
                           .replace("/row/", "/X/").replace("/col/", "/X/") for r in rows)
    return out


def _play(settings: Settings, root, columnar: bool, bad: list[tuple[str, bytes]]) -> dict:
    service = _service(settings, root, columnar)
    service.process(_arrivals(12), now=T0)
    sim = service.runner.executor
    rng = random.Random(7)
    first = True
    while (at := sim.next_event_at()) is not None:
        events = sim.advance(at + timedelta(hours=2))
        batch = [(f"batch-{e['id']}.json", json.dumps(e, indent=2).encode()) for e in events]
        batch = batch + batch[: len(batch) // 2]  # redeliveries
        if first:
            batch += bad
            first = False
        rng.shuffle(batch)
        service.process(batch, now=at)
    return _content(service.store)


def test_the_columnar_path_writes_the_rows_the_row_path_writes(reference, tmp_path):
    bad = _bad_payloads(reference)
    rows = _play(Settings(lake_uri=str(tmp_path / "row-lake")), tmp_path / "row", False, bad)
    cols = _play(Settings(lake_uri=str(tmp_path / "col-lake")), tmp_path / "col", True, bad)
    statuses = {json.loads(r)["status"] for r in rows["job_attempts"]}
    assert statuses >= {"SUBMITTED", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"}
    assert {json.loads(r)["action"] for r in rows["decisions"]} >= {"retry", "complete"}
    quarantined = {json.loads(r)["source"] for r in rows["quarantine"]}
    assert {"truncated.json", "surrogate.json", "exit-as-text.json", "unknown-status.json",
            "tag-number.json", "no-time.json", "local-time.json", "epoch-seconds.json",
            "not-json", "newline-in-string.json", "two-documents.json", "february-30.json",
            "year-zero.json", "null-attempt.json", "nested-tags.json"} <= {
        s.split(" ")[0] for s in quarantined}
    for table in TABLES:
        assert cols[table] == rows[table], table


def test_the_reader_takes_the_common_shape_and_leaves_the_rest_to_the_row_reader(reference):
    from ingest.batch_events import job_state_changes
    from ingest.s3_events import parse_event_text

    bad = _bad_payloads(reference)
    at = T0 + timedelta(minutes=5)
    good = [(f"e{i}", json.dumps(job_event(
        f"job-{i}", f"run-{i}-a1", status, at, queue="dragen-spot",
        tags={"project": "cardio", "run_id": f"run-{i}"}, created_at=T0, started_at=T0,
        stopped_at=at, reason="Essential container in task exited",
        attempt_reason="Host EC2 (instance i-0282b396e52b4c95d) terminated.",
        exit_code=143)).encode()) for i, status in enumerate(("RUNNING", "FAILED"))]
    batch = read_job_changes([*good, *bad])
    # the two plain events and the reference EventBridge events; nothing else
    assert batch.changes.num_rows == 4
    # the eighteen malformed or unusual ones, the DescribeJobs reply
    assert batch.rest == [*range(2, 20), 22]
    expected = [job_state_changes(parse_event_text(p, s), s).changes[0]
                for s, p in [*good, *bad[-3:-1]]]
    assert changes_from_table(batch.changes) == [
        c.__class__(**{**{f: getattr(c, f) for f in c.__slots__},
                       "tags": {k: v for k, v in c.tags.items() if k in EVENT_TAGS}})
        for c in expected]
    failed = changes_from_table(batch.changes)[1]
    assert failed.instance_id == "i-0282b396e52b4c95d" and failed.exit_code == 143
    assert failed.vcpus == 16 and failed.memory_mib == 234496


@pytest.mark.parametrize("payload", [b"{}", b'{"detail-type": "Batch Job State Change"}'])
def test_a_payload_without_a_job_is_left_to_the_row_reader(payload):
    batch = read_job_changes([("odd.json", payload)])
    assert batch.changes.num_rows == 0 and batch.rest == [0]


def _reclaimed(event: dict) -> dict:
    """The job's terminal event as a Spot reclaim (FAILED, host terminated, exit 143)."""
    out = json.loads(json.dumps(event))
    detail = out["detail"]
    detail["status"] = "FAILED"
    detail["statusReason"] = "Essential container in task exited"
    detail["container"]["exitCode"] = 143
    for attempt in detail.get("attempts") or []:
        attempt["statusReason"] = "Host EC2 (instance i-0282b396e52b4c95d) terminated."
        attempt.setdefault("container", {})["exitCode"] = 143
    return out


def _app_failure(event: dict) -> dict:
    out = json.loads(json.dumps(event))
    out["detail"]["status"] = "FAILED"
    out["detail"]["container"]["exitCode"] = 1
    out["id"] = out["id"][:-4] + "fail"
    return out


def _scripted(settings: Settings, root, columnar: bool) -> dict:
    """Four runs whose events take the turns the row state machine must decide, in batches:
    A's SUCCEEDED before its RUNNING; B's FAILED then a SUCCEEDED of the same attempt; C
    reclaimed twice (a retry, then a give-up at max attempts); a job nobody dispatched."""
    store = LakeStore(settings)
    sim = SimulatedBatch(seed=5, clock_start=T0, spot_reclaim_rate=0.0, app_failure_rate=0.0)
    config = RunnerConfig(output_prefix=str(root / "out"), max_attempts=2)
    service = EventService(store, Runner(store, sim, config), PROJECTS, PriceBook.load_default(),
                           output_prefix=str(root / "out"), pipeline_release="dragen-4.2.4",
                           columnar=columnar)
    service.process(_arrivals(4), now=T0)
    events = sim.advance(T0 + timedelta(days=2))
    runs = sorted({e["detail"]["jobName"].rsplit("-a", 1)[0] for e in events})
    assert len(runs) == 4

    def of(run: str, status: str | None = None) -> list[dict]:
        return [e for e in events if e["detail"]["jobName"].startswith(f"{run}-a")
                and (status is None or e["detail"]["status"] == status)]

    a, b, c, d = runs
    later = of(a, "RUNNING") + of(b, "SUCCEEDED")
    first = [e for e in events if e not in later and e not in of(b, "SUCCEEDED")
             and e not in of(c, "SUCCEEDED")]
    first += [_app_failure(e) for e in of(b, "SUCCEEDED")]
    first += [_reclaimed(e) for e in of(c, "SUCCEEDED")]
    nobody = json.loads(json.dumps(of(d, "RUNNING")[0]))
    nobody["detail"].update(jobId="job-nobody", jobName="nobody-a1", tags={})
    first.append(nobody)
    delivered = []
    for n, batch in enumerate((first, later)):
        service.process([(f"e{n}-{i}.json", json.dumps(e).encode())
                         for i, e in enumerate(batch)], now=T0 + timedelta(days=2 + n))
        delivered += batch
    # C's second attempt (submitted on the reclaim) is reclaimed too: 2 of 2 attempts, give up
    second = sim.advance(T0 + timedelta(days=5))
    assert {e["detail"]["jobName"] for e in second} == {f"{c}-a2"}
    second = [_reclaimed(e) if e["detail"]["status"] == "SUCCEEDED" else e for e in second]
    redelivered = second + delivered
    random.Random(3).shuffle(redelivered)
    service.process([(f"e2-{i}.json", json.dumps(e).encode())
                     for i, e in enumerate(redelivered)], now=T0 + timedelta(days=5))
    return _content(service.store)


def test_the_turns_of_the_state_machine_give_the_same_rows_on_both_paths(tmp_path):
    rows = _scripted(Settings(lake_uri=str(tmp_path / "row-lake")), tmp_path / "row", False)
    cols = _scripted(Settings(lake_uri=str(tmp_path / "col-lake")), tmp_path / "col", True)
    decisions = sorted((json.loads(r)["attempt"], json.loads(r)["action"])
                       for r in rows["decisions"])
    # A and D complete, B given up (an application error; its late SUCCEEDED ignored), C
    # retried after the reclaim, then given up at max attempts
    assert decisions == [(1, "complete"), (1, "complete"), (1, "give_up"), (1, "retry"),
                         (2, "give_up")]
    reasons = " ".join(json.loads(r)["reason"] for r in rows["quarantine"])
    assert "contradicts the recorded FAILED" in reasons and "job-nobody" in reasons
    running = [json.loads(r) for r in rows["job_attempts"]
               if json.loads(r)["status"] == "RUNNING"]
    assert len(running) == 5  # A's late RUNNING recorded too (4 first attempts, C's second)
    for table in TABLES:
        assert cols[table] == rows[table], table


# --- the reader against the row reader, payload by payload ----------------------------------

def _row_change(name: str, payload: bytes):
    """The row reader's change for one payload, or None when it refuses it."""
    from ingest.batch_events import job_state_changes
    from ingest.s3_events import parse_event_text
    from lake.errors import InvalidEvent

    try:
        return job_state_changes(parse_event_text(payload, name), name).changes[0]
    except InvalidEvent:
        return None


def _event_tags(change):
    return change.__class__(**{**{f: getattr(change, f) for f in change.__slots__},
                               "tags": {k: v for k, v in change.tags.items() if k in EVENT_TAGS}})


def _variants() -> list[tuple[str, bytes, bool | None]]:
    """(name, payload, whether the columns must take it: True, leave it: False, either: None),
    each a change of one field of a plain event, pretty-printed as the benchmark's are."""
    at = T0 + timedelta(minutes=5)
    event = job_event("job-v", "run-v-a1", "FAILED", at, queue="dragen-spot",
                      tags={"project": "cardio", "run_id": "run-v"}, created_at=T0,
                      started_at=T0, stopped_at=at, reason="Essential container in task exited",
                      attempt_reason="Host EC2 (instance i-0282b396e52b4c95d) terminated.",
                      exit_code=143)
    text = json.dumps(event, indent=2)
    stamp = '"2026-03-02T09:05:00Z"'

    def at_time(value: str) -> str:
        return text.replace(stamp, f'"{value}"')

    def tags(value: str) -> str:
        start = text.index('"tags": {')
        return text[:start] + f'"tags": {value}' + text[text.index("}", start) + 1:]

    def requirements(pairs: list[tuple[str, str]]) -> str:
        changed = json.loads(text)
        changed["detail"]["container"].update(vcpus=4, memory=8000, resourceRequirements=[
            {"value": value, "type": kind} for kind, value in pairs])
        return json.dumps(changed, indent=2)

    def detail(extra: str) -> str:
        return text.replace('"jobName"', f'{extra}, "jobName"', 1)

    cases = [
        ("plain", text, True),
        ("compact", json.dumps(event, separators=(",", ":")), True),
        # times: what strptime would move on (an impossible day, second 60) the row reader
        # refuses; a real leap day and fractions it takes
        ("february-30", at_time("2026-02-30T09:05:00Z"), False),
        ("february-29-2025", at_time("2025-02-29T09:05:00Z"), False),
        ("april-31", at_time("2026-04-31T09:05:00Z"), False),
        ("second-60", at_time("2026-03-02T09:05:60Z"), False),
        ("second-61", at_time("2026-03-02T23:59:61Z"), False),
        ("hour-24", at_time("2026-03-02T24:00:00Z"), False),
        ("minute-60", at_time("2026-03-02T09:60:00Z"), False),
        ("february-29-2024", at_time("2024-02-29T09:05:00Z"), True),
        ("fraction-1", at_time("2026-03-02T09:05:00.5Z"), True),
        ("fraction-6", at_time("2026-03-02T09:05:00.123456Z"), True),
        ("fraction-7", at_time("2026-03-02T09:05:00.1234567Z"), None),
        # tags: any value not a string is the row reader's to refuse
        ("tag-number", tags('{"project": "cardio", "cost": 5}'), False),
        ("tag-true", tags('{"cost": true, "project": "cardio"}'), False),
        ("tag-null", tags('{"project": "cardio", "cost": null}'), False),
        ("tag-list", tags('{"project": "cardio", "cost": ["5"]}'), False),
        ("tag-object", tags('{"project": "cardio", "cost": {"a": "5"}}'), False),
        ("tags-list", tags('["cardio"]'), False),
        ("tags-twice", tags('{"project": "x"}, "tags": {"project": "cardio"}'), False),
        ("tags-null", tags("null"), True),
        ("tag-unknown-string", tags('{"project": "cardio", "owner": "a.lee"}'), True),
        ("tag-escapes", tags('{"project": "car\\"dio\\" \\"tags\\": 5", "run_id": "r\\\\un"}'),
         True),
        ("tag-value-tags", tags('{"project": "tags", "run_id": "run-v"}'), True),
        ("tags-elsewhere", text.replace('"version": "0"', '"version": "0", "tags": {"a": "b"}'),
         True),
        ("tags-elsewhere-odd", text.replace('"version": "0"', '"version": "0", "tags": [1]'),
         None),
        # queues, requirements: the row reader's rsplit and its last requirement of a kind
        ("queue-twice", text.replace("job-queue/dragen-spot", "job-queue/a/job-queue/b"), True),
        ("queue-name", text.replace("arn:aws:batch:us-east-1:123456789012:job-queue/", ""),
         True),
        ("queue-trailing", text.replace("job-queue/dragen-spot", "job-queue/"), True),
        ("requirements-twice", requirements([("VCPU", "16"), ("MEMORY", "234496"),
                                             ("VCPU", "2.5"), ("GPU", "7")]), True),
        ("requirements-none", requirements([]), True),
        ("requirements-memory", requirements([("MEMORY", "100"), ("MEMORY", "2000")]), True),
        ("pascal-job", detail('"JobQueue": "q"'), False),
        ("bom", "\ufeff" + text, True),
    ]
    return [(name, value.encode(), taken) for name, value, taken in cases]


def test_the_reader_takes_what_the_row_reader_takes_with_its_values():
    variants = _variants()
    batch = read_job_changes([(name, payload) for name, payload, _ in variants])
    taken = dict(zip([seq // SEQ_STRIDE for seq in batch.changes.column("seq").to_pylist()],
                     changes_from_table(batch.changes), strict=True))
    assert sorted([*taken, *batch.rest]) == list(range(len(variants)))
    for i, (name, payload, must) in enumerate(variants):
        row = _row_change(name, payload)
        if must is not None:
            assert (i in taken) is must, name
        if row is None:
            assert i in batch.rest, name
        if i in taken:
            assert taken[i] == _event_tags(row), name
    assert {name for i, (name, _, _) in enumerate(variants) if i in taken} >= {
        "fraction-6", "february-29-2024", "tag-escapes", "requirements-twice"}
    names = [name for name, _, _ in variants]
    sizes = [(taken[names.index(n)].vcpus, taken[names.index(n)].memory_mib)
             for n in ("requirements-twice", "requirements-none", "requirements-memory")]
    assert sizes == [(3, 234496), (4, 8000), (4, 2000)]
    queues = [taken[names.index(n)].job_queue for n in ("queue-twice", "queue-trailing")]
    assert queues == ["b", ""]  # as the row reader's rsplit


@pytest.mark.parametrize("piece_bytes", [1, 5_000, 50_000])
def test_the_batch_read_in_pieces_is_the_batch_read_whole(reference, piece_bytes):
    """Pieces of any size (one payload each, a few, many) give the same table and the same
    payloads left to the row reader, bad payloads among them wherever they fall."""
    payloads = [(name, payload) for name, payload, _ in _variants()] + _bad_payloads(reference)
    random.Random(5).shuffle(payloads)
    whole = read_job_changes(payloads, piece_bytes=1 << 30)
    pieces = read_job_changes(payloads, piece_bytes=piece_bytes)
    assert pieces.changes.equals(whole.changes) and pieces.rest == whole.rest
    assert whole.changes.num_rows > 15 and len(whole.rest) > 15
