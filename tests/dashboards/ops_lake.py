"""A small lake whose failure, Spot, cost and storage figures are worked out by hand.

Five runs (times UTC, 2026):
- run-A (aou, cc-1, germline, r1; sample S-A): Spot f1.4xlarge reclaimed (decided) 11-02 03:00,
  retried on Spot, SUCCEEDED 11-02 09:00. Its outputs: 100 GB-months in STANDARD and 400 in
  DEEP_ARCHIVE in November, 2,000 objects moved there.
- run-B (aou, cc-1, germline, r1; S-B): Spot f2.6xlarge reclaimed (decided) 11-03 03:00, again
  (no decision, Batch said "Host EC2 ... terminated") 11-03 05:00, then On-Demand SUCCEEDED
  11-03 12:00.
- run-C (pgx, cc-2, somatic, r2; S-C): Spot application error 11-05 14:00, given up.
- run-D (pgx, cc-2, somatic, r2; S-D): Spot infrastructure failure 11-05 03:00, retried,
  application error 11-05 06:00, given up.
- run-E (aou, cc-1, germline, r1; S-E): On-Demand SUCCEEDED 10-30 10:00.

Each attempt's cost starts at its start (an hour before it ends); licence rows are priced with
the assumed rate. Billing: the Spot hours of i-a1 (us-east-1a), i-b1 and i-b2 (us-east-1b), and
an untagged S3 line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lake.settings import Settings
from lake.store import LakeStore

RECLAIM = "Host EC2 (instance i-0282b396e52b4c95d) terminated."


def t(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


TAGS = {
    "run-A": ("S-A", "aou", "cc-1", "germline", "r1"),
    "run-B": ("S-B", "aou", "cc-1", "germline", "r1"),
    "run-C": ("S-C", "pgx", "cc-2", "somatic", "r2"),
    "run-D": ("S-D", "pgx", "cc-2", "somatic", "r2"),
    "run-E": ("S-E", "aou", "cc-1", "germline", "r1"),
}

ATTEMPTS = [
    # (run, job, n, capacity, instance type, instance, end, status, reason, exit, kind, action,
    #  compute usd, licence usd)
    ("run-A", "job-A1", 1, "spot", "f1.4xlarge", "i-a1", t(11, 2, 3), "FAILED", RECLAIM, None,
     "spot_reclaim", "retry", 2.00, 5.00),
    ("run-A", "job-A2", 2, "spot", "f1.4xlarge", "i-a2", t(11, 2, 9), "SUCCEEDED", None, 0,
     "none", "complete", 3.00, 5.00),
    ("run-B", "job-B1", 1, "spot", "f2.6xlarge", "i-b1", t(11, 3, 3), "FAILED", RECLAIM, None,
     "spot_reclaim", "retry", 1.50, None),
    ("run-B", "job-B2", 2, "spot", "f2.6xlarge", "i-b2", t(11, 3, 5), "FAILED", RECLAIM, None,
     None, None, 1.00, None),
    ("run-B", "job-B3", 3, "on-demand", "f2.6xlarge", "i-b3", t(11, 3, 12), "SUCCEEDED", None, 0,
     "none", "complete", 6.00, 5.00),
    ("run-C", "job-C1", 1, "spot", "f1.4xlarge", "i-c1", t(11, 5, 14), "FAILED",
     "Essential container in task exited", 1, "application_error", "give_up", 0.50, 5.00),
    ("run-D", "job-D1", 1, "spot", "f1.4xlarge", "i-d1", t(11, 5, 3), "FAILED",
     "CannotPullContainerError", None, "infrastructure", "retry", 0.25, None),
    ("run-D", "job-D2", 2, "spot", "f1.4xlarge", "i-d2", t(11, 5, 6), "FAILED",
     "Essential container in task exited", 1, "application_error", "give_up", 0.75, None),
    ("run-E", "job-E1", 1, "on-demand", "f1.4xlarge", "i-e1", t(10, 30, 10), "SUCCEEDED", None,
     0, "none", "complete", 4.00, 5.00),
]

# run-A's outputs in November (component, GB-months or 1K requests, rate, cost).
STORAGE = [
    ("storage:STANDARD:2026-11", 100.0, "GB-month", 0.023, 2.30),
    ("storage:DEEP_ARCHIVE:2026-11", 400.0, "GB-month", 0.00099, 0.396),
    ("storage_transition:DEEP_ARCHIVE:2026-11", 2.0, "1K requests", 0.05, 0.10),
]

# Billed line items: (line id, instance or resource, zone, hour start, usd, run or None).
BILLED = [
    ("li-a1", "i-a1", "us-east-1a", t(11, 2, 2), 1.80, "run-A"),
    ("li-b1", "i-b1", "us-east-1b", t(11, 3, 2), 1.40, "run-B"),
    ("li-b2", "i-b2", "us-east-1b", t(11, 3, 4), 0.90, "run-B"),
    ("li-s3", "seqledger-outputs", "", t(11, 10), 3.00, None),
]


def tags(run: str) -> dict:
    sample, project, centre, workflow, release = TAGS[run]
    return {"run_id": run, "sample_id": sample, "project": project, "cost_centre": centre,
            "workflow": workflow, "pipeline_release": release, "requested_by": f"{project}-lead"}


def write_ops_lake(settings: Settings) -> LakeStore:
    """Write the rows above into the (empty) lake of ``settings``."""
    store = LakeStore(settings)
    attempts, decisions, costs = [], [], []
    first: dict[str, datetime] = {}
    last: dict[str, tuple[datetime, str]] = {}
    for (run, job, n, capacity, itype, instance, end, status, reason, code, kind, action,
         compute, licence) in ATTEMPTS:
        start = end - timedelta(hours=1)
        first[run] = min(first.get(run, start), start - timedelta(minutes=30))
        last[run] = max(last.get(run, (end, status)), (end, status))
        common = {**tags(run), "job_id": job, "attempt": n, "capacity": capacity,
                  "instance_type": itype, "instance_id": instance}
        attempts += [
            {**common, "status": "SUBMITTED", "status_at": start - timedelta(minutes=30)},
            {**common, "status": "RUNNING", "status_at": start, "started_at": start},
            {**common, "status": status, "status_at": end, "status_reason": reason,
             "exit_code": code, "started_at": start, "stopped_at": end},
        ]
        if kind:
            decisions.append({**tags(run), "job_id": job, "attempt": n, "decided_at": end,
                              "failure_kind": kind, "action": action})
        for component, usd, price_status in (("compute", compute, "list"),
                                             ("licence", licence, "assumed")):
            if usd is not None:
                costs.append({**tags(run), "job_id": job, "attempt": n, "capacity": capacity,
                              "instance_type": itype, "component": component,
                              "usage_start_at": start,
                              "usage_end_at": end, "cost_usd": usd, "price_status": price_status,
                              "price_source": f"{component} price of the test lake"})
    for component, quantity, unit, rate, usd in STORAGE:
        costs.append({**tags("run-A"), "job_id": "run-A", "attempt": 0, "component": component,
                      "usage_start_at": t(11, 1), "usage_end_at": t(12, 1), "quantity": quantity,
                      "quantity_unit": unit, "rate_usd": rate, "cost_usd": usd,
                      "price_status": "list", "price_source": "s3 price of the test lake"})
    store.write("job_attempts", attempts)
    store.write("decisions", decisions)
    store.write("costs", costs)
    store.write("runs", [
        {**tags(run), "status": s, "status_at": at, "executor": "simulated"}
        for run in TAGS
        for s, at in (("DISPATCHED", first[run]), (last[run][1], last[run][0]))
    ])
    store.write("prices", [{"price_kind": "s3-storage", "region": "us-east-1", "item": item,
                            "availability_zone": "", "unit": "GB-month", "usd": usd,
                            "effective_from_at": datetime(2020, 1, 1, tzinfo=UTC),
                            "price_status": "list", "source": "test"}
                           for item, usd in (("STANDARD", 0.023), ("DEEP_ARCHIVE", 0.00099))])
    # Two inventories (S3 Inventory, daily rows standing for 15 days each) of November 2026:
    # a 30 GiB CRAM of aou archived, a 2 GiB VCF of pgx in Standard. November has 30 days, so
    # each object is 15/30 + 15/30 of its GiB in GB-months.
    store.write("storage", [
        {"inventory_at": datetime(2026, 11, day, tzinfo=UTC), "bucket": "results",
         "object_key": key, "size_bytes": gib * 2**30, "storage_class": cls, "project": project,
         "sample_id": sample, "covered_days": 15.0, "inventory_source": "s3-inventory"}
        for day in (1, 16)
        for key, gib, cls, project, sample in (
            ("aou/S1/run-1/S1.cram", 30, "DEEP_ARCHIVE", "aou", "S1"),
            ("pgx/S4/run-4/S4.vcf.gz", 2, "STANDARD", "pgx", "S4"))])
    store.write("billed_costs", [
        {**(tags(run) if run else {}), "line_item_id": line, "resource_id": resource,
         "time_interval": f"{at:%Y-%m-%dT%H:%M:%SZ}/{at + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
         "usage_start_at": at, "usage_end_at": at + timedelta(hours=1),
         "product_code": "AmazonEC2" if run else "AmazonS3",
         "usage_type": "USE1-SpotUsage:f1.4xlarge" if run else "USE1-TimedStorage-ByteHrs",
         "availability_zone": zone or None, "capacity": "spot" if run else None,
         "usage_amount": 1.0, "unblended_cost_usd": usd, "export_format": "cur2",
         "line_item_type": "Usage"}
        for line, resource, zone, at, usd, run in BILLED
    ])
    return store
