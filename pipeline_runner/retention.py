"""A project's retention policy: which of its objects may go cold, how long they stay in
Standard first, and which class they go to; and the object tags that say so.

S3 lifecycle rules cannot read a number from a tag, so the buckets carry one rule per *tier*
(a class and a number of days, ``STACK_TIERS``) filtered on ``seqledger:archive=<tier id>``.
A project's policy must name one of those tiers: a policy the stack cannot carry out is refused
when the projects file is read, not discovered months later on the bill.

    [projects.cardio-wgs.retention]
    archive = ["alignment", "reads"]   # data classes (pipeline_runner.storage.DATA_CLASSES)
    standard_days = 30
    then = "DEEP_ARCHIVE"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lake.errors import ConfigError
from pipeline_runner.storage import (
    ARCHIVE_TAG,
    DATA_CLASS_TAG,
    DATA_CLASSES,
    LifecyclePolicy,
    LifecycleRule,
    Transition,
    lifecycle_tags,
)

# The tiers the stack's lifecycle rules implement (infra/seqledger.yaml, InputBucket and
# ResultsBucket; tests/infra checks both say the same). Adding one means adding its rule there.
STACK_TIERS: tuple[tuple[str, int], ...] = (
    ("DEEP_ARCHIVE", 30),
    ("DEEP_ARCHIVE", 90),
    ("DEEP_ARCHIVE", 180),
    ("GLACIER_IR", 30),
    ("GLACIER", 90),
)
KNOWN_DATA_CLASSES = tuple(c for c, _, _ in DATA_CLASSES) + ("other",)
# The classes archived when a project states no policy: raw reads and alignments can be
# re-derived or are rarely read again; variant calls, metrics and reports are read.
DEFAULT_ARCHIVED = tuple(c for c, _, archive in DATA_CLASSES if archive)


def tier_id(storage_class: str, days: int) -> str:
    """The ``seqledger:archive`` tag value of a tier, e.g. ``deep-archive-30d``."""
    return f"{storage_class.lower().replace('_', '-')}-{days}d"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    archive: tuple[str, ...] = DEFAULT_ARCHIVED
    standard_days: int = 30
    then: str = "DEEP_ARCHIVE"

    @property
    def tier(self) -> str:
        return tier_id(self.then, self.standard_days)

    def tags_for(self, key: str) -> dict[str, str]:
        """The object tags of ``key`` under this policy: its data class and tier (or "false")."""
        data_class = lifecycle_tags(key)[DATA_CLASS_TAG]
        cold = data_class in self.archive
        return {ARCHIVE_TAG: self.tier if cold else "false", DATA_CLASS_TAG: data_class}


DEFAULT_RETENTION = RetentionPolicy()


def stack_policy() -> LifecyclePolicy:
    """The lifecycle rules the stack deploys: one per tier, filtered on its tag value."""
    return LifecyclePolicy(tuple(
        LifecycleRule(f"archive-{tier_id(cls, days)}", {ARCHIVE_TAG: tier_id(cls, days)},
                      (Transition(days, cls),))
        for cls, days in STACK_TIERS
    ))


def parse_retention(entry: Mapping[str, Any], where: str) -> RetentionPolicy:
    """A policy from a ``[projects.X.retention]`` table; ``ConfigError`` naming ``where``."""
    unknown = set(entry) - {"archive", "standard_days", "then"}
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {sorted(unknown)}")
    archive = entry.get("archive", list(DEFAULT_ARCHIVED))
    if not isinstance(archive, list) or not all(isinstance(a, str) for a in archive):
        raise ConfigError(f"{where}: archive must be a list of data classes")
    bad = sorted(set(archive) - set(KNOWN_DATA_CLASSES))
    if bad:
        raise ConfigError(f"{where}: unknown data class(es) {bad}; known: "
                          f"{', '.join(KNOWN_DATA_CLASSES)}")
    days = entry.get("standard_days", DEFAULT_RETENTION.standard_days)
    then = str(entry.get("then", DEFAULT_RETENTION.then)).upper()
    if not isinstance(days, int) or (then, days) not in STACK_TIERS:
        tiers = ", ".join(f"{c} after {d} days" for c, d in STACK_TIERS)
        raise ConfigError(
            f"{where}: the stack has no lifecycle rule for {then} after {days!r} days; use one "
            f"of: {tiers} (or add a tier to STACK_TIERS and infra/seqledger.yaml)")
    return RetentionPolicy(tuple(archive), days, then)
