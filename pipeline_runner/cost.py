"""The cost model: an attempt and a price book in, rows of the lake's ``costs`` table out.

Rules (stated once, applied everywhere):

- **Compute** is billed per second with a 60 s minimum (EC2 Linux On-Demand and Spot), from the
  container's start to its stop. An interrupted Spot attempt costs the seconds it ran.
- **Whole instance**: EC2 bills an instance from ``running`` to ``shutting-down``, and AWS Batch
  launches it before its job and terminates it after idling. Once the instance's life is known
  (``pipeline_runner.instances``), an attempt that was its only job pays all of it: the container
  window at share 1 plus ``compute:instance-boot`` (launch to start) and
  ``compute:instance-idle`` (stop to termination). Until then it pays the packing share of its
  container window, and ``price_source`` says so.
- **Spot** uses the Spot price in effect second by second (piecewise over the dated history);
  **On-Demand** the list price in effect when the attempt started.
- **Packing share**: when Batch packs several jobs on one instance, an attempt pays
  ``(9 x its vCPUs + its memory GiB) / (9 x instance vCPUs + instance memory GiB)`` of the instance:
  the 9:1 CPU:memory weighting of AWS split cost allocation data. Using AWS's own rule makes the
  estimate directly comparable with the billed split cost. Capacity no job reserved on a shared
  instance (its unused share) is not charged to attempts; the reconciliation reports it
  separately. An attempt without vCPU/memory figures is charged the whole instance. A task on a
  shared instance pays its own seconds: EC2's 60 s minimum is the instance's.
- **DRAGEN licence**: by the licence model in force (``pipeline_runner.licence``): per input
  gigabase, per sample, per instance-hour, or prepaid; each model states whether an attempt that
  did not finish (a reclaim, an error) is metered, and the row's ``price_source`` says which rule
  applied. The shipped per-Gbase rate is an assumption (``price_status`` ``assumed``).
- **Scratch** (EBS): GB x $/GB-month, prorated over 730 h a month, for the billable seconds.
- A price that is missing (instance type, date, Spot history) gives a row with ``cost_usd`` NULL
  and ``price_status`` ``unpriced``, whose ``price_source`` says what was missing. Never a zero.

A compute row's ``quantity`` is the attempt's share of instance-hours (``instance-h``) and its
``usage_end_at`` is the end of the billable window (start + billable seconds), so the share can be
recovered in SQL as ``quantity x 3600 / seconds(usage_start_at, usage_end_at)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline_runner.instances import InstanceLife
from pipeline_runner.licence import FREE, PER_INSTANCE_HOUR, PER_SAMPLE, LicenceTerms
from pipeline_runner.prices import DEFAULT_REGION, InstanceSpec, Price, PriceBook
from pipeline_runner.records import REQUIRED_TAGS

CPU_WEIGHT = 9.0  # AWS split cost allocation data: vCPU-hour weight
MEMORY_WEIGHT = 1.0  # … and GiB-hour weight
MIN_BILLABLE_S = 60
HOURS_PER_MONTH = 730  # AWS's convention for prorating GB-month prices (EBS)
MIB_PER_GIB = 1024

COMPUTE, LICENCE, SCRATCH = "compute", "licence", "scratch_storage"
# the instance's life outside the container, when the attempt had the instance to itself
INSTANCE_BOOT, INSTANCE_IDLE = "compute:instance-boot", "compute:instance-idle"

TAG_KEYS = REQUIRED_TAGS
# A row of the ``costs`` table: its values in this order (``CostValues``); ``as_row`` names them.
COST_COLUMNS = (*TAG_KEYS, "job_id", "attempt", "component", "usage_start_at", "usage_end_at",
                "quantity", "quantity_unit", "rate_usd", "cost_usd", "capacity", "instance_type",
                "price_source", "price_status")
CostValues = tuple[Any, ...]


def as_row(values: CostValues) -> dict[str, Any]:
    """A cost row's values as the ``costs`` row (a dict)."""
    return dict(zip(COST_COLUMNS, values, strict=True))


