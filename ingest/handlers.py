"""AWS Lambda entry points: thin functions over the event service.

- ``on_object_created``: the dispatcher (input bucket → SNS → Lambda, or an SQS batch).
- ``on_job_state_change``: the recorder (EventBridge "Batch Job State Change" → Lambda).
- ``compact_lake``: scheduled compaction of the current and previous month.

Terminal problems (a malformed event, an unknown file) are quarantined in the lake and the
invocation succeeds, so Lambda does not retry what cannot work. Transient ones (S3 throttling, a
Batch API error) raise, so Lambda retries and, in the end, sends the event to the dead-letter queue.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from lake.errors import TransientError
from lake.settings import Settings


def _source(context: Any, kind: str) -> str:
    request = getattr(context, "aws_request_id", None) or "local"
    return f"lambda:{kind}:{request}"


def _summary(out: Any) -> dict[str, Any]:
    summary = {
        "payloads": out.payloads,
        "objects": out.objects,
        "objects_new": len(out.objects_new),
        "non_inputs": len(out.non_inputs),
        "arrivals_written": out.arrivals_written,
        "dispatched": out.runs_dispatched,
        "waiting": {f"{w.label} ({w.input_kind})": list(w.missing) for w in out.waiting},
        "retried": [s.job_name for s in out.track.submitted] if out.track else [],
        "job_changes": out.job_changes,
        "finished_runs": [r.run_id for r in out.finished],
        "quarantined": len(out.quarantine),
    }
    print(json.dumps({"seqledger": summary}))  # one JSON log line per invocation
    return summary


def _handle(event: dict[str, Any], context: Any, kind: str) -> dict[str, Any]:
    from ingest.assembly import build_event_service

    service = build_event_service(Settings.from_env())
    out = service.process([(_source(context, kind), event)])
    if out.transient:
        raise TransientError("; ".join(out.transient))
    return _summary(out)


def on_object_created(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Record arrivals and dispatch the samples they complete."""
    return _handle(event, context, "object-created")


def on_job_state_change(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Track a Batch job's state change; retry by policy; price and load finished runs."""
    return _handle(event, context, "job-state-change")


def compact_lake(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    """Compact every table's current and previous month into one file each."""
    from lake.schemas import TABLES
    from lake.store import LakeStore

    store = LakeStore(Settings.from_env())
    now = datetime.now(UTC)
    months = sorted(
        {now.strftime("%Y-%m"), (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")}
    )
    done = {f"{name}/{m}": store.compact(name, m) for name in TABLES for m in months}
    return {k: {"files_before": b, "files_after": a} for k, (b, a) in done.items() if b != a}
