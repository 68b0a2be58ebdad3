"""What a run's outputs cost to keep, month by month, under the tag-driven S3 lifecycle.

Outputs are tagged when a run finishes (``lifecycle_tags``): alignments and raw reads get
``seqledger:archive=true`` and move to Glacier Deep Archive after N days; VCFs, metrics, reports
and lake Parquet get ``seqledger:archive=false`` and stay in S3 Standard. Every output also gets
``seqledger:data-class`` (alignment, reads, variants, metrics, report, table, other). These are
the tags the buckets' lifecycle rules in ``infra/seqledger.yaml`` filter on, and the same policy
object yields that configuration (``s3_lifecycle_configuration``), so what is modelled is what is
deployed.

Billing rules followed (S3):
- a transition happens N days after creation, rounded up to the next midnight UTC;
- storage is billed in GB-months: byte-hours / 2^30 / hours in that calendar month;
- deleting (or expiring) an object before a class's minimum storage duration is charged as if it
  stayed the minimum (an early-deletion row);
- each lifecycle transition is a request, priced per 1,000 (only Deep Archive's is in the tables;
  others come out ``unpriced``).
Ignored, being negligible for genome-sized objects: the 40 KB per-object index overhead in the
Glacier classes and the 128 KB minimum object size of Standard-IA/Glacier IR.
A run's bill is priced at each class's first price tier (tiers apply per account and month).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_runner.prices import DEFAULT_REGION, PriceBook
from pipeline_runner.records import REQUIRED_TAGS

GIB = 2**30
ARCHIVE_TAG = "seqledger:archive"  # "true": may go cold (the bucket rule's tag filter)
DATA_CLASS_TAG = "seqledger:data-class"
STANDARD, DEEP_ARCHIVE = "STANDARD", "DEEP_ARCHIVE"

# Output kinds by name ending; the first match wins. Raw reads and alignments can be re-derived or
# are rarely read again: archive. Variant calls, metrics, reports and lake tables are read: keep.
DATA_CLASSES = (
    ("alignment", (".bam", ".bam.bai", ".cram", ".cram.crai"), True),
    ("reads", (".fastq.gz", ".fq.gz", ".fastq.ora", ".ora"), True),
    ("variants", (".vcf.gz", ".vcf.gz.tbi", ".gvcf.gz", ".g.vcf.gz"), False),
    ("table", (".parquet",), False),
    ("metrics", (".csv", ".json", ".tab"), False),
    ("report", (".html", ".txt", ".log", ".pdf"), False),
)


@dataclass(frozen=True, slots=True)
class Transition:
    after_days: int
    storage_class: str


@dataclass(frozen=True, slots=True)
class LifecycleRule:
    """An S3 lifecycle rule filtered on object tags (all must match)."""

    rule_id: str
    tags: Mapping[str, str]
    transitions: tuple[Transition, ...] = ()
    expiration_days: int | None = None

    def matches(self, object_tags: Mapping[str, str]) -> bool:
        return all(object_tags.get(k) == v for k, v in self.tags.items())


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """Rules in order; an object follows the first rule its tags match (none: stays in Standard)."""

    rules: tuple[LifecycleRule, ...]

    def rule_for(self, object_tags: Mapping[str, str]) -> LifecycleRule | None:
        return next((r for r in self.rules if r.matches(object_tags)), None)


def default_policy(archive_after_days: int = 30) -> LifecyclePolicy:
    """``seqledger:archive=true`` → Deep Archive after N days; everything else stays in Standard."""
    if archive_after_days < 0:
        raise ValueError("archive_after_days must be >= 0")
    return LifecyclePolicy((
        LifecycleRule("archive-tagged", {ARCHIVE_TAG: "true"},
                      (Transition(archive_after_days, DEEP_ARCHIVE),)),
    ))


def lifecycle_tags(key: str) -> dict[str, str]:
    """The object tags an output gets, from its name: archive or not, and its data class."""
    name = key.lower()
    for data_class, suffixes, archive in DATA_CLASSES:
        if name.endswith(suffixes):
            return {ARCHIVE_TAG: "true" if archive else "false", DATA_CLASS_TAG: data_class}
    return {ARCHIVE_TAG: "false", DATA_CLASS_TAG: "other"}


def s3_lifecycle_configuration(policy: LifecyclePolicy) -> dict[str, Any]:
    """The ``LifecycleConfiguration`` body of S3 PutBucketLifecycleConfiguration for ``policy``."""
    rules = []
    for r in policy.rules:
        tags = [{"Key": k, "Value": v} for k, v in r.tags.items()]
        filt: dict[str, Any] = {"Tag": tags[0]} if len(tags) == 1 else {"And": {"Tags": tags}}
        rule: dict[str, Any] = {"ID": r.rule_id, "Status": "Enabled", "Filter": filt}
        if r.transitions:
            rule["Transitions"] = [
                {"Days": t.after_days, "StorageClass": t.storage_class} for t in r.transitions
            ]
        if r.expiration_days is not None:
            rule["Expiration"] = {"Days": r.expiration_days}
        if r.transitions or r.expiration_days is not None:
            rules.append(rule)
    return {"Rules": rules}


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An output object of a run."""

    key: str
    size_bytes: int
    created_at: datetime
    tags: Mapping[str, str] = field(default_factory=dict)
    deleted_at: datetime | None = None


