"""hap.py accuracy files (``summary.csv``, ``extended.csv``) into the ``happy_metrics`` table.

hap.py (Illumina's small-variant benchmarking tool, the GA4GH reference implementation) compares a
release's calls on a reference sample (GIAB HG001–HG007) with the truth set and writes one CSV line
per variant type and filter (``summary.csv``), and per subtype, stratification subset and genotype
(``extended.csv``). Counts are integers, metrics are fractions; empty cells and ``nan`` are missing.

``parse_happy`` is pure (text in, rows and problems out); ``ingest_happy`` reads files or a folder
(local or ``s3://``) and writes the rows, quarantining lines and files that cannot be read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime
from typing import Any

from lake.errors import ParseError, TerminalError
from lake.quarantine import quarantine_row
from lake.store import LakeStore, filesystem

STAGE = "ingest.happy"
# hap.py's column -> (lake column, kind). Every other column is kept as text in other_values.
TYPED: dict[str, tuple[str, str]] = {
    "TRUTH.TOTAL": ("truth_total", "int"),
    "TRUTH.TP": ("truth_tp", "int"),
    "TRUTH.FN": ("truth_fn", "int"),
    "QUERY.TOTAL": ("query_total", "int"),
    "QUERY.FP": ("query_fp", "int"),
    "QUERY.UNK": ("query_unk", "int"),
    "FP.gt": ("fp_gt", "int"),
    "FP.al": ("fp_al", "int"),
    "METRIC.Recall": ("recall", "float"),
    "METRIC.Precision": ("precision", "float"),
    "METRIC.Frac_NA": ("frac_na", "float"),
    "METRIC.F1_Score": ("f1_score", "float"),
    "TRUTH.TOTAL.TiTv_ratio": ("truth_ti_tv_ratio", "float"),
    "QUERY.TOTAL.TiTv_ratio": ("query_ti_tv_ratio", "float"),
    "TRUTH.TOTAL.het_hom_ratio": ("truth_het_hom_ratio", "float"),
    "QUERY.TOTAL.het_hom_ratio": ("query_het_hom_ratio", "float"),
}
# Columns that name a row; absent ones (summary.csv has no Subtype) are '*', as hap.py writes them.
KEYS = {"Type": "variant_type", "Filter": "filter", "Subtype": "subtype", "Subset": "subset",
        "Genotype": "genotype"}
REQUIRED = ("Type", "Filter")
MISSING = {"", "nan", "NaN", "NA", "."}
MAX_FILE_BYTES = 256 * 1024 * 1024  # extended.csv with many stratifications stays far below this
_NAME = re.compile(r"^(?P<prefix>.*?)[._-]?(?P<kind>summary|extended)\.csv$")


@dataclass(frozen=True, slots=True)
class HappyFile:
    """What loading one file gave."""

    path: str
    sample_id: str | None
    rows: int = 0
    problems: int = 0
    error: str | None = None


@dataclass
class HappySummary:
    """What ``ingest_happy`` did."""

    release: str
    files: list[HappyFile] = field(default_factory=list)
    rows_written: int = 0
    quarantined: int = 0

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def samples(self) -> list[str]:
        return sorted({f.sample_id for f in self.files if f.sample_id and f.rows})


def _number(text: str, kind: str, column: str, source: str, line: int) -> int | float | None:
    text = text.strip()
    if text in MISSING:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ParseError(source, line, f"{column} = {text!r} is not a number") from None
    if kind == "float":
        return value
    if not math.isfinite(value) or value != int(value) or abs(value) >= 2**63:
        raise ParseError(source, line, f"{column} = {text!r} is not a count")
    return int(value)


def parse_happy(text: str, source: str) -> tuple[list[dict[str, Any]], list[ParseError]]:
    """Rows of ``happy_metrics`` (without release, sample and time) and the lines that failed.

    Raises:
        ParseError: the file is not a hap.py summary or extended CSV (no header with Type and
            Filter, or a repeated column): nothing of it can be trusted.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ParseError(source, 1, "empty file: expected a hap.py summary.csv or extended.csv")
    header = [h.strip() for h in header]
    absent = [c for c in REQUIRED if c not in header]
    if absent or not any(h in TYPED for h in header):
        raise ParseError(source, 1, "not a hap.py summary/extended CSV: the header lacks "
                         + (", ".join(absent) if absent else "every hap.py metric column"))
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ParseError(source, 1, f"column(s) {', '.join(repeated)} appear more than once")
    rows: list[dict[str, Any]] = []
    problems: list[ParseError] = []
    seen: dict[tuple[str, ...], int] = {}
    for number, fields in enumerate(reader, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        try:
            row = _row(header, fields, source, number)
            key = tuple(row[k] for k in (*KEYS.values(), "qq"))
            if key in seen:
                raise ParseError(source, number, f"repeats line {seen[key]} "
                                 f"({', '.join(key)}): which one is right is unknown")
            seen[key] = number
            rows.append(row)
        except ParseError as e:
            problems.append(e)
    if not rows and not problems:
        raise ParseError(source, 2, "no data lines under the header")
    return rows, problems


def _row(header: list[str], fields: list[str], source: str, line: int) -> dict[str, Any]:
    if len(fields) != len(header):
        raise ParseError(source, line, f"{len(fields)} fields where the header has {len(header)}")
    cells = dict(zip(header, fields, strict=True))
    row: dict[str, Any] = {col: (cells.get(name) or "*").strip() or "*"
                           for name, col in KEYS.items()}
    if row["variant_type"] == "*" or row["filter"] == "*":
        raise ParseError(source, line, "Type and Filter must not be empty")
    for name, (col, kind) in TYPED.items():
        row[col] = _number(cells[name], kind, name, source, line) if name in cells else None
    other = {k: v for k, v in cells.items() if k not in TYPED and k not in KEYS}
    # QQ names an ROC threshold line in extended.csv; part of what identifies the line.
    row["qq"] = (other.get("QQ") or "*").strip() or "*"
    row["other_values"] = list(other.items())
    row["line"] = line
    row["raw"] = ",".join(fields)
    return row


def _sample_from_name(name: str) -> str | None:
    m = _NAME.match(name)
    prefix = m.group("prefix") if m else ""
    return prefix or None


def is_happy_file(name: str) -> bool:
    """Whether a file name is one hap.py writes (``<prefix>.summary.csv``/``.extended.csv``)."""
    return bool(_NAME.match(name.rsplit("/", 1)[-1]))


def ingest_happy(store: LakeStore, location: str, *, release: str, sample_id: str | None = None,
                 run_id: str | None = None, truth_set: str | None = None,
                 loaded_at: datetime | None = None) -> HappySummary:
    """Load one hap.py file, or every ``*summary.csv``/``*extended.csv`` under a folder.

    The sample is ``sample_id`` when given, else the file's prefix (``HG002.summary.csv`` ->
    ``HG002``). A folder whose files name several samples cannot take one ``sample_id``.

    Raises:
        ParseError: the location does not exist or holds no hap.py file.
        TerminalError: a file's sample cannot be told, or one sample id is given for several.
    """
    if not release.strip():
        raise TerminalError("a release is needed: pass --release, e.g. dragen-4.5.4")
    loaded_at = loaded_at or datetime.now(UTC)
    fs, paths = _locate(store, location)
    prefixes = {p: _sample_from_name(p.rsplit("/", 1)[-1]) for p in paths}
    if sample_id is None:
        nameless = [p for p, s in prefixes.items() if not s]
        if nameless:
            raise TerminalError(f"{nameless[0]}: the file name does not give the sample; pass "
                                "--sample-id")
    elif len(named := sorted(set(prefixes.values()) - {None})) > 1:
        raise TerminalError(f"{location}: files of several samples ({', '.join(named)}); load "
                            "them without --sample-id (the file names give the samples) or one "
                            "file at a time")
    summary = HappySummary(release)
    rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    for path in paths:
        sample = sample_id or prefixes[path] or ""
        source = f"s3://{path}" if location.startswith("s3://") else path
        try:
            with fs.open_input_stream(path) as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise ParseError(source, None, f"larger than {MAX_FILE_BYTES} bytes")
            text = data.decode("utf-8", errors="strict")
            parsed, problems = parse_happy(text, source)
        except UnicodeDecodeError as e:
            err = ParseError(source, None, f"not UTF-8 text ({e.reason} at byte {e.start})")
            quarantine.append(quarantine_row(STAGE, source, err, payload=data[:4096],
                                             at=loaded_at))
            summary.files.append(HappyFile(source, sample, error=err.reason))
            continue
        except ParseError as e:
            quarantine.append(quarantine_row(STAGE, source, e, at=loaded_at))
            summary.files.append(HappyFile(source, sample, error=e.reason))
            continue
        for row in parsed:
            ident = (release, sample, run_id or "", truth_set or "", row.pop("raw"))
            rows.append({**row, "pipeline_release": release, "sample_id": sample,
                         "run_id": run_id, "truth_set": truth_set, "source_file": source,
                         "loaded_at": loaded_at,
                         "content_digest": hashlib.sha256("\x1f".join(ident).encode()
                                                          ).hexdigest()[:32]})
        quarantine.extend(quarantine_row(STAGE, source, p, at=loaded_at) for p in problems)
        summary.files.append(HappyFile(source, sample, len(parsed), len(problems)))
    if rows:
        summary.rows_written = store.write("happy_metrics", _with_qq(rows)).rows_written
    if quarantine:
        store.write("quarantine", quarantine)
        summary.quarantined = len(quarantine)
    return summary


def _with_qq(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An ROC line's QQ threshold becomes part of its subtype key (``ti@QQ=30``) when present."""
    out = []
    for r in rows:
        qq = r.pop("qq")
        out.append(r if qq == "*" else {**r, "subtype": f"{r['subtype']}@QQ={qq}"})
    return out


def _locate(store: LakeStore, location: str):
    """The filesystem and the hap.py files at ``location`` (a file or a folder, local or S3)."""
    import pyarrow.fs as pafs

    text = location[len("file://"):] if location.startswith("file://") else location
    if text.startswith("s3://"):
        fs, _ = filesystem(dc_replace(store.settings, lake_uri=text.rstrip("/")))
        root = text[len("s3://"):].rstrip("/")
    else:
        from pathlib import Path

        fs, root = pafs.LocalFileSystem(), str(Path(text).resolve())
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.File:
        return fs, [root]
    if info.type != pafs.FileType.Directory:
        raise ParseError(location, None, "no such file or folder")
    found = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
                   if i.type == pafs.FileType.File and is_happy_file(i.path))
    if not found:
        raise ParseError(location, None, "no hap.py summary.csv or extended.csv in this folder")
    return fs, found
