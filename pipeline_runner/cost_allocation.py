"""Cost-allocation tags activated in Billing, so the tags on every job appear in the bill.

AWS puts a user tag into the Cost and Usage Report (CUR 2.0's ``resource_tags``) only once it is
activated as a cost-allocation tag, and a tag can be activated only after Billing has seen it on
a resource (up to 24 hours after the first tagged usage). ``activate`` asks Cost Explorer which of
our tags it knows and activates those not yet active, in batches of 20 (the API's limit); tags
Billing has not seen yet are reported, not guessed at. The API lives in us-east-1 only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline_runner.records import REQUIRED_TAGS

BATCH = 20  # UpdateCostAllocationTagsStatus takes 1 to 20 tags per call
LIST_MAX = 100  # ListCostAllocationTags takes at most 100 tag keys


@dataclass(frozen=True, slots=True)
class Activation:
    """What became of each tag key."""

    activated: tuple[str, ...]
    already_active: tuple[str, ...]
    not_seen: tuple[str, ...]  # Billing has not seen the tag on any resource yet
    failed: tuple[tuple[str, str], ...]  # (tag, AWS's code and message)


def batches(keys: Sequence[str], size: int = BATCH) -> list[list[str]]:
    return [list(keys[i:i + size]) for i in range(0, len(keys), size)]


def _statuses(ce: Any, keys: Sequence[str]) -> dict[str, str]:
    """``{tag: Active | Inactive}`` for the user-defined tags Billing knows among ``keys``."""
    found: dict[str, str] = {}
    for chunk in batches(keys, LIST_MAX):
        token = None
        while True:
            kwargs: dict[str, Any] = {"TagKeys": chunk, "Type": "UserDefined",
                                      "MaxResults": LIST_MAX}
            if token:
                kwargs["NextToken"] = token
            page = ce.list_cost_allocation_tags(**kwargs)
            found |= {t["TagKey"]: t["Status"] for t in page.get("CostAllocationTags", [])}
            token = page.get("NextToken")
            if not token:
                break
    return found


def activate(ce: Any, keys: Iterable[str] = REQUIRED_TAGS) -> Activation:
    """Activate ``keys`` (default: every tag seqledger puts on jobs) as cost-allocation tags."""
    keys = list(dict.fromkeys(keys))
    known = _statuses(ce, keys)
    active = [k for k in keys if known.get(k) == "Active"]
    todo = [k for k in keys if known.get(k) == "Inactive"]
    unseen = [k for k in keys if k not in known]
    failed: list[tuple[str, str]] = []
    for chunk in batches(todo):
        answer = ce.update_cost_allocation_tags_status(
            CostAllocationTagsStatus=[{"TagKey": k, "Status": "Active"} for k in chunk])
        failed += [(e["TagKey"], f"{e.get('Code', '')}: {e.get('Message', '')}".strip(": "))
                   for e in answer.get("Errors", [])]
    bad = {k for k, _ in failed}
    return Activation(tuple(k for k in todo if k not in bad), tuple(active), tuple(unseen),
                      tuple(failed))


def describe(a: Activation) -> list[str]:
    """Lines for a person, one per outcome that happened."""
    lines = []
    if a.activated:
        lines.append(f"activated: {', '.join(a.activated)}")
    if a.already_active:
        lines.append(f"already active: {', '.join(a.already_active)}")
    if a.not_seen:
        lines.append(f"not seen by Billing yet: {', '.join(a.not_seen)} (a tag can be activated "
                     "up to 24 h after the first tagged job runs: run this again then)")
    lines += [f"failed: {k}: {why}" for k, why in a.failed]
    return lines