@dataclass(frozen=True, slots=True)
class AttemptUsage:
    """What one attempt used: where, how long, how much of the instance, how much input."""

    job_id: str
    attempt: int
    tags: Mapping[str, str]
    capacity: str | None  # "spot" | "on-demand"
    instance_type: str | None
    started_at: datetime | None
    stopped_at: datetime | None  # None: still running or never reported; the compute is unpriced
    vcpus: int | None = None  # reserved by the job
    memory_mib: int | None = None
    instance_vcpus: int | None = None  # None: from the price book's instance table
    instance_memory_mib: int | None = None
    input_bases: int | None = None  # for the DRAGEN licence; None with licensed=True → unpriced
    licensed: bool = True  # a DRAGEN run (False for helper jobs that pay no licence)
    licence: LicenceTerms = LicenceTerms()
    finished: bool | None = None  # True: SUCCEEDED; False: failed or reclaimed; None: unknown
    scratch_gb: float = 0.0
    scratch_volume: str = "gp3"
    region: str = DEFAULT_REGION
    instance_id: str | None = None

    @classmethod
    def from_attempt_rows(
        cls,
        rows: list[Mapping[str, Any]],
        *,
        input_bases: int | None = None,
        scratch_gb: float = 0.0,
        licensed: bool = True,
    ) -> AttemptUsage:
        """One attempt from its ``job_attempts`` rows (any order; the latest value of each wins)."""
        if not rows:
            raise ValueError("an attempt needs at least one job_attempts row")
        ordered = sorted(rows, key=lambda r: r["status_at"])

        def last(name: str) -> Any:
            return next((r[name] for r in reversed(ordered) if r.get(name) is not None), None)

        first = ordered[0]
        return cls(
            job_id=first["job_id"],
            attempt=int(first["attempt"]),
            tags={k: v for k in TAG_KEYS if (v := last(k)) is not None},
            capacity=last("capacity"),
            instance_type=last("instance_type"),
            started_at=last("started_at"),
            stopped_at=last("stopped_at"),
            vcpus=last("vcpus"),
            memory_mib=last("memory_mib"),
            input_bases=input_bases,
            licensed=licensed,
            scratch_gb=scratch_gb,
            instance_id=last("instance_id"),
        )


def billable_seconds(started_at: datetime, stopped_at: datetime) -> int:
    """Whole seconds billed for [started, stopped): rounded up, at least 60."""
    return max(MIN_BILLABLE_S, math.ceil((stopped_at - started_at).total_seconds()))


def packing_share(
    vcpus: float | None, memory_mib: float | None, instance: InstanceSpec | None
) -> float | None:
    """The attempt's share of its instance by the 9:1 vCPU:memory rule; 1 when it reserved nothing.

    None when the attempt reserved resources but the instance's size is unknown.
    """
    if not vcpus and not memory_mib:
        return 1.0
    if instance is None:
        return None
    used = CPU_WEIGHT * (vcpus or 0) + MEMORY_WEIGHT * (memory_mib or 0) / MIB_PER_GIB
    total = CPU_WEIGHT * instance.vcpus + MEMORY_WEIGHT * instance.memory_gib
    return min(1.0, used / total)


def _status(prices: list[Price]) -> str:
    if len(prices) == 1:  # most rows: one price, no set to make
        status = prices[0].status
        return status if status in ("assumed", "list") else "approximate"
    statuses = {p.status for p in prices}
    if "assumed" in statuses:
        return "assumed"
    return "approximate" if statuses - {"list"} else "list"


def _row(
    a: AttemptUsage,
    component: str,
    *,
    start: datetime,
    end: datetime | None,
    quantity: float | None,
    unit: str,
    rate: float | None,
    cost: float | None,
    source: str,
    status: str,
) -> CostValues:
    # values, not a dict: a batch of attempts is gathered as columns (``attempt_cost_values``)
    return (*map(a.tags.get, TAG_KEYS), a.job_id, a.attempt, component, start, end, quantity,
            unit, rate, cost, a.capacity, a.instance_type, source, status)


def _unpriced(
    a: AttemptUsage,
    component: str,
    start: datetime,
    end: datetime | None,
    unit: str,
    reason: str,
    quantity: float | None = None,
) -> CostValues:
    return _row(
        a,
        component,
        start=start,
        end=end,
        quantity=quantity,
        unit=unit,
        rate=None,
        cost=None,
        source=f"unpriced: {reason}",
        status="unpriced",
    )


