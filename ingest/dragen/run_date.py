"""When a run happened, from its own files: the replay JSON and the time metrics.

A copied or restored folder has new modification times, so they say nothing about the run. What
DRAGEN writes does: a replay may carry a date or a start/end time (top level or under
``system``), and a time-metrics line may hold a timestamp instead of a duration. The latest
such time is taken (the end when both ends are there). A time written without a zone is read as
UTC (DRAGEN servers and AWS Batch hosts keep UTC clocks); one with a zone is converted.
When the files give no time, the caller's explicit date is used (``--run-at``, a mapping row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from ingest.dragen.replay import replay_document

# Keys (lower case) whose value may be a point in time; "runtime" and "timeout" are durations.
_TIME_KEY = re.compile(r"(date|time|started|finished|completed)")
_NOT_TIME_KEY = re.compile(r"(runtime|timeout|time_?zone|elapsed|duration)")
_FORMATS = ("%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S %Z %Y", "%Y/%m/%d %H:%M:%S",
            "%d/%m/%Y %H:%M:%S")
_YEAR = re.compile(r"[0-9]{4}")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # older than DRAGEN: not a run date


def parse_time(text: str) -> datetime | None:
    """A point in time written as ISO 8601 or as ``ctime`` text, in UTC; None when it is not one.

    Durations (``01:31:29.713``) and bare numbers are not points in time.
    """
    text = text.strip()
    # shorter than a date, or no four-digit year: a duration or a number (most time-metrics
    # lines; four failed strptime calls each cost more than the rest of the file)
    if len(text) < 10 or _YEAR.search(text) is None:
        return None
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _FORMATS:
            try:
                when = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if when is None:
        return None
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return when if when >= _EARLIEST else None


def _replay_times(data: bytes) -> Iterable[datetime]:
    doc = replay_document(data)  # a broken replay gives no date; its parser says why
    if not isinstance(doc, dict):
        return
    scopes = [doc] + [v for k, v in doc.items() if k == "system" and isinstance(v, dict)]
    for scope in scopes:
        for key, value in scope.items():
            k = str(key).lower()
            if isinstance(value, str) and _TIME_KEY.search(k) and not _NOT_TIME_KEY.search(k):
                when = parse_time(value)
                if when is not None:
                    yield when


def _time_metric_times(data: bytes) -> Iterable[datetime]:
    text = data.decode("utf-8", errors="replace")
    for line in text.splitlines():
        parts = line.split(",")
        if len(parts) >= 4 and parts[0].endswith("RUN TIME"):
            when = parse_time(parts[3])
            if when is not None:
                yield when


def run_date(files: Mapping[str, bytes]) -> datetime | None:
    """The latest point in time the run's replay or time metrics give, or None.

    ``files``: file name -> content, already decompressed.
    """
    found: list[datetime] = []
    for name, data in files.items():
        base = name.rsplit("/", 1)[-1]
        if base.endswith("replay.json"):
            found.extend(_replay_times(data))
        elif ".time_metrics" in base:
            found.extend(_time_metric_times(data))
    return max(found, default=None)
