"""Release-validation thresholds as reviewed data (``expectations/thresholds/release_v*.csv``).

Each line is one check of a candidate release against truth sets and against its baseline:

- ``absolute``: the release's value on every reference sample (SNP F1 on PASS >= 0.995);
- ``delta``: release minus baseline, per sample (ΔF1 >= -0.0005);
- ``relative_delta``: (release - baseline) / baseline, per sample (FN grow by <= 10 %);
- ``median_shift`` / ``median_relative_shift``: the same over the cohort's median of the per-sample
  differences (QC drift: the validation cohort re-analyses the same reads, so a move is the
  pipeline's).

A failed ``fail`` check fails the release; a failed ``warn`` check is reported and does not.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from expectations.qc_thresholds import NUMERIC_OPERATORS, review_of
from lake.errors import ConfigError

THRESHOLDS_DIR = Path(__file__).resolve().parent / "thresholds"
DEFAULT_RELEASE = THRESHOLDS_DIR / "release_v1.csv"
COLUMNS = ("check_id", "metric", "comparison", "operator", "value", "severity", "description",
           "source", "reviewed_by", "reviewed_on")
COMPARISONS = ("absolute", "delta", "relative_delta", "median_shift", "median_relative_shift")
SEVERITIES = ("fail", "warn")
_CHECK_ID = re.compile(r"^[a-z][a-z0-9_]*$")

# The metrics a release is compared on: name -> (where it comes from, unit, label).
# hap.py metrics are on PASS calls over the whole genome (summary.csv's PASS rows).
HAPPY_COLUMNS = {"f1": "f1_score", "recall": "recall", "precision": "precision",
                 "fn": "truth_fn", "fp": "query_fp"}
METRICS: dict[str, tuple[str, str, str]] = {
    **{f"{t.lower()}_pass_{m}": ("happy", "count" if m in ("fn", "fp") else "fraction",
                                 f"{t} {m.upper() if m in ('fn', 'fp') else m} (PASS)")
       for t in ("SNP", "INDEL") for m in HAPPY_COLUMNS},
    "mean_coverage_x": ("qc", "x", "mean coverage"),
    "genome_ge_20x_pct": ("qc", "%", "genome at ≥ 20x"),
    "mapped_reads_pct": ("qc", "%", "mapped reads"),
    "duplicate_reads_pct": ("qc", "%", "duplicate reads"),
    "insert_length_median_bp": ("qc", "bp", "median insert length"),
    "ti_tv_ratio": ("qc", "ratio", "Ti/Tv"),
    "het_hom_ratio": ("qc", "ratio", "Het/Hom"),
    "contamination_pct": ("qc", "%", "contamination"),
    "total_runtime_s": ("qc", "s", "DRAGEN runtime"),
    "cost_usd": ("cost", "USD", "estimated cost per sample"),
}


@dataclass(frozen=True, slots=True)
class ReleaseCheck:
    """One reviewed rule of a release validation."""

    check_id: str
    metric: str
    comparison: str
    operator: str
    value: float
    severity: str
    description: str
    source: str
    reviewed_by: str
    reviewed_on: date

    @property
    def cohort(self) -> bool:
        """Whether the check is one number for the cohort (a median) rather than per sample."""
        return self.comparison.startswith("median")

    @property
    def column(self) -> str:
        """The column of the comparison frame the check reads."""
        if self.comparison == "absolute":
            return self.metric
        return f"{self.metric}__{'rel' if 'relative' in self.comparison else 'delta'}"

    @property
    def threshold_text(self) -> str:
        what = {"absolute": "", "delta": "Δ ", "relative_delta": "Δ/baseline ",
                "median_shift": "median Δ ", "median_relative_shift": "median Δ/baseline "}
        return f"{what[self.comparison]}{self.operator} {self.value:g}"

    @property
    def needs_baseline(self) -> bool:
        return self.comparison != "absolute"


@dataclass(frozen=True, slots=True)
class ReleaseThresholds:
    version: str
    path: str
    sha256: str
    checks: tuple[ReleaseCheck, ...]


def load_release_thresholds(path: str | Path = DEFAULT_RELEASE) -> ReleaseThresholds:
    """Read and validate a release thresholds CSV.

    Raises:
        ConfigError: naming the file and line, for an unknown column, metric, comparison,
            operator or severity, a value that is not a number, a repeated id or a missing review.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read release thresholds: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text") from e
    checks = parse_release_thresholds(text, str(path))
    return ReleaseThresholds(path.stem, str(path), hashlib.sha256(data).hexdigest(), checks)


def parse_release_thresholds(text: str, source: str) -> tuple[ReleaseCheck, ...]:
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(h.strip() for h in rows[0]) != COLUMNS:
        raise ConfigError(f"{source}:1: header must be {','.join(COLUMNS)}")
    checks: list[ReleaseCheck] = []
    seen: set[str] = set()
    for number, fields in enumerate(rows[1:], start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        where = f"{source}:{number}"
        if len(fields) != len(COLUMNS):
            raise ConfigError(f"{where}: expected {len(COLUMNS)} fields, got {len(fields)}")
        row = dict(zip(COLUMNS, (f.strip() for f in fields), strict=True))
        checks.append(_check(row, where))
        if checks[-1].check_id in seen:
            raise ConfigError(f"{where}: check_id {row['check_id']!r} is repeated")
        seen.add(checks[-1].check_id)
    if not checks:
        raise ConfigError(f"{source}: no checks defined")
    return tuple(checks)


def _check(row: dict[str, str], where: str) -> ReleaseCheck:
    if not _CHECK_ID.match(row["check_id"]) or row["check_id"] == "overall":
        raise ConfigError(f"{where}: check_id {row['check_id']!r} must be snake_case and not "
                          "'overall'")
    if row["metric"] not in METRICS:
        raise ConfigError(f"{where}: unknown metric {row['metric']!r}; known: "
                          f"{', '.join(sorted(METRICS))}")
    if row["comparison"] not in COMPARISONS:
        raise ConfigError(f"{where}: comparison {row['comparison']!r} must be one of "
                          f"{', '.join(COMPARISONS)}")
    if row["operator"] not in NUMERIC_OPERATORS:
        raise ConfigError(f"{where}: operator {row['operator']!r} must be one of "
                          f"{', '.join(NUMERIC_OPERATORS)}")
    try:
        value = float(row["value"])
    except ValueError:
        raise ConfigError(f"{where}: value {row['value']!r} is not a number") from None
    if row["severity"] not in SEVERITIES:
        raise ConfigError(f"{where}: severity {row['severity']!r} must be fail or warn")
    reviewed_on = review_of(row, where)
    return ReleaseCheck(row["check_id"], row["metric"], row["comparison"], row["operator"], value,
                        row["severity"], row["description"], row["source"], row["reviewed_by"],
                        reviewed_on)
