"""A small lake for the QC and Releases pages, its figures worked out by hand.

Four gated runs of three samples, two projects, two releases (thresholds as sample_qc_v1 records
them: mean coverage >= 30, contamination < 1 for review and <= 3 for fail):

| run | sample | project | release | finished   | cov. x | contam. % | verdict | USD | runtime |
|-----|--------|---------|---------|------------|--------|-----------|---------|-----|---------|
| R1  | S1     | aou     | rel-1   | 2026-11-02 | 35     | 0.2       | pass    | 10  | 1.5 h   |
| R2  | S2     | aou     | rel-1   | 2026-11-02 | 25     | 0.4       | fail    | 12  | 2.5 h   |
| R3  | S3     | pgx     | rel-2   | 2026-11-04 | 40     | 1.5       | review  | 20  | 2 h     |
| R4  | S1     | pgx     | rel-2   | 2026-11-09 | 0.52   | 0         | fail    | 30  | 92 s    |

R4's metrics, histograms and contig coverage are the real DRAGEN files of the reference run TEST
(a downsampled run: 0.52x, so it fails the coverage check), loaded by ``ingest_folder``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest.dragen.service import ingest_folder
from lake.settings import Settings
from lake.store import LakeStore

TEST_COVERAGE = 0.52  # TEST.wgs_coverage_metrics.csv: Average autosomal coverage over genome


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


# run, sample, project, release, finished, coverage, contamination, verdict, cost, runtime_s
RUNS = [
    ("R1", "S1", "aou", "rel-1", t(2, 5), 35.0, 0.2, "pass", 10.0, 5400.0),
    ("R2", "S2", "aou", "rel-1", t(2, 9), 25.0, 0.4, "fail", 12.0, 9000.0),
    ("R3", "S3", "pgx", "rel-2", t(4, 7), 40.0, 1.5, "review", 20.0, 7200.0),
    ("R4", "S1", "pgx", "rel-2", t(9, 6), TEST_COVERAGE, 0.0, "fail", 30.0, None),
]
CHECKS = [  # check_id, metric_id, threshold, test, verdict if failed
    ("mean_coverage", "mean_coverage_x", ">= 30", lambda cov, con: cov >= 30, "fail"),
    ("contamination_reextract", "contamination_pct", "< 1", lambda cov, con: con < 1, "review"),
    ("contamination_max", "contamination_pct", "<= 3", lambda cov, con: con <= 3, "fail"),
]


def _metric(run: str, sample: str, at: datetime, metric_id: str, value: float) -> dict:
    return {"sample_id": sample, "run_id": run, "run_at": at, "source_file": f"{run}.csv",
            "section": "SUMMARY", "read_group": "", "metric_name": metric_id,
            "metric_id": metric_id, "value": value}


def write_qc_lake(settings: Settings, dragen_test: Path) -> LakeStore:
    """Write the runs above into the empty lake of ``settings``; ``dragen_test`` is the folder of
    the real DRAGEN reference run TEST."""
    store = LakeStore(settings)
    store.write("runs", [
        {"run_id": run, "sample_id": sample, "project": project, "pipeline_release": release,
         "workflow": "dragen-germline-wgs", "cost_centre": "cc-1", "status": "SUCCEEDED",
         "status_at": at, "executor": "simulated"}
        for run, sample, project, release, at, *_ in RUNS])
    store.write("costs", [
        {"run_id": run, "sample_id": sample, "project": project, "pipeline_release": release,
         "job_id": f"job-{run}", "attempt": 1, "component": "compute", "usage_start_at": at,
         "cost_usd": cost, "price_status": "list"}
        for run, sample, project, release, at, _, _, _, cost, _ in RUNS])
    metrics = []
    for run, sample, _, _, at, cov, con, _, _, runtime in RUNS:
        if run == "R4":
            continue
        metrics += [_metric(run, sample, at, "genome_mean_coverage_x", cov),
                    # DRAGEN writes a fraction; sample_qc gives a percent
                    _metric(run, sample, at, "estimated_sample_contamination", con / 100),
                    _metric(run, sample, at, "total_runtime_s", runtime)]
    store.write("qc_metrics", metrics)
    loaded = ingest_folder(store, dragen_test, sample_id="S1", run_id="R4", run_at=t(9, 6))
    assert loaded.rows.get("qc_histograms"), loaded
    results = []
    for run, sample, project, release, _, cov, con, verdict, _, _ in RUNS:
        gate = {"run_id": run, "sample_id": sample, "project": project, "suite": "sample_qc",
                "suite_version": "sample_qc_v1", "evaluated_at": t(10), "pipeline_release": release}
        for check_id, metric_id, threshold, test, if_failed in CHECKS:
            passed = test(cov, con)
            results.append({**gate, "check_id": check_id, "metric_id": metric_id,
                            "observed_value": con if metric_id.startswith("contam") else cov,
                            "threshold": threshold, "passed": passed, "severity": "fail",
                            "verdict": "pass" if passed else if_failed})
        results.append({**gate, "check_id": "overall", "passed": verdict == "pass",
                        "verdict": verdict, "threshold": "worst of 3 checks"})
    store.write("qc_results", results)
    return store