def lifecycle_time(created_at: datetime, days: int) -> datetime:
    """When S3 acts on a rule of ``days``: creation + days, rounded up to the next midnight UTC."""
    t = created_at.astimezone(UTC) + timedelta(days=days)
    midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == t else midnight + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Stay:
    """An object's time in one storage class."""

    storage_class: str
    start: datetime
    end: datetime
    transitioned_in: bool  # entered this class by a lifecycle transition
    ended_by_delete: bool


def object_timeline(obj: StoredObject, policy: LifecyclePolicy, until: datetime) -> list[Stay]:
    """The classes ``obj`` is in from its creation to ``until`` (or its deletion or expiry)."""
    rule = policy.rule_for(obj.tags)
    end = until
    deleted = False
    if obj.deleted_at is not None and obj.deleted_at < end:
        end, deleted = obj.deleted_at, True
    if rule is not None and rule.expiration_days is not None:
        expiry = lifecycle_time(obj.created_at, rule.expiration_days)
        if expiry < end:
            end, deleted = expiry, True
    if end <= obj.created_at:
        return []
    moves = sorted(
        (lifecycle_time(obj.created_at, t.after_days), t.storage_class)
        for t in (rule.transitions if rule else ())
    )
    stays, cls, start, moved = [], STANDARD, obj.created_at, False
    for at, to in moves:
        if at >= end:
            break
        if at > start:
            stays.append(Stay(cls, start, at, moved, False))
        cls, start, moved = to, at, True
    stays.append(Stay(cls, start, end, moved, deleted))
    return stays


def _month_start(t: datetime) -> datetime:
    return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(t: datetime) -> datetime:
    m = _month_start(t)
    return m.replace(year=m.year + 1, month=1) if m.month == 12 else m.replace(month=m.month + 1)


def month_slices(start: datetime, end: datetime) -> Iterable[tuple[datetime, datetime, datetime]]:
    """(month start, slice start, slice end) for each calendar month [start, end) touches."""
    t = start
    while t < end:
        nxt = _next_month(t)
        yield _month_start(t), t, min(nxt, end)
        t = nxt


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


@dataclass
class _Bucket:
    quantity: float = 0.0
    start: datetime | None = None
    end: datetime | None = None

    def add(self, qty: float, start: datetime, end: datetime) -> None:
        self.quantity += qty
        self.start = start if self.start is None else min(self.start, start)
        self.end = end if self.end is None else max(self.end, end)


