"""Tagging a finished run's objects for the archival lifecycle (the buckets' rules act on the tags).

On S3, each object gets ``seqledger:archive`` and ``seqledger:data-class`` by the project's
retention policy (``pipeline_runner.retention``) through PutObjectTagging. That call replaces an
object's whole tag set, so the tags already there are read first and kept: only our two keys
change. On a local folder there are no object tags; the same tags are written to
``.seqledger-tags.json`` in each folder of the run's outputs (a file seqledger owns), which the
local inventory reads. Local inputs are the user's files and are not written beside.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lake.errors import TransientError
from lake.settings import S3Options
from pipeline_runner.retention import RetentionPolicy

LOCAL_TAGS_FILE = ".seqledger-tags.json"
_GONE = ("NoSuchKey", "NoSuchBucket", "404")


@dataclass
class Tagged:
    """What tagging one run did: objects tagged, by ``seqledger:archive`` value."""

    objects: int = 0
    missing: int = 0  # objects listed for the run that no longer exist
    by_tier: dict[str, int] = field(default_factory=dict)

    def add(self, tags: Mapping[str, str]) -> None:
        self.objects += 1
        tier = tags["seqledger:archive"]
        self.by_tier[tier] = self.by_tier.get(tier, 0) + 1


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def merged_tag_set(existing: Iterable[Mapping[str, str]], ours: Mapping[str, str]) -> list[dict]:
    """An S3 TagSet keeping every tag that is not ours and setting ours."""
    kept = [{"Key": t["Key"], "Value": t["Value"]} for t in existing if t["Key"] not in ours]
    return kept + [{"Key": k, "Value": v} for k, v in sorted(ours.items())]


class S3Tagger:
    """Tags objects in S3 buckets (the same credentials and endpoint as the lake)."""

    def __init__(self, options: S3Options, client: Any = None) -> None:
        self.options = options
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            o = self.options
            self._client = boto3.client(
                "s3", region_name=o.region, endpoint_url=o.endpoint_url,
                aws_access_key_id=o.access_key, aws_secret_access_key=o.secret_key,
                aws_session_token=o.session_token)
        return self._client

    def keys(self, prefix_uri: str) -> list[str]:
        """Every object key under an ``s3://bucket/prefix/``."""
        bucket, prefix = split_s3(prefix_uri)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def tag(self, uri: str, tags: Mapping[str, str]) -> None:
        bucket, key = split_s3(uri)
        existing = self.client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        self.client.put_object_tagging(
            Bucket=bucket, Key=key, Tagging={"TagSet": merged_tag_set(existing, tags)})


def run_folder(output_uri: str) -> str:
    """The run's folder (every attempt's outputs) from one attempt's ``…/<run>/attempt-<n>/``."""
    trimmed = output_uri.rstrip("/")
    head, _, last = trimmed.rpartition("/")
    return f"{head}/" if last.startswith("attempt-") else f"{trimmed}/"


def tag_s3_run(tagger: S3Tagger, output_uri: str, input_uris: Sequence[str],
               policy: RetentionPolicy) -> Tagged:
    """Tag a run's outputs (every attempt) and its inputs on S3."""
    from botocore.exceptions import BotoCoreError, ClientError

    done = Tagged()
    try:
        folder = run_folder(output_uri)
        bucket, _ = split_s3(folder)
        uris = [f"s3://{bucket}/{k}" for k in tagger.keys(folder)]
        uris += [u for u in input_uris if u.startswith("s3://")]
        for uri in uris:
            tags = policy.tags_for(uri)
            try:
                tagger.tag(uri, tags)
            except ClientError as e:
                # Gone since (an input deleted after the run): nothing left to archive.
                if e.response.get("Error", {}).get("Code") not in _GONE:
                    raise
                done.missing += 1
                continue
            done.add(tags)
    except (BotoCoreError, ClientError) as e:
        # Tagging is idempotent: redelivery tags again, so a failure goes back to the queue.
        raise TransientError(f"tagging {output_uri}: {e}") from e
    return done


def tag_local_run(output_uri: str, policy: RetentionPolicy, at: datetime) -> Tagged:
    """Write the tags of a local run's outputs into ``.seqledger-tags.json`` of each folder,
    with ``at`` (the run's end) as the objects' creation for the local inventory."""
    done = Tagged()
    folder = run_folder(output_uri)
    if not os.path.isdir(folder):  # one stat: a batch's runs that wrote nothing are most runs
        return done
    root = Path(folder)
    for folder, _, names in os.walk(root):
        tags = {n: policy.tags_for(n) for n in sorted(names) if n != LOCAL_TAGS_FILE}
        if not tags:
            continue
        doc = {"tagged_at": at.isoformat(), "files": tags}
        (Path(folder) / LOCAL_TAGS_FILE).write_text(json.dumps(doc, indent=1, sort_keys=True))
        for t in tags.values():
            done.add(t)
    return done


def local_tags(folder: Path) -> dict[str, Any]:
    """What ``tag_local_run`` wrote in ``folder``: ``tagged_at`` and ``files`` (none: {})."""
    path = folder / LOCAL_TAGS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
