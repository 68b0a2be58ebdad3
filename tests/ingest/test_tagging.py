"""Tagging a finished run's objects for the archival lifecycle: on SeaweedFS (a real S3 server
that implements PutObjectTagging/GetObjectTagging) and on a local folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest.tagging import LOCAL_TAGS_FILE, S3Tagger, local_tags, tag_local_run, tag_s3_run
from lake.errors import ConfigError
from pipeline_runner.projects import parse_projects
from pipeline_runner.retention import DEFAULT_RETENTION, RetentionPolicy

AT = datetime(2026, 3, 4, 5, tzinfo=UTC)
POLICY = RetentionPolicy(("alignment", "reads"), 90, "DEEP_ARCHIVE")


def _tags(client, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"]
            for t in client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def test_a_finished_run_is_tagged_on_s3_by_its_projects_policy(s3_settings):
    tagger = S3Tagger(s3_settings.s3)
    s3 = tagger.client
    base = s3_settings.lake_uri.removeprefix("s3://lake/")
    run = f"{base}/out/cardio/S1/r1"
    for key in (f"{run}/attempt-1/S1.cram", f"{run}/attempt-2/S1.cram",
                f"{run}/attempt-2/S1.hard-filtered.vcf.gz", f"{base}/in/cardio/S1_R1.fastq.gz"):
        s3.put_object(Bucket="lake", Key=key, Body=b"x" * 10)
    # a tag somebody else set is kept: PutObjectTagging replaces the whole set
    s3.put_object_tagging(Bucket="lake", Key=f"{run}/attempt-2/S1.cram",
                          Tagging={"TagSet": [{"Key": "owner", "Value": "lab-7"}]})

    done = tag_s3_run(tagger, f"s3://lake/{run}/attempt-2/",
                      [f"s3://lake/{base}/in/cardio/S1_R1.fastq.gz",
                       f"s3://lake/{base}/in/cardio/deleted_R2.fastq.gz"], POLICY)

    assert (done.objects, done.missing) == (4, 1)
    assert done.by_tier == {"deep-archive-90d": 3, "false": 1}
    assert _tags(s3, "lake", f"{run}/attempt-2/S1.cram") == {
        "owner": "lab-7", "seqledger:archive": "deep-archive-90d",
        "seqledger:data-class": "alignment"}
    assert _tags(s3, "lake", f"{run}/attempt-1/S1.cram")["seqledger:archive"] == "deep-archive-90d"
    assert _tags(s3, "lake", f"{run}/attempt-2/S1.hard-filtered.vcf.gz") == {
        "seqledger:archive": "false", "seqledger:data-class": "variants"}
    assert _tags(s3, "lake", f"{base}/in/cardio/S1_R1.fastq.gz")["seqledger:data-class"] == "reads"


def test_a_local_run_gets_its_tags_beside_its_files(tmp_path):
    attempt = tmp_path / "out" / "cardio" / "S1" / "r1" / "attempt-1"
    attempt.mkdir(parents=True)
    (attempt / "S1.bam").write_bytes(b"b")
    (attempt / "S1.mapping_metrics.csv").write_text("x")

    done = tag_local_run(f"{attempt}/", DEFAULT_RETENTION, AT)

    assert done.objects == 2
    assert local_tags(attempt)["tagged_at"] == "2026-03-04T05:00:00+00:00"
    assert local_tags(attempt)["files"] == {
        "S1.bam": {"seqledger:archive": "deep-archive-30d", "seqledger:data-class": "alignment"},
        "S1.mapping_metrics.csv": {"seqledger:archive": "false",
                                   "seqledger:data-class": "metrics"},
    }
    tag_local_run(f"{attempt}/", DEFAULT_RETENTION, AT)  # again: the same, not a tag of itself
    assert LOCAL_TAGS_FILE not in json.loads((attempt / LOCAL_TAGS_FILE).read_text())["files"]


def test_a_projects_retention_policy_is_read_and_checked_against_the_stacks_tiers():
    text = """
[projects.cardio]
cost_centre = "CC-1"
requested_by = "a.lee"
[projects.cardio.retention]
archive = ["alignment"]
standard_days = 180
then = "deep_archive"
[projects.onco]
cost_centre = "CC-2"
requested_by = "b.kim"
"""
    registry = parse_projects(text, "projects.toml")
    assert registry.retention_for("cardio") == RetentionPolicy(("alignment",), 180, "DEEP_ARCHIVE")
    assert registry.retention_for("onco") == DEFAULT_RETENTION
    with pytest.raises(ConfigError, match=r"no lifecycle rule for DEEP_ARCHIVE after 45 days"):
        parse_projects(text.replace("180", "45"), "projects.toml")
    with pytest.raises(ConfigError, match=r"unknown data class\(es\) \['bams'\]"):
        parse_projects(text.replace('["alignment"]', '["bams"]'), "projects.toml")
