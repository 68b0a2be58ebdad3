"""Small inline SVG charts for the self-contained HTML reports (no scripts, no CDN).

A strip chart draws one dot per sample on a shared x axis, one lane per group (a release, or all
samples), with each lane's median marked and the thresholds as vertical lines: the MultiQC way of
showing a metric across samples, readable offline and printable for a signature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, LANE, LEFT, RIGHT, TOP, AXIS = 640, 34, 150, 20, 10, 30
COLOURS = ("#8c959f", "#0969da", "#bf8700", "#1a7f37")
FAIL = "#cf222e"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / n)) if span > 0 else 1.0
    for mult in (1, 2, 2.5, 5, 10):
        if span / (step * mult) <= n:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _fmt(v: float) -> str:
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:.6g}"


def strip_chart(title: str, lanes: Mapping[str, Sequence[tuple[str, float]]], *,
                thresholds: Sequence[tuple[str, float]] = (), unit: str = "",
                flagged: set[str] | frozenset[str] = frozenset(),
                flag_lane: str | None = None) -> str:
    """An SVG strip chart: ``lanes`` maps a lane label to (sample, value) points.

    ``thresholds`` are (label, x) vertical lines; samples in ``flagged`` are drawn in red (in
    the lane ``flag_lane`` only, when given).
    Values that are NaN or infinite are left out (and counted in the lane label).
    """
    clean = {k: [(s, v) for s, v in pts if v is not None and math.isfinite(v)]
             for k, pts in lanes.items()}
    values = [v for pts in clean.values() for _, v in pts] + [x for _, x in thresholds]
    if not values:
        return f"<p class='muted'>{escape(title)}: no values</p>"
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or (abs(hi) * 0.05 or 1.0)
    lo, hi = lo - pad, hi + pad
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + LANE * len(clean) + AXIS + 16

    def x(v: float) -> float:
        return LEFT + (v - lo) / (hi - lo) * plot_w

    out = [f"<svg width='{WIDTH}' height='{height}' "
           f"role='img' aria-label='{escape(title)}' class='chart'>",
           f"<text x='{LEFT}' y='{TOP + 2}' font-size='12' font-weight='600'>"
           f"{escape(title)}{escape(f' ({unit})' if unit else '')}</text>"]
    base_y = TOP + 10
    for i, (label, pts) in enumerate(clean.items()):
        cy = base_y + LANE * i + LANE / 2
        colour = COLOURS[i % len(COLOURS)]
        dropped = len(lanes[label]) - len(pts)
        text = f"{label} (n={len(pts)}{f', {dropped} missing' if dropped else ''})"
        out.append(f"<text x='{LEFT - 6}' y='{cy + 4}' font-size='11' text-anchor='end'>"
                   f"{escape(text)}</text>")
        out.append(f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{cy}' y2='{cy}' "
                   "stroke='#eaeef2'/>")
        for j, (sample, v) in enumerate(sorted(pts, key=lambda p: p[1])):
            jitter = ((j * 7) % 5 - 2) * 2.5
            hit = sample in flagged and (flag_lane is None or flag_lane == label)
            fill = FAIL if hit else colour
            out.append(f"<circle cx='{x(v):.1f}' cy='{cy + jitter:.1f}' r='4' fill='{fill}' "
                       f"fill-opacity='0.8'><title>{escape(sample)}: {_fmt(v)}</title></circle>")
        if pts:
            ordered = sorted(v for _, v in pts)
            mid = len(ordered) // 2
            median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
            out.append(f"<line x1='{x(median):.1f}' x2='{x(median):.1f}' y1='{cy - 11}' "
                       f"y2='{cy + 11}' stroke='{colour}' stroke-width='2'>"
                       f"<title>median {label}: {_fmt(median)}</title></line>")
    axis_y = base_y + LANE * len(clean) + 4
    out.append(f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{axis_y}' y2='{axis_y}' "
               "stroke='#57606a'/>")
    out.extend(f"<line x1='{x(t):.1f}' x2='{x(t):.1f}' y1='{axis_y}' y2='{axis_y + 4}' "
               f"stroke='#57606a'/><text x='{x(t):.1f}' y='{axis_y + 16}' font-size='10' "
               f"text-anchor='middle'>{escape(_fmt(t))}</text>" for t in _ticks(lo, hi))
    for label, tx in thresholds:
        out.append(f"<line x1='{x(tx):.1f}' x2='{x(tx):.1f}' y1='{base_y - 2}' y2='{axis_y}' "
                   f"stroke='{FAIL}' stroke-dasharray='4 3'><title>{escape(label)}</title></line>"
                   f"<text x='{x(tx) + 3:.1f}' y='{base_y + 6}' font-size='10' fill='{FAIL}'>"
                   f"{escape(label)}</text>")
    out.append("</svg>")
    return "".join(out)
