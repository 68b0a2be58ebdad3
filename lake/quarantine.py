"""Quarantine rows: every input that could not be processed is kept, with the reason."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from lake.errors import ParseError, SeqledgerError

PAYLOAD_LIMIT = 4096
TEXT_LIMIT = 2048  # a source or reason longer than this is an input's text, not a name


def safe_text(value: Any, limit: int) -> str:
    """``value`` as text the lake can always store: valid UTF-8, at most ``limit`` characters.

    What makes an input bad often travels into its quarantine row (a lone surrogate in a key, an
    undecodable file name, a 50 MB line), so the row must never fail on what it holds: bytes are
    decoded with replacement, unencodable characters are escaped (``\\ud800``), and the text is
    cut to ``limit`` with a note of how long it was.
    """
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes | bytearray) \
        else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text)} characters)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text


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
    source, reason = safe_text(source, TEXT_LIMIT), safe_text(reason, TEXT_LIMIT)
    if payload is not None:
        payload = safe_text(payload[:PAYLOAD_LIMIT], PAYLOAD_LIMIT)
    if line is not None and not 0 <= line < 2**31:  # the column is int32
        line = None
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
