"""Which DRAGEN job to run for which input: workflow, command line, resources, queue and tags.

FASTQ or ORA read pairs are aligned and called (``dragen-germline-wgs``); an already aligned
CRAM or BAM is re-called without re-aligning (``dragen-germline-recall``). DRAGEN needs an FPGA,
so a job asks for what fits one F1 or F2 instance and nothing more: one genome per instance.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lake.errors import ConfigError, SubmitError
from pipeline_runner.records import JobSpec

WGS = "dragen-germline-wgs"
RECALL = "dragen-germline-recall"
WORKFLOW_FOR_INPUT = {"fastq": WGS, "ora": WGS, "cram": RECALL, "bam": RECALL}
CAPACITIES = ("spot", "on-demand")

# Human reference size used to turn input bytes into sequenced depth (GRCh38 with alts, as DRAGEN
# reports it in "Bases in reference genome").
GENOME_BASES = 3_217_346_917

# Bytes of input per sequenced base, measured on real files: a 45x normal's FASTQ.gz pair is
# 101 GB for 139 Gbases (0.73 B/base, T_SRR7890936 replay.json); ORA is about 5x smaller than
# gzip; a 30x CRAM is about 17 GB, a BAM about 65 GB.
BYTES_PER_BASE = {"fastq": 0.73, "ora": 0.15, "cram": 0.18, "bam": 0.70}


@dataclass(frozen=True, slots=True)
class InstanceShape:
    """What one EC2 instance type offers a job."""

    vcpus: int
    memory_mib: int
    fpgas: int


# DRAGEN-capable instance types (AWS instance type pages). f1.4xlarge is the type Illumina
# supports for DRAGEN on F1; f2.6xlarge is its F2 successor.
INSTANCE_SHAPES = {
    "f1.2xlarge": InstanceShape(8, 122 * 1024, 1),
    "f1.4xlarge": InstanceShape(16, 244 * 1024, 2),
    "f2.6xlarge": InstanceShape(24, 256 * 1024, 1),
    "f2.12xlarge": InstanceShape(48, 512 * 1024, 2),
}

# The ECS agent and the OS keep part of an instance's memory, and Batch never places a job that
# asks for more than the instance registers, so a job asks for 94 % of the nominal memory.
MEMORY_HEADROOM = 0.94

_BATCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """How the runner submits work: queues, reference, release, retry limits, instance types."""

    spot_queue: str = "dragen-spot"
    on_demand_queue: str = "dragen-on-demand"
    reference_dir: str = "/ephemeral/reference/hg38-alt_masked.cnv.graph.hla.rna-9-r3.0-1"
    ora_reference_dir: str = "/ephemeral/reference/oradata_homo_sapiens"
    scratch_dir: str = "/ephemeral/scratch"
    dragen_binary: str = "dragen"
    pipeline_release: str = "dragen-4.2.4"
    max_spot_attempts: int = 2  # Spot reclaims tolerated before moving to On-Demand
    max_attempts: int = 4  # attempts of one run, whatever the reasons
    spend_cap_usd: float | None = 60.0  # per run; no retry once the estimate reaches it
    instance_types: tuple[str, ...] = ("f1.4xlarge", "f2.6xlarge")
    initial_capacity: str = "spot"
    job_timeout_s: int = 12 * 3600  # a 30x genome takes about 2 h; 12 h means it hung
    # Set (on AWS, from the stack's DragenVcpus / DragenMemoryMiB) to submit exactly the job
    # definition's resources; None sizes the job to the smallest of instance_types.
    job_vcpus: int | None = None
    job_memory_mib: int | None = None
    output_prefix: str = ".seqledger/outputs"  # used when a run is rebuilt from the lake

    def __post_init__(self) -> None:
        unknown = [t for t in self.instance_types if t not in INSTANCE_SHAPES]
        if unknown or not self.instance_types:
            raise ConfigError(f"instance_types {list(self.instance_types)}: DRAGEN needs one of "
                              f"{sorted(INSTANCE_SHAPES)}")
        if self.initial_capacity not in CAPACITIES:
            raise ConfigError(f"initial_capacity {self.initial_capacity!r}: expected spot or "
                              "on-demand")
        if self.max_attempts < 1 or self.max_spot_attempts < 0:
            raise ConfigError("max_attempts must be >= 1 and max_spot_attempts >= 0")

    def queue_for(self, capacity: str) -> str:
        if capacity not in CAPACITIES:
            raise ValueError(f"capacity {capacity!r}: expected spot or on-demand")
        return self.spot_queue if capacity == "spot" else self.on_demand_queue

    def capacity_of_queue(self, queue: str | None) -> str | None:
        """The capacity a queue name (or ARN) stands for, when it is one of ours."""
        name = (queue or "").rsplit("/", 1)[-1]
        return {self.spot_queue: "spot", self.on_demand_queue: "on-demand"}.get(name)


@dataclass(frozen=True, slots=True)
class RunRequest:
    """One analysis of one sample: what to read, under which release, who pays."""

    project: str
    sample_id: str
    run_id: str
    input_kind: str  # fastq | ora | cram | bam
    # cram/bam: one file; fastq/ora: R1, R2 of each pair, pairs in lane order (several lanes or
    # chunks are one run, read through a --fastq-list)
    input_uris: tuple[str, ...]
    input_size_bytes: int
    pipeline_release: str
    requested_by: str
    cost_centre: str
    output_prefix: str

    def __post_init__(self) -> None:
        if self.input_kind not in WORKFLOW_FOR_INPUT:
            raise SubmitError(f"run {self.run_id}: input kind {self.input_kind!r} has no workflow; "
                              f"expected one of {sorted(WORKFLOW_FOR_INPUT)}")
        n = len(self.input_uris)
        if self.input_kind in ("fastq", "ora"):
            if n < 2 or n % 2:
                raise SubmitError(f"run {self.run_id}: {self.input_kind} needs R1/R2 pairs (an "
                                  f"even number of files), got {n}")
        elif n != 1:
            raise SubmitError(f"run {self.run_id}: {self.input_kind} needs 1 input file, got {n}")
        if not _BATCH_NAME.match(f"{self.run_id}-a99"):
            raise SubmitError(f"run id {self.run_id!r} cannot name a Batch job (letters, digits, "
                              "- and _ only, at most 124 characters)")

    @property
    def workflow(self) -> str:
        return WORKFLOW_FOR_INPUT[self.input_kind]

    @property
    def tags(self) -> dict[str, str]:
        """The cost-allocation tags, in REQUIRED_TAGS order."""
        return {
            "project": self.project,
            "sample_id": self.sample_id,
            "run_id": self.run_id,
            "workflow": self.workflow,
            "pipeline_release": self.pipeline_release,
            "requested_by": self.requested_by,
            "cost_centre": self.cost_centre,
        }


def make_run_id(project: str, sample_id: str, input_uris: tuple[str, ...] | list[str],
                pipeline_release: str) -> str:
    """A run id fixed by what the run reads and how: the same inputs give the same id.

    Readable (the sample first) and safe as a Batch job name.
    """
    digest = hashlib.sha256("\x1f".join([project, sample_id, pipeline_release, *sorted(input_uris)])
                            .encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", sample_id).strip("-_")[:48] or "sample"
    return f"{slug}-{digest}"


def run_request(project: str, sample_id: str, input_kind: str,
                input_uris: tuple[str, ...] | list[str], input_size_bytes: int, requested_by: str,
                cost_centre: str, output_prefix: str, pipeline_release: str) -> RunRequest:
    """A RunRequest whose run id is derived from its inputs (see ``make_run_id``)."""
    uris = tuple(input_uris)
    return RunRequest(project, sample_id, make_run_id(project, sample_id, uris, pipeline_release),
                      input_kind, uris, int(input_size_bytes), pipeline_release, requested_by,
                      cost_centre, output_prefix)


def sequenced_coverage_x(input_kind: str, input_size_bytes: int) -> float:
    """Approximate sequenced depth of an input from its size (see BYTES_PER_BASE)."""
    return input_size_bytes / BYTES_PER_BASE[input_kind] / GENOME_BASES


def input_bases(input_kind: str | None, input_size_bytes: int | None) -> int | None:
    """Sequenced bases of an input, estimated from its compressed size (see BYTES_PER_BASE)."""
    if input_kind not in BYTES_PER_BASE or not input_size_bytes:
        return None
    return int(input_size_bytes / BYTES_PER_BASE[input_kind])


def input_size_for_coverage(input_kind: str, coverage_x: float) -> int:
    """The input size, in bytes, that a genome sequenced to ``coverage_x`` typically has."""
    return int(coverage_x * GENOME_BASES * BYTES_PER_BASE[input_kind])


def output_uri(run: RunRequest, attempt: int) -> str:
    """Where one attempt writes: ``<prefix>/<project>/<sample>/<run>/attempt-<n>/``."""
    prefix = run.output_prefix.rstrip("/")
    return f"{prefix}/{run.project}/{run.sample_id}/{run.run_id}/attempt-{attempt}/"


def job_name(run_id: str, attempt: int) -> str:
    return f"{run_id}-a{attempt}"


def parse_job_name(name: str) -> tuple[str, int] | None:
    """(run_id, attempt) from a job name made by ``job_name``; None for anyone else's job."""
    m = re.fullmatch(r"(.+)-a(\d+)", name or "")
    return (m.group(1), int(m.group(2))) if m else None


