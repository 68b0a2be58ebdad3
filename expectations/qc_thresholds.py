"""QC thresholds as reviewed data: one CSV per version in ``expectations/thresholds/``.

Each line is one check on one column of the ``sample_qc`` view. A failed check gives the verdict in
``verdict_if_failed``; the run's overall verdict is the worst of its checks (fail > review > pass).
Tiers are several checks on one metric: contamination < 1 % (else review) and <= 3 % (else fail).
Who reviewed a line and when travels with it, so a change to a threshold is a reviewed data change.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lake.errors import ConfigError

THRESHOLDS_DIR = Path(__file__).resolve().parent / "thresholds"
DEFAULT_SAMPLE_QC = THRESHOLDS_DIR / "sample_qc_v1.csv"

# Columns of the ``sample_qc`` view (qc-contract.md) a check may name, and whether they are text.
SAMPLE_QC_METRICS: dict[str, str] = {
    "mean_coverage_x": "number",
    "genome_ge_20x_pct": "number",
    "genome_ge_15x_pct": "number",
    "q30_bases": "number",
    "q30_bases_pct": "number",
    "mapped_reads_pct": "number",
    "duplicate_reads_pct": "number",
    "contamination_pct": "number",
    "insert_length_median_bp": "number",
    "ti_tv_ratio": "number",
    "het_hom_ratio": "number",
    "snps": "number",
    "indels": "number",
    "total_runtime_s": "number",
    "ploidy": "text",
    "dragen_version": "text",
}

NUMERIC_OPERATORS = (">=", ">", "<=", "<")
SET_OPERATORS = ("in",)
SEVERITIES = ("fail", "warn")
VERDICTS = ("pass", "review", "fail")  # in order of severity
COLUMNS = ("check_id", "metric", "operator", "value", "severity", "verdict_if_failed",
           "description", "source", "reviewed_by", "reviewed_on")
_CHECK_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Check:
    """One reviewed rule on one metric."""

    check_id: str
    metric: str
    operator: str
    value: float | tuple[str, ...]
    severity: str
    verdict_if_failed: str
    description: str
    source: str
    reviewed_by: str
    reviewed_on: date

    @property
    def threshold_text(self) -> str:
        """The rule as a person reads it, e.g. ``>= 30`` or ``in XX, XY``."""
        if isinstance(self.value, tuple):
            return f"{self.operator} {', '.join(self.value)}"
        return f"{self.operator} {self.value:g}".replace("e+", "e")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A versioned set of checks: ``version`` is the file's stem, e.g. ``sample_qc_v1``."""

    version: str
    path: str
    checks: tuple[Check, ...]

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics checked, in first-use order."""
        return tuple(dict.fromkeys(c.metric for c in self.checks))


def load_thresholds(path: str | Path = DEFAULT_SAMPLE_QC) -> Thresholds:
    """Read and validate a thresholds CSV.

    Raises:
        ConfigError: naming the file and line, for an unknown column, metric, operator, severity
            or verdict, a value of the wrong kind, a repeated check id, or a missing review.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read thresholds: {e}") from e
    return parse_thresholds(text, source=str(path), version=path.stem)


def parse_thresholds(text: str, source: str, version: str) -> Thresholds:
    """Thresholds from CSV text; ``source`` names the input in errors."""
    lines = text.splitlines()
    if not lines:
        raise ConfigError(f"{source}:1: empty thresholds file")
    header = next(csv.reader([lines[0]]))
    if tuple(h.strip() for h in header) != COLUMNS:
        raise ConfigError(f"{source}:1: header must be {','.join(COLUMNS)}; got {','.join(header)}")
    checks: list[Check] = []
    seen: set[str] = set()
    for number, fields in enumerate(csv.reader(lines[1:]), start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(COLUMNS):
            raise ConfigError(f"{source}:{number}: expected {len(COLUMNS)} fields, "
                              f"got {len(fields)}")
        check = _check(dict(zip(COLUMNS, (f.strip() for f in fields), strict=True)),
                       f"{source}:{number}")
        if check.check_id in seen:
            raise ConfigError(f"{source}:{number}: check_id {check.check_id!r} is repeated")
        seen.add(check.check_id)
        checks.append(check)
    if not checks:
        raise ConfigError(f"{source}: no checks defined")
    return Thresholds(version=version, path=source, checks=tuple(checks))


def _check(row: dict[str, str], where: str) -> Check:
    check_id, metric, op = row["check_id"], row["metric"], row["operator"]
    if not _CHECK_ID.match(check_id) or check_id == "overall":
        raise ConfigError(f"{where}: check_id {check_id!r} must be snake_case and not 'overall'")
    if metric not in SAMPLE_QC_METRICS:
        raise ConfigError(f"{where}: unknown metric {metric!r}; sample_qc has "
                          f"{', '.join(sorted(SAMPLE_QC_METRICS))}")
    kind = SAMPLE_QC_METRICS[metric]
    value: float | tuple[str, ...]
    if op in NUMERIC_OPERATORS:
        if kind != "number":
            raise ConfigError(f"{where}: operator {op!r} needs a numeric metric; {metric} is text")
        try:
            value = float(row["value"])
        except ValueError:
            raise ConfigError(f"{where}: value {row['value']!r} is not a number") from None
    elif op in SET_OPERATORS:
        value = tuple(v.strip() for v in row["value"].split("|") if v.strip())
        if not value:
            raise ConfigError(f"{where}: operator 'in' needs values separated by '|'")
    else:
        raise ConfigError(f"{where}: unknown operator {op!r}; use one of "
                          f"{', '.join(NUMERIC_OPERATORS + SET_OPERATORS)}")
    severity, verdict = row["severity"], row["verdict_if_failed"]
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}: severity {severity!r} must be fail or warn")
    if verdict not in VERDICTS:
        raise ConfigError(f"{where}: verdict_if_failed {verdict!r} must be pass, review or fail")
    if (severity == "warn") != (verdict == "pass"):
        raise ConfigError(f"{where}: a warn check must map to verdict pass, a fail check to "
                          f"review or fail (got severity {severity}, verdict {verdict})")
    reviewed_on = review_of(row, where)
    return Check(check_id, metric, op, value, severity, verdict, row["description"], row["source"],
                 row["reviewed_by"], reviewed_on)


def review_of(row: dict[str, str], where: str) -> date:
    """The review date of a thresholds line; every line needs a source and a reviewer.

    Raises:
        ConfigError: naming the line, for an empty source or reviewer or a bad date.
    """
    for required in ("source", "reviewed_by"):
        if not row[required]:
            raise ConfigError(f"{where}: {required} is empty; every threshold needs one")
    try:
        return date.fromisoformat(row["reviewed_on"])
    except ValueError:
        raise ConfigError(f"{where}: reviewed_on {row['reviewed_on']!r} is not a YYYY-MM-DD date") \
            from None


def worst(verdicts: list[str] | tuple[str, ...]) -> str:
    """The most severe verdict (``pass`` for none)."""
    return max(verdicts, key=VERDICTS.index, default="pass")
