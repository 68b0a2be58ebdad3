"""Fixtures of the runner's tests: a configuration and run requests."""

from __future__ import annotations

import pytest

from pipeline_runner.workflows import RunnerConfig, run_request


@pytest.fixture
def config() -> RunnerConfig:
    return RunnerConfig()


@pytest.fixture
def make_run(tmp_path):
    def make(sample_id: str = "NA12878-A01", kind: str = "fastq", size: int = 70_000_000_000,
             project: str = "allofus-wgs", output_prefix: str | None = None):
        if kind in ("fastq", "ora"):
            ext = "fastq.gz" if kind == "fastq" else "fastq.ora"
            uris = [f"s3://seq-in/{project}/{sample_id}/{sample_id}_R1.{ext}",
                    f"s3://seq-in/{project}/{sample_id}/{sample_id}_R2.{ext}"]
        else:
            uris = [f"s3://seq-in/{project}/{sample_id}/{sample_id}.{kind}"]
        return run_request(project, sample_id, kind, uris, size, "jdoe", "CC-1042",
                           output_prefix or str(tmp_path / "outputs"), "dragen-4.2.4")
    return make
