"""What happens when a run finishes: its attempts are priced and its DRAGEN metrics loaded.

The QC gate runs after this, from ``expectations`` (which ``ingest`` may not import): on AWS as the
scheduled QC gate job (``seqledger qc gate`` on Fargate, infra/seqledger.yaml), here from the
command line and the demo.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lake.schemas import table
from lake.store import LakeStore, WriteResult, columns_table
from pipeline_runner.cost import (
    COST_COLUMNS,
    AttemptUsage,
    CostValues,
    attempt_cost_values,
    estimate_attempt_cost,
)
from pipeline_runner.licence import LicenceTerms
from pipeline_runner.prices import PriceBook
from pipeline_runner.service import AttemptSummary, FinishedRun, Runner
from pipeline_runner.workflows import input_bases

if TYPE_CHECKING:
    from ingest.dragen.service import LocalFolders

# DRAGEN reads and writes on the instance's NVMe; the EBS root and scratch volume each job gets.
SCRATCH_GB = 500.0
DEFAULT_LICENCE = LicenceTerms()  # per Gbase, failed attempts metered (pipeline_runner.licence)


@dataclass(frozen=True, slots=True)
class RunResults:
    run_id: str
    status: str
    cost_rows: int  # rows of the ``costs`` table written for the run's attempts
    metric_rows: int = 0
    quarantined: int = 0
    dragen_version: str | None = None
    objects_tagged: int = 0  # objects tagged for the archival lifecycle (succeeded runs)


def attempt_usage_for(
    tags: Mapping[str, str], a: AttemptSummary, bases: int | None,
    licence: LicenceTerms = DEFAULT_LICENCE,
) -> AttemptUsage:
    """The cost model's view of one attempt."""
    finished = {"SUCCEEDED": True, "FAILED": False}.get(a.status or "")
    return AttemptUsage(
        job_id=a.job_id,
        attempt=a.attempt,
        tags=tags,
        capacity=a.capacity,
        instance_type=a.instance_type,
        started_at=a.started_at,
        stopped_at=a.stopped_at,
        vcpus=a.vcpus,
        memory_mib=a.memory_mib,
        input_bases=bases,
        scratch_gb=SCRATCH_GB,
        instance_id=a.instance_id,
        licence=licence,
        finished=finished,
    )


def cost_rows(run: FinishedRun, prices: PriceBook, bases: int | None,
              licence: LicenceTerms = DEFAULT_LICENCE) -> list[CostValues]:
    """The estimated cost components of every attempt of a finished run, as values in
    ``COST_COLUMNS`` order (``as_row`` names them; a batch gathers them as columns).

    Attempts that never started (failed while RUNNABLE) cost nothing and are skipped; a reclaimed
    Spot attempt costs what it ran.
    """
    rows: list[CostValues] = []
    for a in run.attempts:
        if a.started_at is None:
            continue
        rows += attempt_cost_values(attempt_usage_for(run.tags, a, bases, licence), prices)
    return rows


def costs_table(values: list[CostValues]) -> Any:
    """Cost rows' values as columns of the ``costs`` table (an Arrow table; ``LakeStore.write``
    adds the bookkeeping columns)."""
    columns = zip(*values, strict=True)
    return columns_table(table("costs"), dict(zip(COST_COLUMNS, columns, strict=True)))


def spend_estimator(runner: Runner, prices: PriceBook,
                    licence: LicenceTerms = DEFAULT_LICENCE) -> Callable[[str], float]:
    """What a run has cost so far (every attempt that ran), for the runner's spend cap.

    Unpriced components count as zero here: the cap guards against runaway retries, and an
    unknown price is reported as ``unpriced`` in the costs table, not guessed.
    """

    def spent(run_id: str) -> float:
        request = runner.run_request(run_id)
        if request is None:
            return 0.0
        bases = input_bases(request.input_kind, request.input_size_bytes)
        total = 0.0
        for a in runner.attempts(run_id):
            if a.started_at is None or a.stopped_at is None:
                continue
            usage = attempt_usage_for(request.tags, a, bases, licence)
            total += sum(r["cost_usd"] or 0.0 for r in estimate_attempt_cost(usage, prices))
        return total

    return spent