def estimate_run_storage(
    run_id: str,
    tags: Mapping[str, str],
    objects: Sequence[StoredObject],
    prices: PriceBook,
    until: datetime,
    policy: LifecyclePolicy | None = None,
    region: str = DEFAULT_REGION,
) -> list[dict[str, Any]]:
    """``costs`` rows for a run's outputs from creation to ``until``: one per class and month.

    Components: ``storage:<CLASS>:<YYYY-MM>`` (GB-month), ``storage_transition:<CLASS>:<YYYY-MM>``
    (1K requests) and ``storage_early_delete:<CLASS>:<YYYY-MM>`` (GB-month charged for the rest of
    a minimum duration). Rows belong to the run: ``job_id`` = run id, ``attempt`` = 0. The month
    holding ``until`` is partial; estimate again with a later ``until`` to extend it.
    """
    policy = policy or default_policy()
    stored: dict[tuple[str, datetime], _Bucket] = {}
    transitions: dict[tuple[str, datetime], _Bucket] = {}
    early: dict[tuple[str, datetime], _Bucket] = {}
    for obj in objects:
        gib = obj.size_bytes / GIB
        for stay in object_timeline(obj, policy, until):
            for month, s0, s1 in month_slices(stay.start, stay.end):
                hours_in_month = _hours(month, _next_month(month))
                stored.setdefault((stay.storage_class, month), _Bucket()).add(
                    gib * _hours(s0, s1) / hours_in_month, s0, s1
                )
            if stay.transitioned_in:
                transitions.setdefault(
                    (stay.storage_class, _month_start(stay.start)), _Bucket()
                ).add(1 / 1000, stay.start, stay.start)
            minimum = timedelta(days=prices.min_storage_days.get(stay.storage_class, 0))
            if stay.ended_by_delete and stay.end - stay.start < minimum:
                owed_until = stay.start + minimum
                month = _month_start(stay.end)
                early.setdefault((stay.storage_class, month), _Bucket()).add(
                    gib * _hours(stay.end, owed_until) / _hours(month, _next_month(month)),
                    stay.end,
                    owed_until,
                )
    rows = []
    for kind, buckets, unit in (
        ("storage", stored, "GB-month"),
        ("storage_transition", transitions, "1K requests"),
        ("storage_early_delete", early, "GB-month"),
    ):
        for (cls, month), b in sorted(buckets.items()):
            assert b.start is not None
            if kind == "storage_transition":
                price = prices.service(
                    f"s3-transition-{cls.lower().replace('_', '-')}", b.start, region
                )
            else:
                price = prices.storage(cls, b.start, region)
            row = {k: tags.get(k) for k in REQUIRED_TAGS}
            row.update(
                job_id=run_id,
                attempt=0,
                component=f"{kind}:{cls}:{month:%Y-%m}",
                usage_start_at=b.start,
                usage_end_at=b.end,
                quantity=b.quantity,
                quantity_unit=unit,
                capacity=None,
                instance_type=None,
            )
            if row["run_id"] is None:
                row["run_id"] = run_id
            if price is None:
                row.update(
                    rate_usd=None,
                    cost_usd=None,
                    price_status="unpriced",
                    price_source=f"unpriced: no {kind} price for {cls} in {region} on "
                    f"{b.start:%Y-%m-%d}",
                )
            else:
                row.update(
                    rate_usd=price.usd,
                    cost_usd=b.quantity * price.usd,
                    price_status="approximate" if price.status != "list" else "list",
                    price_source=price.ref,
                )
            rows.append(row)
    return rows


def all_standard_cost(
    rows: Sequence[Mapping[str, Any]], prices: PriceBook, region: str = DEFAULT_REGION
) -> float | None:
    """What the same GB-months would have cost in S3 Standard (the baseline of archival savings)."""
    total = 0.0
    for r in rows:
        if not str(r["component"]).startswith("storage:"):
            continue
        price = prices.storage(STANDARD, r["usage_start_at"], region)
        if price is None:
            return None
        total += r["quantity"] * price.usd
    return total
