"""AWS Lambda entry points: thin functions over the event service.

- ``on_object_created``: the dispatcher (input bucket → SNS → SQS → Lambda, or SNS → Lambda).
- ``on_job_state_change``: the recorder (EventBridge "Batch Job State Change" → Lambda; also
  "EC2 Instance State-change Notification", the lives of the instances jobs run on).
- ``compact_lake``: scheduled compaction of the current and previous month.
- ``load_billing_exports``: scheduled load of new billing export files (``ingest.cur_exports``).

Terminal problems (a malformed event, an unknown file) are quarantined in the lake and the
invocation succeeds, so nothing retries what cannot work. Transient ones (throttling, a 5xx or a
timeout from Batch or the lake) are never quarantined:

- an SQS batch answers ``{"batchItemFailures": [{"itemIdentifier": messageId}, …]}`` with the
  messages that failed transiently (the event source mapping has ``ReportBatchItemFailures``):
  SQS redelivers those alone and, after the queue's ``maxReceiveCount``, its DLQ keeps them;
- any other invocation (SNS, EventBridge) raises, so Lambda's asynchronous retries run and its
  dead-letter queue catches the rest.
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


def _summary(outs: list[Any]) -> dict[str, Any]:
    summary = {
        "payloads": sum(o.payloads for o in outs),
        "objects": sum(o.objects for o in outs),
        "objects_new": sum(len(o.objects_new) for o in outs),
        "non_inputs": sum(len(o.non_inputs) for o in outs),
        "arrivals_written": sum(o.arrivals_written for o in outs),
        "dispatched": [r for o in outs for r in o.runs_dispatched],
        "waiting": {f"{w.label} ({w.input_kind})": list(w.missing)
                    for o in outs for w in o.waiting},
        "retried": [s.job_name for o in outs if o.track for s in o.track.submitted],
        "job_changes": sum(o.job_changes for o in outs),
        "finished_runs": [r.run_id for o in outs for r in o.finished],
        "quarantined": sum(len(o.quarantine) for o in outs),
    }
    print(json.dumps({"seqledger": summary}))  # one JSON log line per invocation
    return summary


def _process(service: Any, source: str, event: Any) -> Any:
    """One payload through the service; a transient outcome or storage error raises."""
    return _process_all(service, [(source, event)])


def _process_all(service: Any, payloads: list[tuple[str, Any]]) -> Any:
    try:
        out = service.process(payloads)
    except OSError as e:  # the lake's storage: reads and listings raise OSError
        raise TransientError(f"{payloads[0][0]}…: lake storage: {e}") from e
    if out.transient:
        raise TransientError("; ".join(out.transient))
    return out


def _sqs_records(event: Any) -> list[dict[str, Any]] | None:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return None
    if all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" and r.get("messageId")
           for r in records):
        return records
    return None


def _handle(event: dict[str, Any], context: Any, kind: str) -> dict[str, Any]:
    from ingest.assembly import build_event_service

    def fresh_service() -> Any:
        try:
            return build_event_service(Settings.from_env())
        except OSError as e:  # the lake's storage (the price book is read from it)
            raise TransientError(f"lake storage: {e}") from e

    service = fresh_service()
    source = _source(context, kind)
    records = _sqs_records(event)
    if records is None:
        return _summary([_process(service, source, event)])
    messages = [(f"{source}#{r['messageId']}", {"Records": [r]}) for r in records]
    try:  # the whole batch at once: one lake write per table
        out = _process_all(service, messages)
        _summary([out])
        return {"batchItemFailures": []}
    except TransientError as e:
        print(json.dumps({"seqledger": {"batch_retry_per_message": str(e)}}))
    # Something failed transiently: once more one message at a time, so that only the messages
    # that fail again go back to the queue. What the batch already did is found, not redone
    # (keyed lake writes, claimed attempts); the service keeps what it read, so a sample's
    # mates in one batch still meet.
    service = None
    outs, failures = [], []
    for record in records:
        message_id = record["messageId"]
        try:
            service = service or fresh_service()
            outs.append(_process(service, f"{source}#{message_id}", {"Records": [record]}))
        except TransientError as e:
            print(json.dumps({"seqledger": {"retry": message_id, "error": str(e)}}))
            failures.append({"itemIdentifier": message_id})
            service = None  # what it had read may be half-read: the next message starts afresh
    _summary(outs)
    return {"batchItemFailures": failures}


def on_object_created(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Record arrivals and dispatch the samples they complete.

    Returns the invocation's summary, or for an SQS batch its ``batchItemFailures``.
    """
    return _handle(event, context, "object-created")


def on_job_state_change(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Track a Batch job's state change (retry by policy; price and load finished runs) or an
    EC2 instance's (record its life; price again the attempts on an instance that ended).

    Raises:
        TransientError: Batch or the lake failed in a way a retry may fix (Lambda retries).
    """
    return _handle(event, context, "job-state-change")


def compact_lake(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    """Compact every table's current and previous month into one file each."""
    from lake.errors import LockBusy
    from lake.schemas import TABLES
    from lake.store import LakeStore

    store = LakeStore(Settings.from_env())
    now = datetime.now(UTC)
    months = sorted(
        {now.strftime("%Y-%m"), (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")}
    )
    done, skipped = {}, []
    for name in TABLES:
        for m in months:
            try:
                done[f"{name}/{m}"] = store.compact(name, m, wait_s=10)
            except LockBusy as e:  # an overlapping run holds it; the next schedule catches up
                print(json.dumps({"seqledger": {"compaction_skipped": str(e)}}))
                skipped.append(f"{name}/{m}")
    result: dict[str, Any] = {
        k: {"files_before": b, "files_after": a} for k, (b, a) in done.items() if b != a}
    if skipped:
        result["skipped"] = skipped
    return result


def load_billing_exports(event: dict[str, Any] | None = None, context: Any = None
                         ) -> dict[str, Any]:
    """Load the billing export files under ``SEQLEDGER_BILLING_EXPORTS`` not loaded yet.

    A file refused whole is quarantined and tried again on the next schedule; a storage error
    raises, so Lambda's retries and dead-letter queue take over.
    """
    from ingest.cur_exports import load_new_exports
    from lake.errors import ConfigError
    from lake.store import LakeStore

    settings = Settings.from_env()
    if not settings.billing_exports:
        raise ConfigError("SEQLEDGER_BILLING_EXPORTS is not set: the s3:// prefix the billing "
                          "export writes to")
    done = load_new_exports(LakeStore(settings), settings.billing_exports)
    result = {"listed": done.listed, "loaded": list(done.loaded), "refused": list(done.refused),
              "rows_loaded": done.rows_loaded, "quarantined": done.quarantined}
    print(json.dumps({"seqledger": {"billing_exports": result}}))
    return result
