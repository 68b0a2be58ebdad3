"""The demo's release validations: the GIAB cohort under three releases, two of them candidates.

After the production month, the center validates two candidate releases before moving production
to them. The validation cohort (GIAB HG001–HG007, re-analysed from the same reads) runs under:

1. the production release (its hap.py results are the baseline's; validated against the truth-set
   floors only, since nothing came before it in this lake);
2. a release candidate whose indel calling regressed (recall about 0.6 % lower): the gate fails it;
3. the final candidate, slightly better than production: the gate passes it.

Each job writes hap.py's ``summary.csv`` beside its DRAGEN metrics (the simulator draws it around
published accuracy); the results stage loads it into ``happy_metrics``; ``validate_release``
compares, gates and writes the reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lake.settings import Settings
from lake.store import LakeStore

if TYPE_CHECKING:
    from expectations.release import ReleaseResult

VALIDATION_PROJECT = ("giab-validation", "CC-0900", "qa.lab")  # project, cost centre, requester
CANDIDATE_RC = "dragen-4.3.6-rc1"
CANDIDATE = "dragen-4.3.6"
STEP = timedelta(hours=1)


@dataclass(frozen=True)
class ValidationStep:
    release: str
    day: int  # day of the month the cohort is run
    effect: tuple[float, float, float, float]  # snp recall, snp precision, indel recall, precision


def steps(production_release: str) -> tuple[ValidationStep, ...]:
    return (ValidationStep(production_release, 27, (0.0, 0.0, 0.0, 0.0)),
            ValidationStep(CANDIDATE_RC, 28, (0.0001, 0.0001, -0.0060, -0.0004)),
            ValidationStep(CANDIDATE, 29, (0.0002, 0.0002, 0.0003, 0.0002)))


def play_validations(settings: Settings, store: LakeStore, *, production_release: str,
                     month_start: datetime, output_prefix: str, seed: int
                     ) -> list[ReleaseResult]:
    """Run the cohort under each release, gate its QC, and validate each release in turn."""
    from expectations.release import validate_release
    from expectations.sample_qc import run_gate
    from ingest.service import EventService
    from pipeline_runner.executors.simulated import SimulatedBatch
    from pipeline_runner.happy_sim import GIAB_SAMPLES, HappyEffect, happy_outputs
    from pipeline_runner.prices import PriceBook
    from pipeline_runner.projects import ProjectRegistry, ProjectTags
    from pipeline_runner.service import Runner
    from pipeline_runner.workflows import RunnerConfig, input_size_for_coverage, run_request

    plan = steps(production_release)
    effects = {s.release: HappyEffect(*s.effect) for s in plan}
    start = month_start + timedelta(days=plan[0].day)
    # Validation runs on clean capacity: no reclaims or failures, so cost and runtime compare.
    sim = SimulatedBatch(seed=seed + 1000, clock_start=start, spot_reclaim_rate=0.0,
                         app_failure_rate=0.0, infra_failure_rate=0.0, capacity_shortage_rate=0.0,
                         extra_outputs=happy_outputs(effects, seed=seed))
    config = RunnerConfig(output_prefix=output_prefix, pipeline_release=production_release)
    runner = Runner(store, sim, config, clock=lambda: sim.now)
    project, cost_centre, requester = VALIDATION_PROJECT
    service = EventService(store, runner,
                           ProjectRegistry({project: ProjectTags(cost_centre, requester)}),
                           PriceBook.load_default(), output_prefix=output_prefix,
                           pipeline_release=production_release)
    results: list[ReleaseResult] = []
    for step in plan:
        at = month_start + timedelta(days=step.day, hours=8)
        sim.now = max(sim.now, at)
        requests = []
        for n, sample in enumerate(GIAB_SAMPLES):
            half = input_size_for_coverage("fastq", 40) // 2 + n * 1_000_003
            uris = tuple(f"s3://seqledger-demo-input/{project}/{sample}/"
                         f"{sample}_S{n + 1}_L001_{mate}_001.fastq.gz" for mate in ("R1", "R2"))
            requests.append(run_request(project, sample, "fastq", uris, 2 * half, requester,
                                        cost_centre, output_prefix, step.release))
        runner.dispatch_many(requests, sim.now)
        clock = sim.now
        while sim.pending:
            clock += STEP
            events = sim.advance(clock)
            if events:
                service.process([(f"batch:{e['id']}", e) for e in events], now=clock)
        run_gate(store, settings, [r.run_id for r in requests], evaluated_at=clock)
        results.append(validate_release(store, settings, step.release, evaluated_at=clock))
    return results