def _instance(a: AttemptUsage, prices: PriceBook) -> InstanceSpec | None:
    if a.instance_vcpus and a.instance_memory_mib:
        return InstanceSpec(
            a.instance_type or "?", a.instance_vcpus, a.instance_memory_mib / MIB_PER_GIB
        )
    return prices.instance(a.instance_type) if a.instance_type else None


def compute_row(
    a: AttemptUsage, prices: PriceBook, sole: InstanceLife | None = None,
    shared: bool = False,
) -> dict[str, Any]:
    """The compute cost row of a started attempt's container window (``_compute``)."""
    return as_row(_compute(a, prices, sole, shared))


def _compute(
    a: AttemptUsage, prices: PriceBook, sole: InstanceLife | None = None,
    shared: bool = False,
) -> CostValues:
    """The compute cost row of a started attempt's container window (priced, or unpriced).

    ``sole``: the attempt was the only job on this instance for its whole life; the container
    window is then charged the whole instance (share 1), and ``instance_idle_rows`` charge the
    rest of the instance's life. Otherwise the attempt pays its packing share: for good when
    ``shared`` (other jobs ran on the instance), else until the instance's life is known.
    """
    start = a.started_at
    if start is None:
        raise ValueError(f"attempt {a.job_id}#{a.attempt} never started: it has no compute cost")
    if a.stopped_at is None:
        return _unpriced(a, COMPUTE, start, None, "instance-h", "attempt has no stop time")
    if a.stopped_at < start:
        return _unpriced(
            a,
            COMPUTE,
            start,
            a.stopped_at,
            "instance-h",
            f"stopped_at {a.stopped_at.isoformat()} is before started_at",
        )
    if shared:  # EC2's 60 s minimum is the instance's; a task on it pays its own seconds
        end = a.stopped_at
    else:
        end = start + timedelta(seconds=billable_seconds(start, a.stopped_at))
    if not a.instance_type:
        return _unpriced(a, COMPUTE, start, end, "instance-h", "no instance type")
    if sole is not None:
        share: float | None = 1.0
        rule = (f"whole instance: the only job on {sole.instance_id} from launch to "
                "termination (EC2 bills the instance)")
    else:
        share = packing_share(a.vcpus, a.memory_mib, _instance(a, prices))
        rule = f"share {share:.4f} (9:1 vCPU:GiB)" if share is not None else ""
        if shared:
            rule += f"; {a.instance_id} was shared with other jobs"
        elif a.instance_id is None:
            rule += "; container window (the instance is not known)"
        else:
            rule += f"; container window until {a.instance_id}'s termination is known"
    if share is None:
        return _unpriced(
            a,
            COMPUTE,
            start,
            end,
            "instance-h",
            f"instance type {a.instance_type} has no vCPU/memory size for the share",
        )
    return _window_row(a, prices, COMPUTE, start, end, share, rule)


def _window_row(
    a: AttemptUsage,
    prices: PriceBook,
    component: str,
    start: datetime,
    end: datetime,
    share: float,
    rule: str,
) -> CostValues:
    """``share`` of the attempt's instance over [start, end), at the prices in effect then."""
    assert a.instance_type is not None
    seconds = (end - start).total_seconds()
    inst_hours = share * seconds / 3600
    if seconds <= 0:
        return _row(a, component, start=start, end=end, quantity=0.0, unit="instance-h",
                    rate=None, cost=0.0, source=rule, status="list")
    if a.capacity == "spot":
        pieces = prices.spot_segments(a.instance_type, start, end, a.region)
        if pieces is None:
            return _unpriced(
                a,
                component,
                start,
                end,
                "instance-h",
                f"no Spot price for {a.instance_type} in {a.region} over "
                f"{start:%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M}Z",
                quantity=inst_hours,
            )
        full = sum(p.usd * (t1 - t0).total_seconds() / 3600 for t0, t1, p in pieces)
        cost = share * full
        used = [p for _, _, p in pieces]
        refs = used[0].ref + (
            f" (+{len({p.ref for p in used}) - 1} later)" if len(used) > 1 else ""
        )
        rate = full / (seconds / 3600)  # the instance's average $/h over the window
    elif a.capacity == "on-demand":
        price = prices.on_demand(a.instance_type, start, a.region)
        if price is None:
            return _unpriced(
                a,
                component,
                start,
                end,
                "instance-h",
                f"no On-Demand price for {a.instance_type} in {a.region} on {start:%Y-%m-%d}",
                quantity=inst_hours,
            )
        used, refs, rate = [price], price.ref, price.usd
        cost = inst_hours * price.usd
    else:
        return _unpriced(
            a,
            component,
            start,
            end,
            "instance-h",
            f"capacity {a.capacity!r} is neither spot nor on-demand",
        )
    return _row(
        a,
        component,
        start=start,
        end=end,
        quantity=inst_hours,
        unit="instance-h",
        rate=rate,
        cost=cost,
        source=f"{refs}; {rule}",
        status=_status(used),
    )


