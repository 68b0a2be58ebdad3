"""DescribeInstances for the instances whose launch the tracker sees: type, Spot or On-Demand,
zone and launch time, which EC2 state-change events do not carry.

``client`` is a boto3 EC2 client (or anything with its ``describe_instances``, such as the
simulated executor). One request per batch of ids (at most 1000 per call, EC2's limit for
``InstanceIds``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.ec2_events import described_rows
from lake.errors import TerminalError, TransientError

MAX_IDS = 1000
_THROTTLING = {"RequestLimitExceeded", "Throttling", "ThrottlingException"}


def describer(client: Any, region: str | None = None) -> Callable[[list[str]], list[dict]]:
    """A function from instance ids to their ``instances`` launch rows."""

    def describe(instance_ids: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for i in range(0, len(instance_ids), MAX_IDS):
            ids = instance_ids[i:i + MAX_IDS]
            rows += described_rows(_call(client, ids), region)
        return rows

    return describe


def _call(client: Any, ids: list[str]) -> dict[str, Any]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # no AWS SDK: a client that is not boto3's (the simulator)
        return client.describe_instances(InstanceIds=ids)
    try:
        return client.describe_instances(InstanceIds=ids)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        what = f"DescribeInstances {', '.join(ids)} ({code}): {e}"
        if code in _THROTTLING or e.response.get("ResponseMetadata", {}).get(
                "HTTPStatusCode", 0) >= 500:
            raise TransientError(what) from e
        raise TerminalError(what) from e
    except BotoCoreError as e:
        raise TransientError(f"DescribeInstances {', '.join(ids)}: could not reach EC2: {e}") \
            from e