def job_resources(instance_types: tuple[str, ...]) -> tuple[int, int]:
    """vCPUs and MiB that fit the smallest of the instance types: one DRAGEN job per instance."""
    shapes = [INSTANCE_SHAPES[t] for t in instance_types]
    vcpus = min(s.vcpus for s in shapes)
    memory = min(s.memory_mib for s in shapes)
    return vcpus, int(memory * MEMORY_HEADROOM) // 1024 * 1024


_LANE_IN_NAME = re.compile(r"_L(\d{3})(?=[_.])")
FASTQ_LIST_COLUMNS = ("RGID", "RGSM", "RGLB", "Lane", "Read1File", "Read2File")


def read_pairs(run: RunRequest) -> list[tuple[int, str, str]]:
    """(lane, R1, R2) of a read-pair run; the lane from the ``_L00N_`` in the R1 name, else 1."""
    uris = run.input_uris
    pairs = []
    for r1, r2 in zip(uris[0::2], uris[1::2], strict=True):
        m = _LANE_IN_NAME.search(r1.rsplit("/", 1)[-1])
        pairs.append((int(m.group(1)) if m else 1, r1, r2))
    return pairs


def fastq_list_csv(run: RunRequest) -> str:
    """DRAGEN's ``--fastq-list`` CSV for a run's read pairs: one read group per pair."""
    sample = run.sample_id
    rows = [",".join(FASTQ_LIST_COLUMNS)]
    for n, (lane, r1, r2) in enumerate(read_pairs(run), 1):
        rows.append(",".join((f"{sample}.L{lane:03d}.{n}", sample, sample, str(lane), r1, r2)))
    return "\n".join(rows) + "\n"