def finish_runs(
    store: LakeStore,
    runs: list[FinishedRun],
    prices: PriceBook,
    inputs: dict[str, tuple[str | None, int | None]],
    licence: LicenceTerms = DEFAULT_LICENCE,
    tag_run: Callable[[FinishedRun], int] | None = None,
) -> list[RunResults]:
    """Price every finished run, load the metrics of the successful ones, write costs once.

    ``inputs`` maps run id to (input kind, input size) for the licence estimate. ``tag_run``
    tags a succeeded run's inputs and outputs for the archival lifecycle and says how many; a
    run whose local run folder is not there has nothing to tag and is not asked.
    """
    from ingest.dragen.service import LocalFolders, ingest_folder
    from ingest.happy import ingest_happy, is_happy_file
    from ingest.tagging import run_folder

    results: list[RunResults] = []
    all_costs: list[CostValues] = []
    batch = BatchWrites(store)  # one write per table for the whole batch, not per run
    local = LocalFolders()  # the runs' output folders share their parents: each looked at once
    succeeded = [r.output_uri for r in runs if r.status == "SUCCEEDED"]
    # A run is tagged in its run folder (every attempt's outputs): when the batch's output
    # folders are under one that is not there, none is, and none is asked.
    untagged = absent_folders(local, [run_folder(f) for f in succeeded]) \
        if absent_folders(local, succeeded) else {}
    for run in runs:
        bases = input_bases(*inputs.get(run.run_id, (None, None)))
        costs = cost_rows(run, prices, bases, licence)
        all_costs += costs
        if run.status != "SUCCEEDED":
            results.append(RunResults(run.run_id, run.status, len(costs)))
            continue
        summary = ingest_folder(
            store,
            run.output_uri,
            sample_id=run.sample_id,
            run_id=run.run_id,
            run_at=run.finished_at,
            write=batch.add,
            local=local,  # a folder it found missing is refused without a listing
        )
        # A validation job runs hap.py after DRAGEN: its accuracy files sit beside the metrics.
        if any(is_happy_file(f.name) for f in summary.files):
            ingest_happy(store, run.output_uri,
                         release=run.tags.get("pipeline_release") or "unknown",
                         sample_id=run.sample_id, run_id=run.run_id, loaded_at=run.finished_at)
        results.append(
            RunResults(
                run.run_id,
                run.status,
                len(costs),
                metric_rows=sum(summary.rows.values()),
                quarantined=summary.quarantined,
                dragen_version=summary.dragen_version,
                objects_tagged=tag_run(run) if tag_run is not None
                and run_folder(run.output_uri) not in untagged else 0,
            )
        )
    batch.flush()
    if all_costs:
        store.write("costs", costs_table(all_costs))
    return results


def absent_folders(local: LocalFolders, folders: list[str]) -> dict[str, str]:
    """The local ``folders`` that are not there -> each one resolved (as ``LocalFolders``
    resolves it), from one look at the folder all of them are under.

    A batch's runs write under one output prefix: when that is not there (runs that wrote no
    outputs, or wrote them elsewhere), no folder under it is, and each run's folder needs no
    look of its own. Otherwise none is named here and each is looked at as usual.
    """
    texts = {f: f.removeprefix("file://") for f in folders if not f.startswith("s3://")}
    paths = {f: os.path.abspath(t) for f, t in texts.items() if ".." not in t.split("/")}
    if not paths:
        return {}
    under = os.path.commonpath(list(paths.values()))
    real, exists = local.resolve(under)
    if exists:
        return {}
    return {f: real + p[len(under):] for f, p in paths.items()}


class BatchWrites:
    """Rows for several tables gathered from many runs, written once per table by ``flush``.

    The rows are the ones each run's own write would have made; gathered, a batch of 1,000
    finished runs makes a few files instead of thousands (each an fsync or an S3 request).
    """

    def __init__(self, store: LakeStore) -> None:
        self.store = store
        self.pending: dict[str, list] = {}

    def add(self, name: str, rows: Any) -> WriteResult:
        self.pending.setdefault(name, []).append(rows)
        return WriteResult(name, (), (), len(rows))

    def flush(self) -> None:
        import pyarrow as pa

        for name, parts in self.pending.items():
            tables = [p for p in parts if isinstance(p, pa.Table)]
            dicts = [r for p in parts if not isinstance(p, pa.Table) for r in p]
            if tables:
                self.store.write(name, pa.concat_tables(tables, promote_options="default"))
            if dicts:
                self.store.write(name, dicts)
        self.pending.clear()