def instance_idle_rows(
    a: AttemptUsage, prices: PriceBook, life: InstanceLife, sole: bool
) -> list[dict[str, Any]]:
    """The boot and idle compute rows of an attempt's instance (``_idle``)."""
    return [as_row(v) for v in _idle(a, prices, life, sole)]


def _idle(
    a: AttemptUsage, prices: PriceBook, life: InstanceLife, sole: bool
) -> list[CostValues]:
    """The instance's time around the attempt's container: boot (launch → container start) and
    idle (container stop → termination, Batch's scale-down), as two compute rows.

    Charged whole to the attempt when it was the instance's only job (``sole``); otherwise both
    rows are zero, saying that the instance was shared and its idle time is unused capacity
    (rows are always written, so a restatement replaces an earlier one either way).
    """
    if a.started_at is None or a.stopped_at is None or a.stopped_at < a.started_at:
        return []
    container_end = a.started_at + timedelta(seconds=billable_seconds(a.started_at, a.stopped_at))
    windows = (
        (INSTANCE_BOOT, life.launched_at, a.started_at, "boot: launch to container start"),
        (INSTANCE_IDLE, container_end, life.ended_at, "idle: container stop to termination"),
    )
    rows = []
    for component, t0, t1, what in windows:
        if t0 is None or t1 is None:
            continue
        t1 = max(t0, t1)
        if not sole or not a.instance_type:
            why = (f"{what}; {life.instance_id} was shared: its idle time is unused capacity"
                   if a.instance_type else f"{what}; no instance type")
            rows.append(_row(a, component, start=t0, end=t1, quantity=0.0, unit="instance-h",
                             rate=None, cost=0.0 if a.instance_type else None, source=why,
                             status="list" if a.instance_type else "unpriced"))
            continue
        rows.append(_window_row(a, prices, component, t0, t1, 1.0,
                                f"{what} of {life.instance_id}, the only job on it"))
    return rows


def instance_compute_rows(
    a: AttemptUsage, prices: PriceBook, life: InstanceLife, sole: bool
) -> list[dict[str, Any]]:
    """The compute rows of an attempt once its instance's life is known: the container window
    (whole instance if ``sole``, else the packing share) and the boot and idle rows."""
    if a.started_at is None:
        return []
    return [compute_row(a, prices, life if sole else None, shared=not sole),
            *instance_idle_rows(a, prices, life, sole)]


def licence_row(a: AttemptUsage, prices: PriceBook) -> dict[str, Any] | None:
    """The DRAGEN licence row of a started, licensed attempt (``_licence``)."""
    values = _licence(a, prices)
    return None if values is None else as_row(values)