def fastq_list_path(run: RunRequest, settings: RunnerConfig) -> str | None:
    """Where the job writes its ``--fastq-list`` (None for one pair: ``-1``/``-2`` do)."""
    if run.workflow != WGS or len(run.input_uris) <= 2:
        return None
    return f"{settings.scratch_dir}/{run.run_id}.fastq_list.csv"


def dragen_command(run: RunRequest, out: str, settings: RunnerConfig) -> tuple[str, ...]:
    """The DRAGEN command line for a run (germline WGS from reads, or re-calling from CRAM/BAM)."""
    sample = run.sample_id
    cmd = [settings.dragen_binary, "-f", "-r", settings.reference_dir]
    if run.workflow == WGS:
        if fastq_list := fastq_list_path(run, settings):
            cmd += ["--fastq-list", fastq_list, "--fastq-list-sample-id", sample]
        else:
            cmd += ["-1", run.input_uris[0], "-2", run.input_uris[1],
                    "--RGID", sample, "--RGSM", sample]
        if run.input_kind == "ora":
            cmd += ["--ora-reference", settings.ora_reference_dir]
        cmd += [
            "--enable-map-align", "true",
            "--enable-map-align-output", "true",
            "--output-format", "CRAM",
            "--enable-sort", "true",
            "--enable-duplicate-marking", "true",
        ]
    else:
        cmd += [f"--{run.input_kind}-input", run.input_uris[0], "--enable-map-align", "false"]
    cmd += [
        "--enable-variant-caller", "true",
        "--vc-emit-ref-confidence", "GVCF",
        "--enable-cnv", "false",
        "--intermediate-results-dir", settings.scratch_dir,
        "--output-directory", out,
        "--output-file-prefix", sample,
    ]
    return tuple(cmd)


def build_job_spec(run: RunRequest, attempt: int, capacity: str, settings: RunnerConfig) -> JobSpec:
    """The job for one attempt of a run on Spot or On-Demand capacity."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    out = output_uri(run, attempt)
    vcpus, memory_mib = job_resources(settings.instance_types)
    vcpus = settings.job_vcpus or vcpus
    memory_mib = settings.job_memory_mib or memory_mib
    command = dragen_command(run, out, settings)
    extra_env = {}
    if fastq_list := fastq_list_path(run, settings):
        # The container writes the list from its environment, then runs DRAGEN: the job needs
        # no file staged beside it, and the list is visible in the job's description.
        extra_env["SEQLEDGER_FASTQ_LIST"] = fastq_list_csv(run)
        command = ("sh", "-c", 'printf "%s" "$SEQLEDGER_FASTQ_LIST" > "$1" && shift && exec "$@"',
                   "sh", fastq_list, *command)
    return JobSpec(
        job_name=job_name(run.run_id, attempt),
        workflow=run.workflow,
        command=command,
        vcpus=vcpus,
        memory_mib=memory_mib,
        job_queue=settings.queue_for(capacity),
        capacity=capacity,
        tags=run.tags,
        attempt=attempt,
        instance_types=tuple(settings.instance_types),
        environment={
            "SEQLEDGER_OUTPUT": out,
            "SEQLEDGER_RUN_ID": run.run_id,
            "SEQLEDGER_ATTEMPT": str(attempt),
            "SEQLEDGER_INPUT_KIND": run.input_kind,
            "SEQLEDGER_INPUT_BYTES": str(run.input_size_bytes),
            **extra_env,
        },
        timeout_s=settings.job_timeout_s,
    )
