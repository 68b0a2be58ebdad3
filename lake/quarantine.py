"""Quarantine rows: every input that could not be processed is kept, with the reason."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from lake.errors import ParseError, SeqledgerError

PAYLOAD_LIMIT = 4096


def quarantine_row(
    stage: str,
    source: str,
    error: BaseException,
    *,
    payload: str | bytes | None = None,
    line: int | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A ``quarantine`` table row for ``error`` raised while processing ``source``."""
    if isinstance(error, ParseError):
        reason, line = error.reason, error.line if line is None else line
    else:
        reason = str(error) or type(error).__name__
    if isinstance(payload, bytes):
        payload = payload[:PAYLOAD_LIMIT].decode("utf-8", errors="replace")
    elif payload is not None:
        payload = payload[:PAYLOAD_LIMIT]
    digest = hashlib.sha256(f"{stage}\x1f{source}\x1f{line}\x1f{reason}".encode()).hexdigest()[:24]
    return {
        "quarantine_id": digest,
        "quarantined_at": at or datetime.now(UTC),
        "stage": stage,
        "source": source,
        "line": line,
        "error_type": type(error).__name__,
        "reason": reason,
        "retryable": bool(getattr(error, "retryable", False))
        if isinstance(error, SeqledgerError)
        else False,
        "payload": payload,
    }