def _licence(a: AttemptUsage, prices: PriceBook) -> CostValues | None:
    """The DRAGEN licence row of a started, licensed attempt, by the licence model in force."""
    if not a.licensed or a.started_at is None:
        return None
    terms, start, end = a.licence, a.started_at, a.stopped_at
    unit = terms.spec.unit
    failed = a.finished is False
    if terms.model == PER_SAMPLE:
        quantity: float | None = 1.0
    elif terms.model == PER_INSTANCE_HOUR:
        if end is None or end < start:
            return _unpriced(a, LICENCE, start, end, unit, "attempt has no valid stop time")
        quantity = billable_seconds(start, end) / 3600
    elif a.input_bases is None:
        return _unpriced(a, LICENCE, start, end, unit, "input bases unknown")
    else:
        quantity = a.input_bases / 1e9
    rule = f"{terms.model}; "
    if terms.spec.item is None:  # prepaid
        return _row(a, LICENCE, start=start, end=end, quantity=quantity, unit=unit, rate=0.0,
                    cost=0.0, source=rule + "prepaid: no marginal cost", status="list")
    if failed and terms.failed_rule == FREE or (terms.model == PER_SAMPLE and a.finished is None):
        why = ("not metered: the attempt did not finish (" + terms.failed_why + ")" if failed
               else "not metered until the run completes")
        return _row(a, LICENCE, start=start, end=end, quantity=quantity, unit=unit, rate=0.0,
                    cost=0.0, source=rule + why, status="list")
    price = prices.service(terms.spec.item, start, a.region)
    if price is None:
        return _unpriced(a, LICENCE, start, end, unit,
                         f"no {terms.model} licence rate configured (seqledger ingest prices "
                         "--licence-model … --licence-rate-usd …)", quantity=quantity)
    if failed:
        rule += f"metered although the attempt did not finish ({terms.failed_why}); "
    return _row(
        a,
        LICENCE,
        start=start,
        end=end,
        quantity=quantity,
        unit=unit,
        rate=price.usd,
        cost=quantity * price.usd,
        source=rule + price.ref,
        status=_status([price]),
    )


def scratch_row(a: AttemptUsage, prices: PriceBook) -> dict[str, Any] | None:
    """The scratch volume row of a started attempt with scratch (``_scratch``)."""
    values = _scratch(a, prices)
    return None if values is None else as_row(values)


def _scratch(a: AttemptUsage, prices: PriceBook) -> CostValues | None:
    """The scratch volume row of a started attempt with scratch, prorated per second."""
    if a.scratch_gb <= 0 or a.started_at is None:
        return None
    start = a.started_at
    if a.stopped_at is None or a.stopped_at < start:
        return _unpriced(
            a, SCRATCH, start, a.stopped_at, "GB-month", "attempt has no valid stop time"
        )
    seconds = billable_seconds(start, a.stopped_at)
    gb_month = a.scratch_gb * seconds / (HOURS_PER_MONTH * 3600)
    price = prices.service(f"ebs-{a.scratch_volume}", start, a.region)
    end = start + timedelta(seconds=seconds)
    if price is None:
        return _unpriced(
            a,
            SCRATCH,
            start,
            end,
            "GB-month",
            f"no price for EBS {a.scratch_volume}",
            quantity=gb_month,
        )
    return _row(
        a,
        SCRATCH,
        start=start,
        end=end,
        quantity=gb_month,
        unit="GB-month",
        rate=price.usd,
        cost=gb_month * price.usd,
        source=price.ref,
        status=_status([price]),
    )


def estimate_attempt_cost(attempt: AttemptUsage, prices: PriceBook) -> list[dict[str, Any]]:
    """Rows for the ``costs`` table: compute, licence and scratch of one finished attempt.

    An attempt that never started (no ``started_at``) ran nothing and has no rows.
    """
    return [as_row(v) for v in attempt_cost_values(attempt, prices)]


def attempt_cost_values(attempt: AttemptUsage, prices: PriceBook) -> list[CostValues]:
    """``estimate_attempt_cost`` as values in ``COST_COLUMNS`` order: a batch's attempts are
    gathered as columns, not as a dict per row."""
    if attempt.started_at is None:
        return []
    rows = [
        _compute(attempt, prices),
        _licence(attempt, prices),
        _scratch(attempt, prices),
    ]
    return [r for r in rows if r is not None]


# -- queries and automation --------------------------------------------------------------------

MB = 2**20
TB = 2**40
ATHENA_MIN_BYTES = 10 * MB


