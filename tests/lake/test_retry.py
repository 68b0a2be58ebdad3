"""Retrying transient storage errors: backoff with jitter in a budget; permanent ones at once."""

from __future__ import annotations

import random

import pytest

from analytics.engine import redact
from lake.errors import ConfigError, LakeWriteError
from lake.retry import delays, is_transient, retrying
from lake.settings import Settings

S503 = "AWS Error SLOW_DOWN during GetFileInfo operation: HTTP status 503"


def test_permanent_errors_are_not_retried():
    calls = []

    def denied():
        calls.append(1)
        raise OSError("AWS Error ACCESS_DENIED during PutObject: AccessDenied HTTP status 403")

    with pytest.raises(LakeWriteError, match="writing x failed: AWS Error ACCESS_DENIED"):
        retrying(denied, what="writing x", budget_s=60, error=LakeWriteError,
                 sleep=lambda s: None)
    assert calls == [1]
    assert not is_transient(FileNotFoundError("x")) and is_transient(OSError(S503))


def test_backoff_grows_with_jitter_and_stays_in_the_budget():
    waits = delays(30, random.Random(1))
    assert sum(waits) <= 30 and len(waits) > 5
    assert waits[0] <= 0.2 and max(waits) <= 10
    assert waits != delays(30, random.Random(2))  # jittered


def test_the_retry_budget_is_a_setting():
    assert Settings.from_env({"SEQLEDGER_STORAGE_RETRY_S": "5"}).storage_retry_s == 5
    assert Settings.from_env({}).storage_retry_s == 60
    with pytest.raises(ConfigError, match="SEQLEDGER_STORAGE_RETRY_S='soon'"):
        Settings.from_env({"SEQLEDGER_STORAGE_RETRY_S": "soon"})


def test_redact_hides_a_secret_and_its_sql_spelling():
    secret = "abc'def/ghi+jkl"
    assert redact(f"near 'abc''def/ghi+jkl' and {secret}", [secret]) == "near '***' and ***"
