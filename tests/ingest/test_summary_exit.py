"""The exit status of ``seqledger ingest event`` (README: exit codes): 75 (EX_TEMPFAIL, as
``lake compact`` uses for a skipped partition) when a transient error deferred work, 1 when an
input was refused, 0 when everything was handled."""

from __future__ import annotations

from ingest.summary import EventSummary


def _summary(problems: list[str], transient: list[str]) -> EventSummary:
    s = EventSummary()
    s.problems += problems
    s.transient += transient
    return s


def test_everything_handled_is_0():
    assert _summary([], []).exit_code == 0


def test_a_refused_input_is_1():
    assert _summary(["in/x.json: not an event"], []).exit_code == 1


def test_a_transient_error_is_75_even_beside_a_refused_input():
    throttled = "run r1: resubmitting attempt 2 failed: TooManyRequestsException"
    assert _summary([], [throttled]).exit_code == 75
    # the next run does what was deferred, then says 1 for what is still refused
    assert _summary(["in/x.json: not an event"], [throttled]).exit_code == 75
