"""Workflow choice, DRAGEN command lines, resources and job specs."""

from __future__ import annotations

import re

import pytest

from lake.errors import ConfigError, SubmitError
from pipeline_runner.workflows import (
    INSTANCE_SHAPES,
    RECALL,
    WGS,
    RunnerConfig,
    RunRequest,
    build_job_spec,
    input_size_for_coverage,
    job_resources,
    make_run_id,
    parse_job_name,
    sequenced_coverage_x,
)


def flag(cmd: tuple[str, ...], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_fastq_pair_runs_germline_wgs(make_run, config):
    run = make_run("NA12878-A01", "fastq")
    spec = build_job_spec(run, 1, "spot", config)
    cmd = spec.command
    assert spec.workflow == WGS and cmd[:4] == ("dragen", "-f", "-r", config.reference_dir)
    assert flag(cmd, "-1").endswith("NA12878-A01_R1.fastq.gz")
    assert flag(cmd, "-2").endswith("NA12878-A01_R2.fastq.gz")
    for name, value in [("--RGID", "NA12878-A01"), ("--RGSM", "NA12878-A01"),
                        ("--enable-map-align", "true"), ("--enable-variant-caller", "true"),
                        ("--enable-duplicate-marking", "true"),
                        ("--output-file-prefix", "NA12878-A01"),
                        ("--output-directory", spec.environment["SEQLEDGER_OUTPUT"])]:
        assert flag(cmd, name) == value
    assert "--ora-reference" not in cmd and "--cram-input" not in cmd


def test_ora_pair_needs_the_ora_reference(make_run, config):
    cmd = build_job_spec(make_run(kind="ora", size=15_000_000_000), 1, "spot", config).command
    assert flag(cmd, "--ora-reference") == config.ora_reference_dir
    assert flag(cmd, "-1").endswith("_R1.fastq.ora")


@pytest.mark.parametrize("kind", ["cram", "bam"])
def test_aligned_input_is_recalled_without_realigning(make_run, config, kind):
    run = make_run(kind=kind, size=17_000_000_000)
    spec = build_job_spec(run, 1, "spot", config)
    assert spec.workflow == RECALL and run.tags["workflow"] == RECALL
    assert flag(spec.command, f"--{kind}-input") == run.input_uris[0]
    assert flag(spec.command, "--enable-map-align") == "false"
    assert "-1" not in spec.command and "--enable-duplicate-marking" not in spec.command


def test_spec_names_queue_output_and_attempt(make_run, config):
    run = make_run("S-7")
    spec = build_job_spec(run, 3, "on-demand", config)
    assert spec.job_name == f"{run.run_id}-a3" and spec.attempt == 3
    assert parse_job_name(spec.job_name) == (run.run_id, 3)
    assert spec.job_queue == config.on_demand_queue and spec.capacity == "on-demand"
    assert spec.environment["SEQLEDGER_OUTPUT"] == (
        f"{run.output_prefix}/allofus-wgs/S-7/{run.run_id}/attempt-3/")
    assert spec.tags == run.tags and list(spec.tags)[0] == "project"
    assert spec.timeout_s == config.job_timeout_s
    assert build_job_spec(run, 1, "spot", config).job_queue == config.spot_queue


def test_resources_fit_one_fpga_instance_of_every_allowed_type():
    vcpus, memory = job_resources(("f1.4xlarge", "f2.6xlarge"))
    assert vcpus == 16 and memory % 1024 == 0
    for shape in (INSTANCE_SHAPES["f1.4xlarge"], INSTANCE_SHAPES["f2.6xlarge"]):
        assert vcpus <= shape.vcpus and memory < shape.memory_mib
        assert memory > 0.9 * INSTANCE_SHAPES["f1.4xlarge"].memory_mib  # asks for most of it
    assert job_resources(("f2.6xlarge",))[0] == 24


def test_run_id_is_fixed_by_the_inputs():
    uris = ["s3://b/p/S1_R1.fastq.gz", "s3://b/p/S1_R2.fastq.gz"]
    a = make_run_id("p", "S1", uris, "dragen-4.2.4")
    assert a == make_run_id("p", "S1", list(reversed(uris)), "dragen-4.2.4")
    assert a != make_run_id("p", "S1", uris, "dragen-4.3.6")
    assert a != make_run_id("p", "S1", uris[:1], "dragen-4.2.4")
    assert re.fullmatch(r"S1-[0-9a-f]{12}", a)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", make_run_id("p", "Sample #1 (re-run)", uris, "x"))


def test_bad_requests_are_refused(make_run):
    good = make_run()
    with pytest.raises(SubmitError, match="input kind 'vcf'"):
        RunRequest(**{**_fields(good), "input_kind": "vcf"})
    with pytest.raises(SubmitError, match="fastq needs R1/R2 pairs"):
        RunRequest(**{**_fields(good), "input_uris": good.input_uris[:1]})
    with pytest.raises(SubmitError, match="cannot name a Batch job"):
        RunRequest(**{**_fields(good), "run_id": "has space"})


def test_bad_configuration_is_refused():
    with pytest.raises(ConfigError, match="m5.large"):
        RunnerConfig(instance_types=("m5.large",))
    with pytest.raises(ConfigError, match="initial_capacity"):
        RunnerConfig(initial_capacity="reserved")


def test_input_size_and_depth_agree():
    size = input_size_for_coverage("fastq", 35)
    assert 75e9 < size < 90e9  # a 35x FASTQ.gz pair is ~80 GB
    assert sequenced_coverage_x("fastq", size) == pytest.approx(35, rel=1e-6)
    assert input_size_for_coverage("ora", 35) < size / 4


def _fields(run: RunRequest) -> dict:
    return {f: getattr(run, f) for f in RunRequest.__dataclass_fields__}
