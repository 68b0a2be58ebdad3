"""Build S3 object-created events in the four envelopes AWS delivers them in.

The demo plays arrivals through these so they travel the same path as production events:
S3 notification, S3 → SNS → Lambda, S3 → SNS → SQS → Lambda, and S3 → EventBridge. The shapes
follow AWS's documented payloads (see reference-data/aws-events).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

ENVELOPES = ("s3", "sns", "sqs-sns", "eventbridge")
ACCOUNT = "123456789012"
REGION = "us-east-1"


def _iso(ts: datetime, millis: bool = True) -> str:
    ts = ts.astimezone(UTC)
    return (
        ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
        if millis
        else ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def _id(*parts: object) -> str:
    h = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def s3_record(bucket: str, key: str, size: int, etag: str, at: datetime, sequencer: str) -> dict:
    """One ``Records[]`` entry of an S3 event notification (key URL-encoded, as S3 sends it)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": _iso(at),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {"x-amz-request-id": sequencer[:16], "x-amz-id-2": etag},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "seqledger-input",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "EXAMPLE"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": etag,
                "sequencer": sequencer,
            },
        },
    }


def s3_notification(
    bucket: str, key: str, size: int, etag: str, at: datetime, sequencer: str
) -> dict:
    return {"Records": [s3_record(bucket, key, size, etag, at, sequencer)]}


def _sns_notification(payload: dict, at: datetime, url: str) -> dict:
    """The SNS notification document; SNS spells the URL keys ``Url`` to Lambda, ``URL`` in SQS."""
    return {
        "Type": "Notification",
        "MessageId": _id("sns", json.dumps(payload)),
        "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:seqledger-input",
        "Subject": "Amazon S3 Notification",
        "Message": json.dumps(payload),
        "Timestamp": _iso(at),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        f"SigningCert{url}": "https://sns.example/cert.pem",
        f"Unsubscribe{url}": "https://sns.example/unsubscribe",
    }


def sns_message(payload: dict, at: datetime) -> dict:
    """SNS → Lambda: the S3 event is a JSON string in ``Sns.Message``."""
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:seqledger-input"
    sns = {**_sns_notification(payload, at, "Url"), "MessageAttributes": {}}
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{_id('sub', topic)}",
                "Sns": sns,
            }
        ]
    }


def sqs_sns_message(payload: dict, at: datetime) -> dict:
    """S3 → SNS → SQS → Lambda: an SQS body holding the SNS JSON holding the S3 event."""
    body = json.dumps(_sns_notification(payload, at, "URL"), separators=(", ", " : "))
    return {
        "Records": [
            {
                "messageId": _id("sqs", body),
                "receiptHandle": "EXAMPLE",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(at.timestamp() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:seqledger-input",
                "awsRegion": REGION,
            }
        ]
    }


def eventbridge_object_created(
    bucket: str, key: str, size: int, etag: str, at: datetime, sequencer: str
) -> dict:
    """S3 → EventBridge "Object Created" (URL-encoded key, lower-case etag field)."""
    return {
        "version": "0",
        "id": _id("eb", bucket, key, etag),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": _iso(at, millis=False),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "etag": etag,
                "sequencer": sequencer,
            },
            "request-id": sequencer[:16],
            "requester": ACCOUNT,
            "source-ip-address": "10.0.0.1",
            "reason": "PutObject",
        },
    }


def object_created(
    envelope: str, bucket: str, key: str, size: int, etag: str, at: datetime, sequencer: str
) -> dict:
    """An object-created event for ``key`` in the named envelope."""
    if envelope == "eventbridge":
        return eventbridge_object_created(bucket, key, size, etag, at, sequencer)
    payload = s3_notification(bucket, key, size, etag, at, sequencer)
    if envelope == "s3":
        return payload
    if envelope == "sns":
        return sns_message(payload, at)
    if envelope == "sqs-sns":
        return sqs_sns_message(payload, at)
    raise ValueError(f"unknown envelope {envelope!r}; expected one of {ENVELOPES}")
