"""Routing a batch's payloads to worker processes (``ingest.parallel``) and folding what the
workers did (``EventSummary.merge``)."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

from ingest.parallel import route, run_key
from ingest.summary import EventSummary
from seqledger.envelopes import object_created, sns_message
from tests.ingest.batch_payloads import job_event

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TAGS = {"run_id": "r-tagged", "project": "cardio"}


def _job(name: str, tags: dict[str, str] | None = None, job_id: str = "j-1") -> dict:
    return job_event(job_id, name, "RUNNING", AT, queue="spot", tags=tags or {},
                     created_at=AT)


def _bytes(doc: dict, indent: int | None = None) -> bytes:
    return json.dumps(doc, indent=indent).encode()


def test_the_run_comes_from_the_tag_then_the_name_then_the_job_id():
    assert run_key(_bytes(_job("r-named-a2", TAGS), indent=2)) == b"r-tagged"
    assert run_key(_bytes(_job("r-named-a2"))) == b"r-named"
    assert run_key(_bytes(_job("someone-elses-job", job_id="j-9"))) == b"j-9"
    # inside an SNS message (a JSON string: escaped quotes)
    assert run_key(_bytes(sns_message(_job("r-named-a1"), AT))) == b"r-named"
    assert run_key(b'{"source": "aws.s3"}') is None


def test_each_run_has_one_worker_and_its_payloads_keep_their_order():
    jobs = [(f"e{n}", _bytes(_job(f"run{n % 5}-a1", job_id=f"j{n}"))) for n in range(40)]
    routed = route(jobs, 2)
    assert sorted(sum(routed.jobs, [])) == sorted(jobs)
    for worker, part in enumerate(routed.jobs):
        runs = {run_key(p) for _, p in part}
        assert all(zlib.crc32(r) % 2 == worker for r in runs)
        assert [name for name, _ in part] == [n for n, p in jobs if run_key(p) in runs]
    assert all(routed.jobs)  # five runs: both workers have some


def test_arrivals_and_other_files_come_first_instance_events_last():
    arrival = ("a", _bytes(object_created("sns", "in", "cardio/S1/S1_R1.fastq.gz", 10, "e", AT,
                                          "01")))
    instance = ("i", _bytes({"detail-type": "EC2 Instance State-change Notification",
                             "source": "aws.ec2", "detail": {"instance-id": "i-1"}}))
    junk = ("j", b"not json")
    job = ("b", _bytes(_job("r-a1")))
    # an object whose name holds "jobId" is still an arrival (keys are URL-encoded: no quote)
    named = ("n", _bytes(object_created("eventbridge", "in", "cardio/S2/jobId_S2_R1.fastq.gz", 10,
                                        "e", AT, "02")))
    routed = route([instance, job, arrival, junk, named], 3)
    assert routed.first == [arrival, junk, named]
    assert routed.last == [instance]
    assert sum(routed.jobs, []) == [job]


def test_merged_summaries_report_what_one_summary_of_every_outcome_reports():
    first, second = EventSummary(), EventSummary()
    first.payloads, first.objects_new = 3, {"o1", "o2"}
    first.waiting = {"cardio/S1 (fastq)": ("R2",)}
    first.problems = ["z.json: not JSON"]
    second.payloads, second.objects_new, second.objects_known = 2, {"o3"}, {"o1"}
    second.dispatched = {"run-1": "cardio/S1"}
    second.problems = ["a.json: not JSON"]
    second.retried.update(["spot"])
    total = EventSummary()
    total.merge(first)
    total.merge(second)
    assert (total.payloads, total.objects_new, total.objects_known) == (5, {"o1", "o2", "o3"},
                                                                       set())
    assert total.waiting == {}  # dispatched by the later part
    assert total.retried["spot"] == 1 and total.exit_code == 1
    lines = total.lines()
    at = lines.index("inputs quarantined or refused: 2")
    assert lines[at + 1:at + 3] == ["  a.json: not JSON", "  z.json: not JSON"]  # sorted
