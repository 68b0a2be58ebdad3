"""ECS DescribeContainerInstances: the EC2 instance behind a Batch job's container instance.

Batch job-state events name where a job runs only as ``containerInstanceArn``, an ECS id; the
EC2 id, which the ``instances`` table and the whole-instance rule key on, is the container
instance's ``ec2InstanceId``. The call needs the cluster: the ARN format ECS uses by default
since 2021, ``arn:aws:ecs:<region>:<account>:container-instance/<cluster>/<id>``, names it; the
old one, ``container-instance/<id>``, does not, and such an ARN is skipped (``skipped``: the
attempt keeps its container-window estimate) unless a ``default_cluster`` is given.

``client`` is a boto3 ECS client. Lookups are grouped by cluster, at most 100 ARNs per call
(ECS's limit for ``containerInstances``), and cached for the life of the process: a container
instance is on one EC2 instance for its whole life.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lake.errors import TerminalError, TransientError

MAX_ARNS = 100
_MARK = ":container-instance/"
_THROTTLING = {"Throttling", "ThrottlingException", "RequestLimitExceeded",
               "TooManyRequestsException", "ServerException"}


def cluster_of(arn: str) -> str | None:
    """The cluster a container instance ARN names (None: the old format names none)."""
    _, _, path = arn.partition(_MARK)
    cluster, sep, _ = path.rpartition("/")
    return cluster if sep and cluster else None


@dataclass
class ContainerInstances:
    """Container instance ARN -> EC2 instance id, looked up once per process."""

    client: Any
    default_cluster: str | None = None  # for old-format ARNs: the compute environment's cluster
    _ids: dict[str, str] = field(default_factory=dict, repr=False)
    skipped: set[str] = field(default_factory=set)  # ARNs that name no cluster

    def __call__(self, arns: list[str]) -> dict[str, str]:
        """The EC2 instance id of each of ``arns`` that ECS knows.

        Raises:
            TransientError: throttled, an ECS server error, or ECS out of reach.
            TerminalError: refused (e.g. no ``ecs:DescribeContainerInstances`` permission).
        """
        by_cluster: dict[str, list[str]] = {}
        for arn in dict.fromkeys(arns):
            if arn in self._ids or _MARK not in arn:
                continue  # known, or not an ECS container instance (a local executor's host)
            cluster = cluster_of(arn) or self.default_cluster
            if cluster is None:
                self.skipped.add(arn)
                continue
            by_cluster.setdefault(cluster, []).append(arn)
        for cluster, wanted in sorted(by_cluster.items()):
            for i in range(0, len(wanted), MAX_ARNS):
                reply = _call(self.client, cluster, wanted[i:i + MAX_ARNS])
                for ci in reply.get("containerInstances", []):
                    if ci.get("containerInstanceArn") and ci.get("ec2InstanceId"):
                        self._ids[ci["containerInstanceArn"]] = ci["ec2InstanceId"]
        return {a: self._ids[a] for a in arns if a in self._ids}


def _call(client: Any, cluster: str, arns: list[str]) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    what = f"ECS DescribeContainerInstances in cluster {cluster} ({len(arns)} ARNs)"
    try:
        return client.describe_container_instances(cluster=cluster, containerInstances=arns)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in _THROTTLING or e.response.get("ResponseMetadata", {}).get(
                "HTTPStatusCode", 0) >= 500:
            raise TransientError(f"{what}: {code}: {e}") from e
        fix = ("; the recorder's role needs ecs:DescribeContainerInstances"
               if code == "AccessDeniedException" else "")
        raise TerminalError(f"{what}: {code}: {e}{fix}") from e
    except BotoCoreError as e:
        raise TransientError(f"{what}: could not reach ECS: {e}") from e
