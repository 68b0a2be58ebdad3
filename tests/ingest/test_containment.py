"""One malformed event record is quarantined with its reason; the rest of its batch is loaded
(issue 17, findings 1 and 6). Real AWS payloads, damaged the way the fuzzer found them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.assembly import build_event_service
from lake.settings import Settings
from lake.store import LakeStore
from tests.ingest.written_events import batch_now

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S3_EVENT = "s3-event-notification_ObjectCreated-Put_aws-docs.json"


def _two_records(reference: Path) -> dict:
    """A plain S3 notification with two object records (the second a copy, another key)."""
    doc = json.loads((reference / "aws-events" / S3_EVENT).read_text())
    good = doc["Records"][0]
    other = json.loads(json.dumps(good))
    other["s3"]["object"]["key"] = "cardio/S9/S9_R1.fastq.gz"
    doc["Records"] = [good, other]
    return doc


def _process(settings: Settings, payloads: list[tuple[str, bytes]]):
    service = build_event_service(settings, now=NOW)
    out = service.process(payloads, now=NOW)
    store = LakeStore(settings)
    return out, store.read("arrivals").to_pylist(), store.read("quarantine").to_pylist()


@pytest.mark.parametrize("where", [("s3", "object", "key"), ("s3", "object", "eTag"),
                                   ("s3", "bucket", "name"), ("s3", "object", "sequencer")])
def test_a_lone_surrogate_quarantines_its_record_only(reference, lake_settings, where):
    doc = _two_records(reference)
    node = doc["Records"][0]
    for name in where[:-1]:
        node = node[name]
    node[where[-1]] = "in/\ud800"
    payload = json.dumps(doc).encode()  # the escape "\ud800", as a JSON producer may send it
    assert b"\\ud800" in payload
    out, arrivals, quarantine = _process(lake_settings, [("batch.json", payload)])
    assert [a["object_uri"] for a in arrivals] == ["s3://mybucket/cardio/S9/S9_R1.fastq.gz"]
    (q,) = quarantine
    assert q["source"] == "batch.json#Records[0]"
    assert "not valid Unicode" in q["reason"] and where[-1] in q["reason"]


@pytest.mark.parametrize("value", [10**30, 10**400, -(2**63)])
def test_a_huge_integer_in_a_batch_event_is_quarantined(reference, lake_settings, value):
    good = json.dumps(batch_now()).encode()  # the current EventBridge shape, written here
    doc = json.loads(good)
    doc["detail"]["container"]["resourceRequirements"] = [{"type": "VCPU", "value": value}]
    bad = json.dumps(doc).encode()
    out, _, quarantine = _process(lake_settings, [("good.json", good), ("bad.json", bad)])
    assert out.job_changes == 1  # the good event is tracked
    (q,) = [q for q in quarantine if q["stage"] == "ingest.event"]
    assert q["source"].startswith("bad.json (job ") and "VCPU" in q["reason"]


def test_a_number_of_300000_digits_is_quarantined(reference, lake_settings):
    good = json.dumps(batch_now()).encode()  # the current EventBridge shape, written here
    bad = good.replace(b'"attempts"', b'"big": ' + b"9" * 300_000 + b', "attempts"', 1)
    out, _, quarantine = _process(lake_settings, [("good.json", good), ("bad.json", bad)])
    assert out.job_changes == 1
    (q,) = [q for q in quarantine if q["stage"] == "ingest.event"]
    assert q["source"] == "bad.json" and "not valid JSON" in q["reason"]


def test_a_key_longer_than_s3_allows_is_quarantined_before_decoding(reference, lake_settings):
    doc = _two_records(reference)
    doc["Records"][0]["s3"]["object"]["key"] = "a" * 50_000_000  # 50 MB: refused by length
    out, arrivals, quarantine = _process(lake_settings, [("long.json", json.dumps(doc))])
    assert len(arrivals) == 1
    (q,) = quarantine
    assert "S3 keys are at most 1024 bytes" in q["reason"]
    assert len(q["payload"]) <= 4096 + 40  # the stored payload is bounded too


@pytest.mark.parametrize("key", ["cardio/../S1_R1.fastq.gz", "cardio/S1/../S2/S2_R1.fastq.gz",
                                 "../S1/S1_R1.fastq.gz", "cardio/./S1/S1_R1.fastq.gz"])
def test_a_dot_dot_folder_never_becomes_a_sample(reference, lake_settings, key):
    doc = _two_records(reference)
    doc["Records"][0]["s3"]["object"]["key"] = key
    _, arrivals, quarantine = _process(lake_settings, [("dots.json", json.dumps(doc))])
    assert {a["sample_id"] for a in arrivals} == {"S9"}
    assert all(".." not in (a["sample_id"] or "") for a in arrivals)
    (q,) = quarantine
    assert "'..' folder" in q["reason"]


def test_a_quarantined_file_name_that_is_not_utf8_is_stored(lake_settings):
    # A file name read from a Linux folder may hold surrogate escapes (os.fsdecode of 0xFF).
    out, _, quarantine = _process(lake_settings, [("events/\udcff.json", b"not json")])
    (q,) = quarantine
    assert q["source"] == "events/\\udcff.json"
