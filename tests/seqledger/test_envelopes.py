"""The demo's events, in every envelope, read back as the same object (and match AWS's shapes)."""

import json
from datetime import UTC, datetime

import pytest

from ingest.s3_events import read_s3_events
from seqledger.envelopes import ENVELOPES, object_created

AT = datetime(2026, 10, 3, 12, 30, 1, 250000, tzinfo=UTC)


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_every_envelope_reads_back_as_the_same_object(envelope):
    key = "cardio wgs/S 1/S 1_R1+x.fastq.gz"  # spaces and a plus: S3 URL-encodes keys
    payload = json.loads(json.dumps(object_created(envelope, "in", key, 123, "abc", AT, "0A")))
    (obj,) = read_s3_events(payload, envelope).created
    assert (obj.bucket, obj.key, obj.size_bytes, obj.etag) == ("in", key, 123, "abc")
    assert obj.envelope == envelope
    assert obj.event_at == AT.replace(microsecond=0 if envelope == "eventbridge" else 250000)


def test_sns_spells_its_url_keys_differently_to_lambda_and_inside_sqs(reference):
    sns = object_created("sns", "in", "k", 1, "e", AT, "0A")["Records"][0]["Sns"]
    body = json.loads(object_created("sqs-sns", "in", "k", 1, "e", AT, "0A")["Records"][0]["body"])
    real = json.loads(
        (
            reference
            / "aws-events"
            / "sqs-wrapped-sns-wrapped-s3-ObjectCreated-Put_lambda-capture_powertools.json"
        ).read_text()
    )
    real_body = json.loads(real["Records"][0]["body"])
    assert "SigningCertUrl" in sns and "SigningCertURL" in body
    assert set(body) == set(real_body)
