"""S3 object-created events in all four envelopes, against the real captured payloads."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.s3_events import (
    detect_kind,
    object_created_events,
    other_events,
    parse_event_text,
    read_s3_events,
)
from lake.errors import InvalidEvent
from tests.ingest import written_events

EVENTS = "aws-events"
PLAIN = "s3-event-notification_ObjectCreated-Put_aws-docs.json"
SNS = "sns-wrapped-s3-ObjectCreated-Put_lambda-capture_powertools.json"
SQS = "sqs-wrapped-sns-wrapped-s3-ObjectCreated-Put_lambda-capture_powertools.json"
EB = "eventbridge-s3-object-created_aws-docs.json"


def load(reference: Path, name: str) -> dict:
    path = reference / EVENTS / name
    return parse_event_text(path.read_bytes(), name)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Values read by hand from each file.
CREATED = [
    (PLAIN, "s3", "mybucket", "HappyFace.jpg", 1024, "d41d8cd98f00b204e9800998ecf8427e",
     ts("1970-01-01T00:00:00"), "0055AED6DCD90281E5"),
    ("s3-event-notification_ObjectCreated-Put_powertools.json", "s3",
     "lambda-artifacts-deafc19498e3f2df", "b21b84d653bb07b05b1e6b33684dc11b", 1305107,
     "b21b84d653bb07b05b1e6b33684dc11b", ts("2019-09-03T19:37:27.192"), "0C0F6F405D6ED209E1"),
    (SNS, "sns", "s3-sns-unwrap-bucket-683517028648", "samconfig.toml", 221,
     "551277913a5ad93e0db069e673f23376", ts("2024-03-14T21:52:13.311"), "0065F3718D39E6D6DC"),
    (SQS, "sqs-sns", "unwraptestevents-bucket-683517028648", "firehose-s3-template.json", 4314,
     "e77dffcd1756d6e8e5123ef1e0ce7c54", ts("2024-03-19T22:01:47.135"), "0065FA0B4B104A6DAB"),
    (EB, "eventbridge", "DOC-EXAMPLE-BUCKET1", "example-key", 5,
     "b1946ac92492d2347c6235b4d2611184", ts("2021-11-12T00:00:00"), "617f08299329d189"),
    ("eventbridge-s3-object-created_powertools.json", "eventbridge", "example-bucket",
     "IMG_m7fzo3.jpg", 184662, "4e68adba0abe2dc8653dc3354e14c01d", ts("2023-03-08T17:50:14"),
     "006408CAD69598B05E"),
    ("eventbridge-s3-object-created_lambda-capture_powertools.json", "eventbridge",
     "s3-eb-unwrap-sourcebucket-7mop1gqlyrzu", "s3-eb-template.yaml", 1565,
     "e56e21b1610dd94e9907f82b8d05b934", ts("2024-03-20T23:56:16"), "0065FB77A03AD4478F"),
]


@pytest.mark.parametrize(("name", "envelope", "bucket", "key", "size", "etag", "at", "sequencer"),
                         CREATED, ids=[c[0] for c in CREATED])
def test_every_reference_envelope_gives_the_object(reference, name, envelope, bucket, key, size,
                                                   etag, at, sequencer):
    [obj] = object_created_events(load(reference, name), name)
    assert (obj.bucket, obj.key, obj.size_bytes, obj.etag) == (bucket, key, size, etag)
    assert obj.event_at == at and obj.event_at.tzinfo is not None
    assert (obj.envelope, obj.sequencer) == (envelope, sequencer)
    assert obj.uri == f"s3://{bucket}/{key}"
    assert detect_kind(load(reference, name)) == "s3"


def test_eventbridge_event_id_is_the_envelope_id(reference):
    [obj] = object_created_events(load(reference, EB), EB)
    assert obj.event_id == "17793124-05d4-b198-2fde-7ededc63b103"


def test_s3_record_id_is_stable_and_the_same_through_every_envelope(reference):
    plain = load(reference, PLAIN)
    [direct] = object_created_events(plain, PLAIN)
    sns = load(reference, SNS)
    sns["Records"][0]["Sns"]["Message"] = json.dumps(plain)
    sqs = load(reference, SQS)
    body = json.loads(sqs["Records"][0]["body"])
    body["Message"] = json.dumps(plain)
    sqs["Records"][0]["body"] = json.dumps(body, separators=(", ", " : "))
    [via_sns] = object_created_events(sns, SNS)
    [via_sqs] = object_created_events(sqs, SQS)
    assert direct.event_id and direct.event_id.startswith("s3-")
    assert direct.event_id == via_sns.event_id == via_sqs.event_id
    assert (via_sns.envelope, via_sqs.envelope) == ("sns", "sqs-sns")
    # a different object version is a different event
    plain["Records"][0]["s3"]["object"]["sequencer"] = "0055AED6DCD90281E6"
    [other] = object_created_events(plain, PLAIN)
    assert other.event_id != direct.event_id


def test_sqs_body_may_use_either_signing_cert_spelling(reference):
    sqs = load(reference, SQS)
    body = json.loads(sqs["Records"][0]["body"])
    assert "SigningCertURL" in body
    body["SigningCertUrl"] = body.pop("SigningCertURL")
    sqs["Records"][0]["body"] = json.dumps(body)
    [obj] = object_created_events(sqs, SQS)
    assert obj.key == "firehose-s3-template.json"


@pytest.mark.parametrize(("encoded", "decoded"), [
    ("red+flower.jpg", "red flower.jpg"),
    ("P-1/NA12878/NA12878_S1_L001_R1_001.fastq.gz", "P-1/NA12878/NA12878_S1_L001_R1_001.fastq.gz"),
    ("runs/2024%3A01/sample+A/a%2Bb_R1.fq.gz", "runs/2024:01/sample A/a+b_R1.fq.gz"),
    ("caf%C3%A9.bam", "café.bam"),
])
def test_keys_are_url_decoded_in_every_envelope(reference, encoded, decoded):
    plain = load(reference, PLAIN)
    plain["Records"][0]["s3"]["object"]["key"] = encoded
    assert object_created_events(plain, PLAIN)[0].key == decoded
    sns = load(reference, SNS)
    sns["Records"][0]["Sns"]["Message"] = json.dumps(plain)
    assert object_created_events(sns, SNS)[0].key == decoded
    eb = load(reference, EB)
    eb["detail"]["object"]["key"] = encoded
    assert object_created_events(eb, EB)[0].key == decoded


def test_bom_is_tolerated_in_bytes_and_text(reference):
    path = reference / EVENTS / "batch-job-state-change_RUNNABLE_aws-lambda-dotnet.json"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    from_bytes = parse_event_text(raw, path.name)
    from_text = parse_event_text(raw.decode("utf-8"), path.name)
    assert from_bytes == from_text
    assert from_bytes["detail"]["jobName"] == "event-test"


def test_test_event_is_no_object_and_no_error(reference):
    name = "s3-test-event_aws-docs.json"
    payload = load(reference, name)
    assert object_created_events(payload, name) == []
    [skipped] = other_events(payload, name)
    assert skipped.event_name == "s3:TestEvent" and skipped.where == name
    assert detect_kind(payload) == "s3"


def test_object_removed_is_skipped_and_reported(reference):
    payload = load(reference, PLAIN)
    payload["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert object_created_events(payload, PLAIN) == []
    [skipped] = other_events(payload, PLAIN)
    assert skipped.event_name == "ObjectRemoved:Delete"
    assert skipped.where == f"{PLAIN}#Records[0]"
    assert "not an object-created" in skipped.reason


def test_eventbridge_object_deleted_is_skipped(reference):
    payload = load(reference, EB)
    payload["detail-type"] = "Object Deleted"
    assert object_created_events(payload, EB) == []
    assert [s.event_name for s in other_events(payload, EB)] == ["Object Deleted"]


def test_one_bad_record_does_not_stop_the_others(reference):
    payload = load(reference, PLAIN)
    good = payload["Records"][0]
    bad = copy.deepcopy(good)
    del bad["s3"]["bucket"]["name"]
    second = copy.deepcopy(good)
    second["s3"]["object"]["key"] = "other.bam"
    payload["Records"] = [good, bad, second]
    events = read_s3_events(payload, PLAIN)
    assert [o.key for o in events.created] == ["HappyFace.jpg", "other.bam"]
    [error] = events.invalid
    assert error.source == f"{PLAIN}#Records[1]"
    assert "name" in error.reason
    with pytest.raises(InvalidEvent, match=r"Records\[1\]"):
        object_created_events(payload, PLAIN)


def test_plain_sns_text_message_is_not_an_s3_event(reference):
    name = "sns-event_plain-message_powertools.json"
    payload = load(reference, name)
    assert detect_kind(payload) == "unknown"
    with pytest.raises(InvalidEvent) as info:
        object_created_events(payload, name)
    assert name in str(info.value)
    assert "Hello from SNS!" in info.value.reason


@pytest.mark.parametrize("name", [
    "batch-job-state-change_RUNNABLE_aws-docs.json",
    written_events.BATCH_2017,  # written here in the shape of files we may not ship
    "describe-jobs_SUCCEEDED_botocore-example.json",
    written_events.SF_FAILED,
    written_events.SF_OK,
])
def test_batch_payloads_are_told_apart(reference, name):
    written = written_events.WRITTEN.get(name)
    payload = written() if written else load(reference, name)
    assert detect_kind(payload) == "batch"
    with pytest.raises(InvalidEvent, match="a Batch job-state event, not an S3") as info:
        read_s3_events(payload, name)
    assert info.value.source == name


def test_batch_event_inside_sqs_is_detected(reference):
    # a Batch event reaching Lambda through SQS (umccr's data portal does): body = json.dumps
    sqs = load(reference, SQS)
    sqs["Records"][0]["body"] = json.dumps(written_events.batch_now())
    assert detect_kind(sqs) == "batch"
    mixed = load(reference, SQS)
    mixed["Records"].append(sqs["Records"][0])
    assert detect_kind(mixed) == "unknown"


def test_eventbridge_s3_event_straight_to_sqs(reference):
    sqs = load(reference, SQS)
    sqs["Records"][0]["body"] = json.dumps(load(reference, EB))
    assert detect_kind(sqs) == "s3"
    [obj] = object_created_events(sqs, SQS)
    assert (obj.key, obj.envelope, obj.event_id) == \
        ("example-key", "eventbridge", "17793124-05d4-b198-2fde-7ededc63b103")


# --- malformed input -----------------------------------------------------------------------

def test_truncated_json_names_the_source(reference):
    text = (reference / EVENTS / SNS).read_text()
    with pytest.raises(InvalidEvent, match=rf"^{SNS}: event is not valid JSON"):
        parse_event_text(text[: len(text) // 2], SNS)


@pytest.mark.parametrize(("text", "reason"), [
    ("[1, 2]", "must be a JSON object, got a list"),
    ('"Records"', "must be a JSON object, got a string"),
    ("", "not valid JSON"),
    ("[" * 100_000, "not valid JSON|nested too deeply"),
])
def test_text_that_is_no_json_object(text, reason):
    with pytest.raises(InvalidEvent, match=reason) as info:
        parse_event_text(text, "upload-7.json")
    assert info.value.source == "upload-7.json"


def test_bytes_that_are_not_utf8():
    with pytest.raises(InvalidEvent, match="upload.json: not UTF-8"):
        parse_event_text(b'{"Records": "\xff"}', "upload.json")


def mutate(payload: dict, path: tuple, value) -> dict:
    doc = copy.deepcopy(payload)
    node = doc
    for step in path[:-1]:
        node = node[step]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(("path", "value", "reason"), [
    (("Records",), {"s3": {}}, "Records must be a list, got an object"),
    (("Records",), [], "Records is empty"),
    (("Records", 0), "ObjectCreated:Put", "record must be an object, got a string"),
    (("Records", 0, "eventName"), KeyError, "eventName must be a non-empty string, got missing"),
    (("Records", 0, "s3", "object", "key"), "", "key must be a non-empty string, got empty"),
    (("Records", 0, "s3", "object", "key"), 42, "key must be a non-empty string, got a number"),
    (("Records", 0, "s3", "object", "size"), "1024", "size must be a whole number, got a string"),
    (("Records", 0, "s3", "object", "size"), -1, "size is out of range: -1"),
    (("Records", 0, "s3", "object", "size"), 2**64, "size is out of range"),
    (("Records", 0, "eventTime"), "0001-01-01T00:00:00+01:00", "eventTime is out of range"),
    (("Records", 0, "s3", "object", "eTag"), ["x"], "eTag must be a string, got a list"),
    (("Records", 0, "s3", "bucket"), None, "bucket must be an object, got null"),
    (("Records", 0, "eventTime"), "yesterday", "eventTime is not an ISO-8601 time"),
    (("Records", 0, "eventTime"), "2024-03-14T21:52:13", "eventTime has no time zone"),
    (("Records", 0, "eventTime"), 1710452533, "eventTime must be an ISO-8601 string"),
])
def test_malformed_plain_record(reference, path, value, reason):
    payload = mutate(load(reference, PLAIN), path, value)
    with pytest.raises(InvalidEvent, match=reason) as info:
        object_created_events(payload, PLAIN)
    assert PLAIN in str(info.value)


@pytest.mark.parametrize(("path", "value", "reason"), [
    (("detail", "object"), KeyError, "object must be an object, got missing"),
    (("detail", "bucket", "name"), None, "name must be a non-empty string"),
    (("time",), "2021-13-12T00:00:00Z", "time is not an ISO-8601 time"),
    (("source",), "aws.ec2", "from 'aws.ec2' is not an S3 event"),
])
def test_malformed_eventbridge(reference, path, value, reason):
    payload = mutate(load(reference, EB), path, value)
    with pytest.raises(InvalidEvent, match=reason) as info:
        object_created_events(payload, EB)
    assert info.value.source == EB


def test_sns_message_that_is_not_a_string(reference):
    payload = mutate(load(reference, SNS), ("Records", 0, "Sns", "Message"), {"Records": []})
    with pytest.raises(InvalidEvent, match=r"#Records\[0\]: Sns.Message must be a JSON string"):
        object_created_events(payload, SNS)


@pytest.mark.parametrize("payload", [[], "x", None, 3, {"hello": "world"}])
def test_payload_of_unknown_kind(payload):
    with pytest.raises(InvalidEvent) as info:
        object_created_events(payload, "queue-msg-9")
    assert info.value.source == "queue-msg-9"
    assert detect_kind(payload) == "unknown"


# --- property: arbitrary JSON-like input never escapes as anything but InvalidEvent ----------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=20,
)


def paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, (*prefix, i))


def replaced(doc, path, value):
    return value if not path else mutate(doc, path, value)


def check_s3(payload) -> None:
    try:
        read_s3_events(payload, "fuzz")
        object_created_events(payload, "fuzz")
    except InvalidEvent as exc:
        assert exc.source.startswith("fuzz")
    assert detect_kind(payload) in ("s3", "batch", "unknown")


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_raises_only_invalid_event(payload):
    check_s3(payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([c[0] for c in CREATED]), st.data(), JSON)
def test_real_payloads_with_any_field_replaced_raise_only_invalid_event(reference_files, name,
                                                                        data, value):
    payload = reference_files[name]
    path = data.draw(st.sampled_from(list(paths(payload))))
    check_s3(replaced(payload, path, value))


@pytest.fixture(scope="module")
def reference_files(reference) -> dict:
    return {c[0]: load(reference, c[0]) for c in CREATED}