@dataclass(frozen=True, slots=True)
class CostLine:
    """A modelled monthly cost (not tied to an attempt): what, how much, at what price."""

    item: str
    quantity: float
    unit: str
    rate_usd: float | None
    cost_usd: float | None
    price_status: str
    price_source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "quantity": self.quantity,
            "unit": self.unit,
            "rate_usd": self.rate_usd,
            "cost_usd": self.cost_usd,
            "price_status": self.price_status,
            "price_source": self.price_source,
        }


def athena_billed_bytes(bytes_scanned: int) -> int:
    """Bytes Athena bills for one query: rounded up to the MB, at least 10 MB."""
    return max(ATHENA_MIN_BYTES, math.ceil(max(0, bytes_scanned) / MB) * MB)


@dataclass(frozen=True, slots=True)
class QueryLoad:
    """A query the dashboards or reports run: bytes it scans and how often a month."""

    name: str
    bytes_scanned: int
    runs_per_month: float


def athena_monthly_cost(
    queries: list[QueryLoad], prices: PriceBook, at: datetime, region: str = DEFAULT_REGION
) -> list[CostLine]:
    """Athena's monthly cost of each query at 5 $/TB scanned with the 10 MB minimum."""
    price = prices.service("athena-scanned", at, region)
    out = []
    for q in queries:
        tb = athena_billed_bytes(q.bytes_scanned) * q.runs_per_month / TB
        if price is None:
            out.append(
                CostLine(
                    f"athena:{q.name}",
                    tb,
                    "TB",
                    None,
                    None,
                    "unpriced",
                    "unpriced: no Athena price",
                )
            )
        else:
            out.append(
                CostLine(
                    f"athena:{q.name}", tb, "TB", price.usd, tb * price.usd, price.status, price.ref
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class AutomationVolume:
    """The event volume of the S3 → SNS → Lambda → Batch and EventBridge → Lambda automation.

    Defaults follow DESIGN.md: about 500,000 Batch jobs and up to 4,000 WGS samples a month.
    """

    batch_jobs_per_month: int = 500_000
    state_changes_per_job: int = (
        6  # SUBMITTED … RUNNING, SUCCEEDED|FAILED, each an EventBridge event
    )
    samples_per_month: int = 4_000
    input_objects_per_sample: int = 10  # FASTQ pairs per lane, sample sheet
    lambda_memory_mb: int = 256
    lambda_avg_ms: float = 200.0
    custom_events_per_month: int = 0  # events seqledger puts on a bus itself (none by default)
    free_tier: bool = False  # Lambda and SNS free tiers (per account, so off by default)

    @property
    def object_events(self) -> int:
        return self.samples_per_month * self.input_objects_per_sample

    @property
    def job_events(self) -> int:
        return self.batch_jobs_per_month * self.state_changes_per_job


def automation_monthly_cost(
    volume: AutomationVolume, prices: PriceBook, at: datetime, region: str = DEFAULT_REGION
) -> list[CostLine]:
    """Lambda, SNS and EventBridge cost a month at ``volume`` (per-request prices)."""
    invocations = volume.object_events + volume.job_events
    gb_s = invocations * volume.lambda_memory_mb / 1024 * volume.lambda_avg_ms / 1000
    publishes = volume.object_events
    if volume.free_tier:
        invocations_billed = max(0, invocations - 1_000_000)
        gb_s_billed = max(0.0, gb_s - 400_000)
        publishes_billed = max(0, publishes - 1_000_000)
    else:
        invocations_billed, gb_s_billed, publishes_billed = invocations, gb_s, publishes
    items = [
        ("lambda-requests", invocations_billed / 1e6, "1M requests"),
        ("lambda-duration", gb_s_billed, "GB-s"),
        ("sns-publish", publishes_billed / 1e6, "1M requests"),
        ("sns-lambda-delivery", publishes / 1e6, "1M requests"),
        ("eventbridge-aws-event", volume.job_events / 1e6, "1M events"),
        ("eventbridge-custom-event", volume.custom_events_per_month / 1e6, "1M events"),
    ]
    out = []
    for item, qty, unit in items:
        price = prices.service(item, at, region)
        if price is None:
            out.append(
                CostLine(item, qty, unit, None, None, "unpriced", f"unpriced: no price for {item}")
            )
        else:
            out.append(
                CostLine(item, qty, unit, price.usd, qty * price.usd, price.status, price.ref)
            )
    return out
