"""Synthetic billing exports for the tests, built from the documented CUR 2.0 columns.

``cur2_table`` lays rows out with every column AWS's CID team selects from a CUR 2.0 Data Export
(reference-data/aws-cur/cur2-columns_cid-data-exports.csv, the SCAD variant) and the Glue types
declared there (map<string,string> for product, resource_tags, cost_category; map<string,double>
for discount; timestamps; doubles). Undeclared types are strings, as in the CID table.

``simulate`` runs a small day of Batch on EC2: instances that boot before their jobs and idle
after them, packed jobs, a Spot reclaim and an On-Demand retry. From it come the job_attempts
rows the runner would record and the CUR 2.0 rows AWS would bill: hourly instance rows and, per
task and hour, split cost allocation rows computed with AWS's documented 9:1 method.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pyarrow as pa

TS = pa.timestamp("ms")
GLUE = {
    "string": pa.string(),
    "double": pa.float64(),
    "timestamp": TS,
    "map<string,string>": pa.map_(pa.string(), pa.string()),
    "map<string,double>": pa.map_(pa.string(), pa.float64()),
}
NUMERIC_HINTS = (
    "_cost",
    "_amount",
    "_rate",
    "_factor",
    "_usage",
    "_ratio",
    "_fee",
    "_units",
    "_quantity",
    "_value",
    "_discount",
    "_commitment",
)


def cur2_schema(reference: Path) -> pa.Schema:
    rows = list(
        csv.DictReader((reference / "aws-cur" / "cur2-columns_cid-data-exports.csv").open())
    )
    fields = []
    for r in rows:
        t = GLUE.get(r["glue_type_in_cid_cur2_table"])
        if t is None:
            numeric = r["column"].endswith(NUMERIC_HINTS) and not r["column"].endswith("_id")
            t = pa.float64() if numeric else pa.string()
        fields.append(pa.field(r["column"], t))
    return pa.schema(fields)


def cur2_table(reference: Path, rows: list[dict]) -> pa.Table:
    schema = cur2_schema(reference)
    data = {}
    for f in schema:
        values = [r.get(f.name) for r in rows]
        if pa.types.is_map(f.type):
            values = [list(v.items()) if v is not None else [] for v in values]
        if f.type == TS:
            values = [v.replace(tzinfo=None) if v is not None else None for v in values]
        data[f.name] = pa.array(values, f.type)
    return pa.table(data, schema=schema)


def line_id(*parts) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:26]


def interval(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"


# -- a simulated day ------------------------------------------------------------------------------


@dataclass
class Instance:
    instance_id: str
    instance_type: str
    capacity: str  # spot | on-demand
    vcpus: int
    memory_gib: float
    start: datetime
    end: datetime
    tags: dict = field(default_factory=dict)  # the compute environment's tags


@dataclass
class Job:
    job_id: str
    attempt: int
    instance: Instance
    vcpus: int
    memory_mib: int
    started_at: datetime
    stopped_at: datetime
    tags: dict
    status: str = "SUCCEEDED"
    reason: str | None = None


def hours(start: datetime, end: datetime):
    h = start.replace(minute=0, second=0, microsecond=0)
    while h < end:
        yield h, h + timedelta(hours=1)
        h += timedelta(hours=1)


def overlap_s(a0, a1, b0, b1) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def hourly_instance_cost(
    inst: Instance, price_at, h0: datetime, h1: datetime
) -> tuple[float, float]:
    """(hours the instance ran in [h0, h1), what they cost): prices change only on the hour."""
    ran = overlap_s(inst.start, inst.end, h0, h1) / 3600
    return ran, ran * price_at(inst, h0)


def billing_rows(
    instances: list[Instance], jobs: list[Job], price_at, split: bool = True
) -> list[dict]:
    """CUR 2.0 rows: instance-hours, and per task-hour a vCPU and a memory split row."""
    rows = []
    for inst in instances:
        family = "SpotUsage" if inst.capacity == "spot" else "BoxUsage"
        for h0, h1 in hours(inst.start, inst.end):
            ran, cost = hourly_instance_cost(inst, price_at, h0, h1)
            rows.append(
                {
                    "identity_line_item_id": line_id(inst.instance_id, h0),
                    "identity_time_interval": interval(h0, h1),
                    "line_item_usage_start_date": h0,
                    "line_item_usage_end_date": h1,
                    "bill_billing_period_start_date": h0.replace(day=1, hour=0),
                    "line_item_line_item_type": "Usage",
                    "line_item_product_code": "AmazonEC2",
                    "line_item_usage_type": f"USE1-{family}:{inst.instance_type}",
                    "line_item_operation": "RunInstances",
                    "line_item_resource_id": inst.instance_id,
                    "line_item_usage_amount": ran,
                    "line_item_unblended_rate": cost / ran,
                    "line_item_unblended_cost": cost,
                    "line_item_net_unblended_cost": cost,
                    "line_item_currency_code": "USD",
                    "pricing_unit": "Hrs",
                    "product_instance_type": inst.instance_type,
                    "product_region_code": "us-east-1",
                    "product": {"region": "us-east-1", "instance_type": inst.instance_type},
                    "resource_tags": {f"user_{k}": v for k, v in inst.tags.items()},
                }
            )
            if not split:
                continue
            tasks = [
                (j, overlap_s(j.started_at, j.stopped_at, h0, h1))
                for j in jobs
                if j.instance is inst
            ]
            tasks = [(j, s) for j, s in tasks if s > 0]
            if not tasks:
                continue
            # AWS's method: unit cost per weight, pools for CPU and memory, ratios per task-hour.
            unit = cost / (9 * inst.vcpus * ran + 1 * inst.memory_gib * ran)
            splits = []
            for j, s in tasks:
                vcpu_h, gb_h = j.vcpus * s / 3600, j.memory_mib / 1024 * s / 3600
                splits.append((j, vcpu_h, gb_h, 9 * unit * vcpu_h, unit * gb_h))
            total_split = sum(c + m for *_, c, m in splits)
            unused = cost - total_split
            for j, vcpu_h, gb_h, cpu_cost, mem_cost in splits:
                arn = f"arn:aws:ecs:us-east-1:123456789012:task/batch/{j.job_id}"
                for kind, used, avail, part in (
                    ("vCPU-Hours", vcpu_h, inst.vcpus * ran, cpu_cost),
                    ("GB-Hours", gb_h, inst.memory_gib * ran, mem_cost),
                ):
                    rows.append(
                        {
                            "identity_line_item_id": line_id(arn, kind, h0),
                            "identity_time_interval": interval(h0, h1),
                            "line_item_usage_start_date": h0,
                            "line_item_usage_end_date": h1,
                            "line_item_line_item_type": "Usage",
                            "line_item_product_code": "AmazonECS",
                            "line_item_usage_type": f"USE1-ECS-EC2-{kind}",
                            "line_item_resource_id": arn,
                            "line_item_usage_amount": used,
                            "line_item_unblended_cost": 0.0,
                            "line_item_currency_code": "USD",
                            "product_region_code": "us-east-1",
                            "resource_tags": {f"user_{k}": v for k, v in j.tags.items()},
                            "split_line_item_parent_resource_id": inst.instance_id,
                            "split_line_item_split_usage": used,
                            "split_line_item_reserved_usage": used,
                            "split_line_item_split_usage_ratio": used / avail,
                            "split_line_item_split_cost": part,
                            "split_line_item_unused_cost": unused * part / total_split,
                            "split_line_item_public_on_demand_split_cost": part,
                        }
                    )
    return rows


def attempt_rows(job: Job) -> list[dict]:
    """The job_attempts rows the runner records for one attempt."""
    common = {
        **job.tags,
        "job_id": job.job_id,
        "attempt": job.attempt,
        "capacity": job.instance.capacity,
        "instance_type": job.instance.instance_type,
        "vcpus": job.vcpus,
        "memory_mib": job.memory_mib,
    }
    return [
        {**common, "status": "RUNNABLE", "status_at": job.started_at - timedelta(minutes=3)},
        {
            **common,
            "status": "RUNNING",
            "status_at": job.started_at,
            "started_at": job.started_at,
            "instance_id": job.instance.instance_id,
        },
        {
            **common,
            "status": job.status,
            "status_at": job.stopped_at,
            "started_at": job.started_at,
            "stopped_at": job.stopped_at,
            "instance_id": job.instance.instance_id,
            "status_reason": job.reason,
        },
    ]


def day(t0: datetime) -> tuple[list[Instance], list[Job]]:
    """Instances and jobs of the simulated day starting at ``t0`` (a whole hour, UTC)."""
    m = timedelta(minutes=1)
    ce = {"cost_centre": "CC-PLATFORM"}
    f1_spot = Instance(
        "i-0spot00000000001", "f1.2xlarge", "spot", 8, 122, t0 - 2 * m, t0 + 83 * m, ce
    )
    f1_od = Instance(
        "i-0ondemand0000002", "f1.2xlarge", "on-demand", 8, 122, t0 + 88 * m, t0 + 215 * m, ce
    )
    c5 = Instance(
        "i-0packed000000003", "c5.9xlarge", "on-demand", 36, 72, t0 - 3 * m, t0 + 195 * m, ce
    )
    f2 = Instance(
        "i-0f2spot000000004", "f2.6xlarge", "spot", 24, 256, t0 + 10 * m, t0 + 150 * m, ce
    )

    def tags(sample, run, project="NIH-AOU"):
        return {
            "project": project,
            "sample_id": sample,
            "run_id": run,
            "workflow": "dragen-germline",
            "pipeline_release": "4.3.6",
            "requested_by": "svc-runner",
            "cost_centre": "CC-7",
        }

    jobs = [
        # Spot reclaim after 80 minutes, then an On-Demand retry of the same run.
        Job(
            "job-a1",
            1,
            f1_spot,
            8,
            120 * 1024,
            t0,
            t0 + 80 * m,
            tags("S1", "R1"),
            "FAILED",
            "Host EC2 (instance i-0spot00000000001) terminated.",
        ),
        Job("job-a2", 2, f1_od, 8, 120 * 1024, t0 + 90 * m, t0 + 212 * m, tags("S1", "R1")),
        # Two jobs packed on one c5.9xlarge, overlapping for 45 minutes, from two projects.
        Job("job-b1", 1, c5, 16, 32 * 1024, t0, t0 + 90 * m, tags("S2", "R2")),
        Job("job-c1", 1, c5, 16, 30 * 1024, t0 + 45 * m, t0 + 190 * m, tags("S3", "R3", "GREGOR")),
        # A job that fails in 30 s on the packed instance: billed for 30 s, estimated for 60 s.
        Job(
            "job-d1",
            1,
            c5,
            2,
            4 * 1024,
            t0 + 100 * m,
            t0 + 100 * m + timedelta(seconds=30),
            tags("S4", "R4", "GREGOR"),
            "FAILED",
            "Essential container in task exited",
        ),
        # A half-size job on an F2 Spot instance.
        Job("job-e1", 1, f2, 12, 128 * 1024, t0 + 15 * m, t0 + 140 * m, tags("S5", "R5")),
    ]
    return [f1_spot, f1_od, c5, f2], jobs


def instance_state_rows(inst: Instance) -> list[dict]:
    """The ``instances`` rows the EC2 state-change events of ``inst`` give: launched a minute
    before it runs, billed from running until shutting-down, terminated 40 s later."""
    common = {"instance_id": inst.instance_id, "source": "ec2-event", "region": "us-east-1"}
    return [
        {**common, "state": "pending", "state_at": inst.start - timedelta(minutes=1)},
        {**common, "state": "running", "state_at": inst.start},
        {**common, "state": "shutting-down", "state_at": inst.end},
        {**common, "state": "terminated", "state_at": inst.end + timedelta(seconds=40)},
    ]


def _price_table(name):
    text = (resources.files("pipeline_runner") / "prices" / name).read_text()
    return list(csv.DictReader(text.splitlines()))


def market(spot_factor=1.0):
    """What AWS charges in the simulation, read straight from the shipped tables (not PriceBook)."""
    on_demand = {
        r["instance_type"]: float(r["usd_per_hour"]) for r in _price_table("ec2_on_demand.csv")
    }
    spot = {}
    for r in _price_table("ec2_spot.csv"):
        start = datetime.fromisoformat(r["effective_from"]).replace(tzinfo=UTC)
        spot.setdefault(r["instance_type"], []).append((start, float(r["usd_per_hour"])))

    def price_at(inst, hour):
        if inst.capacity == "on-demand":
            return on_demand[inst.instance_type]
        return spot_factor * max((s, p) for s, p in spot[inst.instance_type] if s <= hour)[1]

    return price_at
