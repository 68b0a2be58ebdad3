"""DRAGEN value texts to numbers (counts, percents, NA, inf, durations); name normalisation."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# Texts DRAGEN writes for "no value". Kept as null with the raw text beside it.
MISSING = frozenset({"NA", "", "N/A", "na", "nan", "NaN"})
_SPECIAL = {"inf": float("inf"), "+inf": float("inf"), "-inf": float("-inf"),
            "Inf": float("inf"), "-Inf": float("-inf")}


def number(text: str) -> float | None:
    """The number in ``text`` (``inf`` included), or None when it is not a plain number.

    Python's float() also accepts ``1_000``, ``infinity`` and ``nan``; DRAGEN writes none of
    those, so they are not numbers here (``nan`` is treated as missing by the callers).
    """
    try:
        value = float(text)
    except ValueError:
        return None
    if value - value != 0.0 or "_" in text:  # inf, nan or 1_000: rare, checked slowly
        return value if text.strip() in _SPECIAL else None
    return value


_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def duration_s(text: str) -> float | None:
    """Seconds in ``HH:MM:SS.mmm`` (and the unconfirmed ``MM:SS.s``), exactly; None if not a time.

    The seconds column DRAGEN writes beside a time is rounded to 2 decimals; this is not.
    """
    m = _DURATION.match(text.strip())
    if m is None:
        return None
    hours, minutes, seconds = m.groups()
    try:
        total = Decimal(int(hours or 0) * 3600 + int(minutes) * 60) + Decimal(seconds)
    except InvalidOperation:  # pragma: no cover - the pattern only admits digits
        return None
    return float(total)


_BRACKET = re.compile(r"\[[^\]\)]*[\]\)]")


@lru_cache(maxsize=65536)
def normalize_name(name: str) -> str:
    """A metric name as a catalogue key: whitespace inside ``[...)`` removed, runs of spaces single.

    DRAGEN pads bin labels to the widest bin (``[ 20x: inf)`` or ``[  20x: inf)``), so the
    padding changes with the configured bins and the version; the meaning does not.
    """
    name = name.strip()
    if "[" in name:
        name = _BRACKET.sub(lambda m: "".join(m.group(0).split()), name)
    if "  " in name:
        name = " ".join(name.split())
    return name


def slug(text: str) -> str:
    """``Time sorting & marking`` -> ``time_sorting_marking``: an id fragment."""
    return "_".join(re.findall(r"[a-z0-9]+", text.lower().replace("%", "pct")))
