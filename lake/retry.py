"""Retrying transient storage errors with intent: backoff with full jitter, for a bounded time.

S3 answers 503 SlowDown and 500 under load, and connections reset; the SDK's own three attempts
(about 2.4 s) give up inside one short burst. A storage call is retried here until the settings'
``storage_retry_s`` is spent, then fails with one line naming the operation and the last error.
What retrying cannot fix (a missing file, access denied, a bad bucket name) fails at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from lake.errors import SeqledgerError

T = TypeVar("T")

FIRST_DELAY_S = 0.2
MAX_DELAY_S = 10.0
# Errors no retry can fix, as pyarrow's S3 client words them.
_PERMANENT = ("AccessDenied", "NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch",
              "HTTP status 403", "HTTP status 400", "HTTP status 404", "InvalidBucketName")


def is_transient(error: BaseException) -> bool:
    """Whether retrying ``error`` from the storage layer may succeed."""
    if not isinstance(error, OSError) or isinstance(
        error, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError
    ):
        return False
    text = str(error)
    return not any(p in text for p in _PERMANENT)


def delays(budget_s: float, rng: random.Random) -> list[float]:
    """The sleeps between attempts: exponential backoff, full jitter, summing to at most
    ``budget_s`` (so the last attempt starts before the budget is spent)."""
    out: list[float] = []
    ceiling, total = FIRST_DELAY_S, 0.0
    while True:
        wait = rng.uniform(ceiling / 2, ceiling)
        if total + wait > budget_s:
            return out
        out.append(wait)
        total += wait
        ceiling = min(ceiling * 2, MAX_DELAY_S)


def retrying(
    operation: Callable[[], T],
    *,
    what: str,
    budget_s: float,
    error: type[SeqledgerError],
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """``operation()``, retried on transient storage errors for up to ``budget_s`` seconds.

    Raises:
        error: ``what`` failed: at once for a permanent error, after the budget for a
            transient one (the message gives the attempts and the last error).
    """
    waits = delays(budget_s, rng or random.Random())
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation()
        except OSError as e:
            if not is_transient(e) or attempt > len(waits):
                detail = " ".join(str(e).split())[:300]
                tries = f" after {attempt} attempts in {budget_s:g} s" if is_transient(e) else ""
                raise error(f"{what} failed{tries}: {detail}") from e
            sleep(waits[attempt - 1])
