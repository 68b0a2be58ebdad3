"""A small lake whose overview figures are checked by hand (analytics and dashboard tests).

Five runs of four samples in two projects:
- run-1 (S1, aou-wgs): a Spot attempt reclaimed (decided spot_reclaim), retried, SUCCEEDED
  2026-10-31.
- run-2 (S2, aou-wgs): one On-Demand attempt, SUCCEEDED 2026-11-01.
- run-3 (S3, pgx): application error (exit 1), FAILED 2026-11-01.
- run-4 (S1, pgx): still RUNNING.
- run-5 (S4, aou-wgs): reclaimed twice (once with no decision, once decided), FAILED 2026-11-02
  with no reason recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lake.settings import Settings
from lake.store import LakeStore

RECLAIM = "Host EC2 (instance i-0282b396e52b4c95d) terminated."


def t(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _tags(run_id: str, sample_id: str, project: str) -> dict:
    return {"run_id": run_id, "sample_id": sample_id, "project": project,
            "workflow": "dragen-germline-wgs", "pipeline_release": "dragen-4.2.4",
            "requested_by": "qc-lead", "cost_centre": "cc-100"}


RUNS = [
    # (run, sample, project, [(status, at, reason)])
    ("run-1", "S1", "aou-wgs", [("DISPATCHED", t(10, 30, 23), None),
                                ("RUNNING", t(10, 30, 23), None),
                                ("SUCCEEDED", t(10, 31, 2), None)]),
    ("run-2", "S2", "aou-wgs", [("DISPATCHED", t(11, 1, 1), None),
                                ("SUCCEEDED", t(11, 1, 5), None)]),
    ("run-3", "S3", "pgx", [("DISPATCHED", t(11, 1, 2), None),
                            ("FAILED", t(11, 1, 8), "application_error: exit 1")]),
    ("run-4", "S1", "pgx", [("DISPATCHED", t(11, 2, 1), None), ("RUNNING", t(11, 2, 2), None)]),
    ("run-5", "S4", "aou-wgs", [("DISPATCHED", t(11, 2, 1), None), ("FAILED", t(11, 2, 9), None)]),
]

ATTEMPTS = [
    # (run, job, attempt, capacity, final status, at, reason, exit code, decision kind, action)
    ("run-1", "job-1a", 1, "spot", "FAILED", t(10, 31, 0), RECLAIM, None, "spot_reclaim", "retry"),
    ("run-1", "job-1b", 2, "spot", "SUCCEEDED", t(10, 31, 2), None, 0, "none", "complete"),
    ("run-2", "job-2a", 1, "on-demand", "SUCCEEDED", t(11, 1, 5), None, 0, "none", "complete"),
    ("run-3", "job-3a", 1, "spot", "FAILED", t(11, 1, 8), "Essential container exited", 1,
     "application_error", "give_up"),
    ("run-4", "job-4a", 1, "spot", "RUNNING", t(11, 2, 2), None, None, None, None),
    ("run-5", "job-5a", 1, "spot", "FAILED", t(11, 2, 4), RECLAIM, None, None, None),
    ("run-5", "job-5b", 2, "spot", "FAILED", t(11, 2, 9), RECLAIM, 143, "spot_reclaim", "give_up"),
]

COSTS = [
    # (run, job, attempt, component, project, cost)
    ("run-1", "job-1a", 1, "compute", "aou-wgs", 1.25),
    ("run-1", "job-1b", 2, "compute", "aou-wgs", 3.50),
    ("run-1", "job-1b", 2, "licence", "aou-wgs", 2.00),
    ("run-2", "job-2a", 1, "compute", "aou-wgs", 4.00),
    ("run-3", "job-3a", 1, "compute", "pgx", 0.75),
    ("run-3", "job-3a", 1, "scratch_storage", "pgx", None),  # unpriced
    ("run-x", "job-xa", 1, "compute", None, 0.10),  # no project tag
]

# What the figures must be (worked out by hand from the rows above).
EXPECTED = {
    "samples": 4, "runs": 5, "runs_succeeded": 2, "runs_failed": 2, "runs_active": 1,
    "attempts": 7, "spot_reclaims": 3, "qc_gated": 2, "qc_passed": 1, "qc_review": 1,
    "qc_failed": 0, "total_cost_usd": 11.60,
}


def write_overview_lake(settings: Settings) -> LakeStore:
    """Write the rows above into the (empty) lake of ``settings``; one write per table and batch."""
    store = LakeStore(settings)
    tags = {run: _tags(run, sample, project) for run, sample, project, _ in RUNS}
    store.write("runs", [{**tags[run], "status": s, "status_at": at, "reason": reason,
                          "executor": "simulated", "input_kind": "fastq"}
                         for run, _, _, statuses in RUNS for s, at, reason in statuses])
    attempts, decisions = [], []
    for run, job, n, capacity, status, at, reason, code, kind, action in ATTEMPTS:
        history = [("SUBMITTED", at - timedelta(hours=2)), ("RUNNING", at - timedelta(hours=1))]
        if status != "RUNNING":
            history.append((status, at))
        attempts += [{**tags[run], "job_id": job, "attempt": n, "status": s, "status_at": when,
                      "status_reason": reason if s == status else None,
                      "exit_code": code if s == status else None, "capacity": capacity,
                      "instance_type": "r6i.8xlarge"} for s, when in history]
        if kind:
            decisions.append({**tags[run], "job_id": job, "attempt": n, "decided_at": at,
                              "failure_kind": kind, "action": action})
    store.write("job_attempts", attempts)
    store.write("decisions", decisions)
    store.write("costs", [{**(tags.get(run) or {"run_id": run}), "project": project, "job_id": job,
                           "attempt": n, "component": comp, "usage_start_at": t(11, 1),
                           "cost_usd": cost, "price_status": "unpriced" if cost is None else "list"}
                          for run, job, n, comp, project, cost in COSTS])
    qc = {"suite": "sample_qc", "suite_version": "sample_qc_v1", "check_id": "overall"}
    store.write("qc_results", [
        {**qc, "run_id": "run-1", "sample_id": "S1", "project": "aou-wgs", "passed": True,
         "verdict": "pass", "evaluated_at": t(11, 1)},
        {**qc, "run_id": "run-2", "sample_id": "S2", "project": "aou-wgs", "passed": False,
         "verdict": "fail", "evaluated_at": t(11, 1)},
        # Another suite's verdict must not count towards the sample QC pass rate.
        {**qc, "suite": "release_validation", "run_id": "run-2", "sample_id": "S2",
         "passed": False, "verdict": "fail", "evaluated_at": t(11, 1)},
    ])
    # run-2 re-evaluated later: the newer verdict wins in the views.
    store.write("qc_results", [{**qc, "run_id": "run-2", "sample_id": "S2", "project": "aou-wgs",
                                "passed": False, "verdict": "review", "evaluated_at": t(11, 3)}])
    return store


HOST, HOST_ZONE = "i-0282b396e52b4c95d", "us-east-1c"


def place_the_reclaimed_attempt(store: LakeStore) -> None:
    """run-1's reclaimed attempt (job-1a) on a known instance in ``HOST_ZONE``; job-1b's instance
    stays unknown."""
    (failed,) = [r for r in store.read("job_attempts").to_pylist()
                 if r["job_id"] == "job-1a" and r["status"] == "FAILED"]
    del failed["recorded_at"]  # the row again, now with its host: a later version that wins
    store.write("job_attempts", [{**failed, "instance_id": HOST}])
    store.write("instances", [{
        "instance_id": HOST, "state": "pending",
        "state_at": datetime(2026, 10, 30, 23, 50, tzinfo=UTC), "instance_type": "f2.6xlarge",
        "capacity": "spot", "availability_zone": HOST_ZONE, "source": "describe-instances"}])
