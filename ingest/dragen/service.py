"""A run's DRAGEN output into lake rows: ``parse_run_files`` (pure) and ``ingest_folder`` (I/O).

``parse_run_files`` takes file name -> bytes and returns the rows of ``qc_metrics``,
``qc_histograms`` and ``qc_contig_coverage`` as Arrow tables, plus quarantine rows for every file
or line that could not be read. It adds what no single file knows: the sample and run, the DRAGEN
version (from the replay file), catalogue ids, and the phenotype of rows keyed by a sample name
that the replay's command line names as tumour or normal.

``ingest_folder`` reads a folder, writes each table once (the store names files by the rows'
keys, so loading the same folder twice writes nothing new), and returns what it did.
"""

from __future__ import annotations

import os
import stat
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from ingest.dragen import columnar
from ingest.dragen.catalogue import Catalogue, default_catalogue
from ingest.dragen.discovery import (
    GZ,
    RunFiles,
    folder_not_found,
    group_runs,
    is_metric_name,
    list_files,
)
from ingest.dragen.records import Block, FileParse, Same
from ingest.dragen.registry import recognise
from ingest.dragen.run_date import run_date
from ingest.dragen.text import MAX_FILE_BYTES, Problem
from lake.errors import ParseError
from lake.quarantine import quarantine_row
from lake.schemas import table
from lake.store import FileLayout, filesystem

if TYPE_CHECKING:
    from lake.store import LakeStore, WriteResult

STAGE = "ingest.dragen"
MAX_PROBLEMS_PER_FILE = 100  # beyond this, one summary quarantine row for the rest
TABLES = ("qc_metrics", "qc_histograms", "qc_contig_coverage")
# The bins of a histogram are nearly all distinct: a Parquet dictionary for them is hashing work
# that makes the file larger (a batch of 25 runs: 35 % smaller, written faster, without).
_PLAIN = {"qc_histograms": frozenset({"line", "label", "x", "x_end", "value"})}
# Its columns whose value is one per run or per file (a file's rows are one histogram): built
# as Arrow dictionaries, one value and an index per row, not the text repeated 34,000 times a
# run; the Parquet writer then stores them without hashing every row.
_ENCODED = {"qc_histograms": frozenset({"sample_id", "run_id", "dragen_version", "source_file",
                                        "file_type", "phenotype", "histogram", "section",
                                        "read_group", "series", "unit"})}
# Min/max only on a run's id and time: a file's rows are in run order, so these let a reader
# skip row groups; the other columns' bins mix in every row group. The writer gets the min/max
# of a dictionary column by hashing its indices, and with every column that was 40 % of a
# histogram batch's write. Line numbers are a rising sequence (delta encoding: a few bits a row,
# not 32), and floats split by byte compress better and faster.
_STATISTICS = {"qc_histograms": ("run_id", "run_at")}
_ENCODINGS = {"qc_histograms": (("line", "DELTA_BINARY_PACKED"), ("x", "BYTE_STREAM_SPLIT"),
                                ("x_end", "BYTE_STREAM_SPLIT"), ("value", "BYTE_STREAM_SPLIT"))}


def dictionary_columns(name: str) -> list[str] | None:
    """The columns of a DRAGEN table to dictionary-encode in Parquet (None: every column)."""
    plain = _PLAIN.get(name)
    return None if plain is None else [c for c in table(name).columns if c not in plain]


@dataclass(frozen=True, slots=True)
class _BatchedLayout(FileLayout):
    """A layout whose writer takes ``write_batch_size`` rows of a column at a time.

    Parquet's default (1,024) makes the writer check its page size and encode a column's values
    in 1,024-row pieces; a histogram batch of 1.7 M rows is 1,700 of them per column (8 % of the
    write). Pages still close at the default page size, at the end of a piece.
    """

    write_batch_size: int = 65_536

    def options(self) -> dict[str, Any]:
        return {**FileLayout.options(self), "write_batch_size": self.write_batch_size}


def file_layout(name: str) -> FileLayout | None:
    """How a DRAGEN table's Parquet files store its columns (None: Parquet's defaults)."""
    if name not in _PLAIN:
        return None
    return _BatchedLayout(dictionary=tuple(dictionary_columns(name) or ()),
                          statistics=_STATISTICS.get(name), encodings=_ENCODINGS.get(name, ()))


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What happened to one file: its family and row count, or why it was skipped or refused."""

    name: str
    family: str | None
    file_type: str | None
    rows: int = 0
    problems: int = 0
    skipped: str | None = None  # not a metric file (bam_list.csv, a BAM, …)
    error: str | None = None  # a metric file that could not be read at all


@dataclass(frozen=True)
class ParsedRun:
    """The rows of one run's metric files, by table, and what could not be read."""

    sample_id: str
    run_id: str
    run_at: datetime
    dragen_version: str | None
    tables: dict[str, pa.Table]
    quarantine: list[dict[str, Any]]
    files: list[FileOutcome]

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The rows of one table as dicts (for tests and small callers)."""
        tbl = self.tables.get(name)
        return [] if tbl is None else tbl.to_pylist()

    @property
    def row_counts(self) -> dict[str, int]:
        return {name: tbl.num_rows for name, tbl in self.tables.items()}


@dataclass(frozen=True)
class IngestSummary:
    """What ``ingest_folder`` did."""

    folder: str
    sample_id: str
    run_id: str
    run_at: datetime
    dragen_version: str | None
    rows: dict[str, int]  # rows parsed per table (written or already present)
    rows_written: dict[str, int]  # rows in files this call created (0 when loaded before)
    quarantined: int
    files: list[FileOutcome] = field(default_factory=list)
    error: str | None = None  # the folder as a whole was refused (quarantined), and why

    @property
    def files_loaded(self) -> int:
        return sum(1 for f in self.files if f.family and not f.error)


# --- pure -----------------------------------------------------------------------------------------


def parse_run_files(files: Mapping[str, bytes], *, sample_id: str, run_id: str,
                    run_at: datetime | None = None, catalogue: Catalogue | None = None,
                    source_root: str | None = None) -> ParsedRun:
    """Parse one run's DRAGEN files (name -> content) into lake rows. No I/O.

    The run's time is the one its replay or time metrics give (:func:`run_date`), else
    ``run_at``. Gzipped files (``*.csv.gz``) are read like the plain ones.

    Args:
        files: file name (relative to the run folder) -> bytes.
        source_root: how quarantine rows name the folder (default: the run id).

    Raises:
        ParseError: neither the files nor ``run_at`` give the run's time.
    """
    catalogue = catalogue or default_catalogue()
    root = source_root or run_id
    parses: list[FileParse] = []
    outcomes: list[FileOutcome] = []
    quarantine: list[dict[str, Any]] = []
    plain: dict[str, bytes] = {}
    for name in sorted(files):
        try:
            plain[name] = gunzip(name, files[name]) if name.endswith(GZ) else files[name]
        except ParseError as e:
            outcomes.append(FileOutcome(name, None, None, error=e.reason))
            quarantine.append(e)  # made a row below, once the run's time is known
    run_at = run_date(plain) or run_at
    if run_at is None:
        raise ParseError(root, None, "no run date: the replay and time metrics give none; give "
                                     "one explicitly (--run-at, or run_date in a mapping)")
    run_at = run_at.astimezone(UTC) if run_at.tzinfo else run_at.replace(tzinfo=UTC)
    quarantine = [quarantine_row(STAGE, f"{root}/{e.source}", e, at=run_at) for e in quarantine]

    def refuse(name: str, error: ParseError, payload: bytes | str | None, family, file_type):
        outcomes.append(FileOutcome(name, family, file_type, error=error.reason))
        quarantine.append(quarantine_row(STAGE, f"{root}/{name}", error, payload=payload,
                                         at=run_at))

    for name in sorted(plain):
        data = plain[name]
        found = recognise(name[: -len(GZ)] if name.endswith(GZ) else name, data[:4096])
        if isinstance(found, str):
            outcomes.append(FileOutcome(name, None, None, skipped=found))
            continue
        try:
            parsed = found.parser(name, data, family=found.family, file_type=found.file_type,
                                  phenotype=found.phenotype)
        except ParseError as e:
            refuse(name, e, _line_payload(data, e.line), found.family, found.file_type)
            continue
        except _VALUE_ERRORS as e:  # a value no parser check foresaw: this file only
            refuse(name, ParseError(name, None, f"unreadable value: {_brief(e)}"), data[:4096],
                   found.family, found.file_type)
            continue
        parses.append(parsed)

    facts: dict[str, Any] = {}
    for parsed in parses:
        if parsed.family == "replay":
            facts.update(parsed.facts)
    version = facts.get("dragen_version")
    phenotype_of = _phenotypes(facts)

    def build(check: bool) -> dict[str, pa.Table]:
        """The run's tables from its parsed files; ``check``: each file's values converted
        (and so checked) on their own, else a run's at once when its tables are made."""
        tables = {name: _Table(name, (sample_id, run_id, run_at, version)) for name in TABLES}
        with_ga4gh = "ga4gh_id" in tables["qc_metrics"].spec.columns
        for parsed in parses:
            file_values = (parsed.source, parsed.file_type)
            problems = list(parsed.problems)
            try:
                # Every table's arrays are built before any is added: a file adds all its rows
                # or none, so a value that does not fit its column refuses this file, not the run.
                n, columns = _metric_columns(parsed, catalogue, phenotype_of, problems,
                                             with_ga4gh)
                metrics = tables["qc_metrics"]
                pending = [(metrics, metrics.arrays(n, columns, file_values, check))]
                if parsed.bins is not None:
                    bins = _with_phenotypes(parsed.bins, "series", phenotype_of)
                    hists = tables["qc_histograms"]
                    pending.append((hists, hists.arrays(bins.n, bins.columns, file_values, check)))
                if parsed.contigs is not None:
                    contigs = tables["qc_contig_coverage"]
                    pending.append((contigs, contigs.arrays(parsed.contigs.n,
                                                            parsed.contigs.columns, file_values,
                                                            check)))
            except _VALUE_ERRORS as e:
                refuse(parsed.source, ParseError(parsed.source, None, f"a value does not fit "
                                                 f"the lake's column: {_brief(e)}"),
                       files[parsed.source][:4096], parsed.family, parsed.file_type)
                continue
            count = sum(rows.n for _, rows in pending)
            if not count and not problems and not parsed.facts:
                # A header and nothing else (a file cut short): not loaded, so said so.
                refuse(parsed.source, ParseError(parsed.source, None, "no data rows (a header "
                                                 "only: the file is probably truncated)"),
                       files[parsed.source][:4096], parsed.family, parsed.file_type)
                continue
            for tbl, rows in pending:
                tbl.extend(rows)
            problems.sort(key=lambda p: p.error.line or 0)
            quarantine.extend(_problem_rows(root, parsed.source, problems, run_at))
            outcomes.append(FileOutcome(parsed.source, parsed.family, parsed.file_type, count,
                                        len(problems)))
        return {name: t.table() for name, t in tables.items() if t.n}

    # Every file's values in one conversion per column: one call, not one per file and column
    # (a run's dozen metric files). A value that does not fit its column (rare) is then looked
    # for file by file, and refuses its file only.
    kept = len(outcomes), len(quarantine)
    try:
        built = build(check=False)
    except _VALUE_ERRORS:
        del outcomes[kept[0]:], quarantine[kept[1]:]
        built = build(check=True)
    outcomes.sort(key=lambda o: o.name)
    return ParsedRun(sample_id, run_id, run_at, version, built, quarantine, outcomes)


def gunzip(name: str, data: bytes) -> bytes:
    """The content of a gzipped metric file, refused past the size a metric file can have.

    Raises:
        ParseError: not gzip data, cut short, or larger than ``MAX_FILE_BYTES`` unpacked.
    """
    out, rest = b"", data
    while rest:  # gzip allows several members one after the other
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflate.decompress(rest, MAX_FILE_BYTES + 1 - len(out))
        except zlib.error as e:
            raise ParseError(name, None, f"not gzip data ({e})") from None
        if len(out) > MAX_FILE_BYTES or inflate.unconsumed_tail:
            raise ParseError(name, None, f"unpacks to more than {MAX_FILE_BYTES} bytes, larger "
                                         "than any metric file")
        if not inflate.eof:
            raise ParseError(name, None, "gzip data cut short: the file is probably truncated")
        rest = inflate.unused_data
    return out


# What a value no parser check foresaw raises (a number too large for its column, text Arrow
# cannot hold): the file is refused with the reason, the run's other files go on.
_VALUE_ERRORS = (ValueError, OverflowError, TypeError, UnicodeError, RecursionError,
                 pa.ArrowException)


def _brief(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= 200 else f"{text[:200]}…"


def _line_payload(data: bytes, line: int | None) -> bytes:
    if line is None or line < 1:
        return data[:4096]
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return b""
    end = data.find(b"\n", start)
    return data[start:end if end >= 0 else None][:4096]


def _phenotypes(facts: Mapping[str, Any]) -> dict[str, str]:
    """Sample name -> tumor/normal, from the replay's command line (tumour/normal runs only)."""
    out = {name: "normal" for name in facts.get("normal_names", ())}
    out.update({name: "tumor" for name in facts.get("tumour_names", ())})
    return out


def _problem_rows(root: str, source: str, problems: list[Problem], at: datetime):
    for p in problems[:MAX_PROBLEMS_PER_FILE]:
        yield quarantine_row(STAGE, f"{root}/{source}", p.error, payload=p.payload, at=at)
    if len(problems) > MAX_PROBLEMS_PER_FILE:
        rest = problems[MAX_PROBLEMS_PER_FILE:]
        error = ParseError(source, rest[0].error.line,
                           f"{len(rest)} more unreadable lines (lines {rest[0].error.line}-"
                           f"{rest[-1].error.line}); first: {rest[0].error.reason}")
        yield quarantine_row(STAGE, f"{root}/{source}", error, payload=rest[0].payload, at=at)


_RUN_COLUMNS = ("sample_id", "run_id", "run_at", "dragen_version")  # one value per run
_FILE_COLUMNS = ("source_file", "file_type")  # one value per file
_COMMON = ("schema_version", "recorded_at")  # the store fills these


class _Column:
    """One column of a table being built: Arrow chunks, and Python values not yet converted.

    The small per-file lists of a run (a few dozen metric lines per file) are converted in one
    ``pa.array`` call per column, not one per file: the calls, not the values, were the cost.
    """

    __slots__ = ("chunks", "encoded", "pending", "type")
    _REPEAT = 256  # a constant over at least this many rows stays an Arrow repeat

    def __init__(self, field_type: pa.DataType, encoded: bool = False) -> None:
        self.type = field_type
        self.encoded = encoded  # chunks are dictionary arrays of field_type values
        self.chunks: list[pa.Array] = []
        self.pending: list[Any] = []

    def add(self, column: Any, n: int) -> None:
        if self.encoded:
            self.chunks.append(_encoded(column, n, self.type))
            return
        if isinstance(column, pa.Array):
            self._flush()
            self.chunks.append(column if column.type == self.type else column.cast(self.type))
        elif column is None or isinstance(column, Same):
            value = None if column is None else column.value
            if n < self._REPEAT:
                self.pending.extend([value] * n)
            else:
                self._flush()
                self.chunks.append(pa.nulls(n, self.type) if value is None
                                   else pa.repeat(pa.scalar(value, type=self.type), n))
        else:
            self.pending.extend(column)

    def _flush(self) -> None:
        if self.pending:
            self.chunks.append(pa.array(self.pending, type=self.type))
            self.pending = []

    def array(self) -> pa.ChunkedArray:
        self._flush()
        kind = pa.dictionary(pa.int32(), self.type) if self.encoded else self.type
        return pa.chunked_array(self.chunks, type=kind)


def _one_value(value: Any, value_type: pa.DataType) -> pa.Array:
    """The dictionary of a column with one value (none for None), made once per value: a
    run's and a file's names recur on every one of its files and tables."""
    return _once(_ONE_VALUE, pa.array, [] if value is None else [value], value, value_type)


# (type, value, column type) -> the one-value dictionary, or None: the value fits its column.
# The value's type is in the key: 1, 1.0 and True are one dict key but not one column value.
_ONE_VALUE: dict[tuple, pa.Array] = {}
_FITS: dict[tuple, None] = {}


def _once(memo: dict[tuple, Any], make: Callable[..., Any], arg: Any, value: Any,
          value_type: pa.DataType) -> Any:
    """``make(arg, value_type)``, remembered in ``memo`` by the value (raised errors are not)."""
    try:
        key = (type(value), value, value_type)
        return memo[key]
    except KeyError:
        pass
    except TypeError:  # not hashable: made each time
        return make(arg, value_type)
    if len(memo) >= 4096:
        memo.clear()
    memo[key] = out = make(arg, value_type)
    return out


def _encoded(column: Any, n: int, value_type: pa.DataType) -> pa.DictionaryArray:
    """``n`` rows of a column (None, Same, list or array) as a dictionary array."""
    if column is None or isinstance(column, Same):
        value = None if column is None else column.value
        if value is None:
            return pa.DictionaryArray.from_arrays(pa.nulls(n, pa.int32()),
                                                  _one_value(None, value_type))
        return pa.DictionaryArray.from_arrays(columnar.zeros(n), _one_value(value, value_type),
                                              safe=False)  # the indices are all 0: valid
    arr = column if isinstance(column, pa.Array) else pa.array(column, value_type)
    if pa.types.is_dictionary(arr.type):
        if arr.type == pa.dictionary(pa.int32(), value_type):
            return arr  # built as one already (a sample name per block of bins)
        arr = arr.dictionary_decode()
    return (arr if arr.type == value_type else arr.cast(value_type)).dictionary_encode()


def _fits(value: Any, value_type: pa.DataType) -> None:
    """Raises if ``value`` does not fit a column of ``value_type``; each value checked once."""
    _once(_FITS, _check, value, value, value_type)


def _check(value: Any, value_type: pa.DataType) -> None:
    pa.scalar(value, type=value_type)  # raises when it does not fit


@dataclass(frozen=True, slots=True)
class _FileRows:
    """One file's rows for one table, checked and ready to append."""

    n: int
    values: dict[str, Any]


class _Table:
    """One table's rows from all files of a run, column by column."""

    def __init__(self, name: str, run_values: tuple) -> None:
        self.spec = table(name)
        self.run_values = dict(zip(_RUN_COLUMNS, run_values, strict=True))
        self.encoded = _ENCODED.get(name, frozenset())
        self.columns = {f.name: _Column(f.type, f.name in self.encoded) for f in self.spec.schema
                        if f.name not in _RUN_COLUMNS + _COMMON}
        self.n = 0

    def arrays(self, n: int, columns: Mapping[str, Any], file_values: tuple,
               check: bool = True) -> _FileRows:
        """``n`` rows of one file: ``columns`` (list, Arrow array or Same) with the file name and
        type. Lists are converted here (``check``), so a value that does not fit its column
        raises before any of the file's rows are added, else when the table is made;
        constants stay ``Same`` (checked once)."""
        if not n:
            return _FileRows(0, {})
        merged = {**dict(zip(_FILE_COLUMNS, map(Same, file_values), strict=True)), **columns}
        out: dict[str, Any] = {}
        for name, column in self.columns.items():
            value = merged.get(name)
            if isinstance(value, Same):
                _fits(value.value, column.type)
            elif check and value is not None and not isinstance(value, pa.Array):
                value = pa.array(value, type=column.type)
            out[name] = value
        return _FileRows(n, out)

    def extend(self, rows: _FileRows) -> int:
        """Append the rows of :meth:`arrays`; returns how many."""
        if rows.n:
            for name, column in self.columns.items():
                column.add(rows.values[name], rows.n)
            self.n += rows.n
        return rows.n

    def add(self, n: int, columns: Mapping[str, Any], file_values: tuple) -> None:
        """Append ``n`` rows: ``columns`` (list, Arrow array or Same), the file name and type."""
        self.extend(self.arrays(n, columns, file_values))

    def table(self) -> pa.Table:
        columns, fields = [], []
        for f in self.spec.schema:
            if f.name in self.run_values and f.name in self.encoded:
                columns.append(_encoded(Same(self.run_values[f.name]), self.n, f.type))
            elif f.name in self.run_values:
                columns.append(columnar.repeat(pa.scalar(self.run_values[f.name], type=f.type),
                                               self.n))
            elif f.name in self.columns:
                columns.append(self.columns[f.name].array())
            else:
                continue
            fields.append(f.with_type(columns[-1].type))
        return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _metric_columns(parsed: FileParse, catalogue: Catalogue, phenotype_of: Mapping[str, str],
                    problems: list[Problem], with_ga4gh: bool) -> tuple[int, dict[str, list]]:
    line, section, rg, name, value, pct, text, unit, metric_id, phenotype, ga4gh = \
        [], [], [], [], [], [], [], [], [], [], []
    file_phenotype = parsed.phenotype
    lookup = catalogue.lookup
    for m in parsed.metrics:
        entry = lookup(m.section, m.metric_name)
        if entry is not None and m.value is None and m.unit == "text" and entry.unit != "text":
            problems.append(Problem(ParseError(
                parsed.source, m.line, f"{m.metric_name}: expected a number ({entry.unit}), "
                                       f"found {m.value_text!r}"),
                f"{m.section},{m.read_group},{m.metric_name},{m.value_text}"))
            continue
        line.append(m.line)
        section.append(m.section)
        rg.append(m.read_group)
        name.append(m.metric_name)
        value.append(m.value)
        pct.append(m.value_pct)
        text.append(m.value_text)
        phenotype.append(m.phenotype or file_phenotype or phenotype_of.get(m.read_group))
        if entry is None:
            metric_id.append(None)
            unit.append(m.unit)
            ga4gh.append(None)
        else:
            metric_id.append(entry.metric_id)
            unit.append(entry.unit)
            ga4gh.append(entry.ga4gh_id)
    columns = {"line": line, "section": section, "read_group": rg, "metric_name": name,
               "value": value, "value_pct": pct, "value_text": text, "unit": unit,
               "metric_id": metric_id, "phenotype": phenotype}
    if with_ga4gh:
        columns["ga4gh_id"] = ga4gh
    return len(line), columns


def _with_phenotypes(block: Block, key: str, phenotype_of: Mapping[str, str]) -> Block:
    """Fill a block's missing phenotype from the replay's sample names (``key`` holds the name)."""
    current = block.columns.get("phenotype")
    if not phenotype_of or not (isinstance(current, Same) and current.value is None):
        return block
    names = block.columns[key]
    if isinstance(names, Same):
        phenotype: Any = Same(phenotype_of.get(names.value))
    elif isinstance(names, pa.Array):
        coded = names.dictionary_encode()
        known = pa.array([phenotype_of.get(v) for v in coded.dictionary.to_pylist()], pa.string())
        # the names' indices into their phenotypes: a dictionary column, no string copied
        phenotype = pa.DictionaryArray.from_arrays(coded.indices.cast(pa.int32()), known)
    else:
        phenotype = [phenotype_of.get(v) for v in names]
    return Block(block.n, {**block.columns, "phenotype": phenotype})


# --- I/O ------------------------------------------------------------------------------------------


_LOCAL = pafs.LocalFileSystem()


def run_filesystem(store: LakeStore, folder: str | Path, local: LocalFolders | None = None,
                   ) -> tuple[pafs.FileSystem, str]:
    """The filesystem and path of a run folder: a local path, ``file://`` or ``s3://`` URI.

    An ``s3://`` folder is read with the lake's S3 settings (region, endpoint, keys): run
    outputs live on the same S3 service as the lake. A local folder is resolved through
    ``local`` when given (a batch's folders, each directory looked at once).
    """
    text = str(folder).removeprefix("file://")
    if text.startswith("s3://"):
        fs, _ = filesystem(replace(store.settings, lake_uri=text.rstrip("/")))
        return fs, text[len("s3://"):].rstrip("/")
    if local is not None:
        return _LOCAL, local.resolve(text)[0]
    return _LOCAL, str(Path(text).resolve())



class LocalFolders:
    """Local folders resolved as ``Path.resolve`` does, each directory looked at once.

    The runs a batch finishes share their output prefix: ``Path.resolve`` of each run's folder
    checks every component again (eight ``lstat`` calls a folder), and a folder under one that
    is not there (outputs never written, or written elsewhere) needs no look at all. Meant for
    one batch: a folder made or linked after it was looked at is not seen.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, bool]] = {}  # absolute path -> (resolved, exists)
        self.missing: set[str] = set()  # resolved paths found not there

    def resolve(self, folder: str) -> tuple[str, bool]:
        """``folder`` resolved (symbolic links followed, as ``Path.resolve``), and whether
        it is there."""
        if ".." in folder.split("/"):  # ".." after a link is not lexical: the slow way
            real = os.path.realpath(folder)
            found = real, os.path.lexists(real)
        else:
            found = self._resolved(os.path.abspath(folder))
        if not found[1]:
            self.missing.add(found[0])
        return found

    def _resolved(self, path: str) -> tuple[str, bool]:
        known = self._seen.get(path)
        if known is not None:
            return known
        parent, name = os.path.split(path)
        if not name or parent == path:  # the root
            return path, True
        real_parent, parent_exists = self._resolved(parent)
        real = os.path.join(real_parent, name)
        exists = False
        if parent_exists:  # nothing under a missing folder is there (realpath joins the rest)
            try:
                mode = os.lstat(real).st_mode
            except OSError:
                pass
            else:
                exists = True
                if stat.S_ISLNK(mode):
                    real = os.path.realpath(real)
                    exists = os.path.exists(real)
        self._seen[path] = (real, exists)
        return real, exists


def read_run(fs: pafs.FileSystem, run: RunFiles) -> tuple[dict[str, bytes], list[FileOutcome]]:
    """The files of a run (name -> bytes), and the ones too large to be metric files."""
    files: dict[str, bytes] = {}
    skipped: list[FileOutcome] = []
    local = isinstance(fs, pafs.LocalFileSystem)
    for name in run.names:
        path = f"{run.folder}/{name}"
        if local:
            data = _read_local(path)
        else:
            # compression=None: the bytes as stored (pyarrow would unpack .gz unbounded)
            with fs.open_input_stream(path, compression=None) as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            skipped.append(FileOutcome(name, None, None, error=f"file is over the "
                                       f"{MAX_FILE_BYTES} limit of a metric file"))
            continue
        files[name] = data
    return files, skipped


def _read_local(path: str) -> bytes:
    """A local file's bytes, at most ``MAX_FILE_BYTES + 1`` (more says it is too large).

    Read by its size: asking for the limit allocates 16 MB whatever the file holds (30 µs a
    file, 0.5 ms of a run's 15 files).
    """
    with open(path, "rb") as f:
        size = min(os.fstat(f.fileno()).st_size, MAX_FILE_BYTES)
        data = f.read(size + 1)
        if len(data) > size:  # larger than its size said (growing): read on, to the limit
            data += f.read(MAX_FILE_BYTES + 1 - len(data))
    return data


# How rows reach the lake: ``LakeStore.write`` itself, or a caller's buffer (``finish_runs``
# writes the metrics of a whole batch of runs once per table).
Write = Callable[[str, Any], "WriteResult"]


def write_run(store: LakeStore, parsed: ParsedRun,
              write: Write | None = None) -> dict[str, WriteResult]:
    """Write each table of a parsed run once, then its quarantine rows."""
    if write is None:
        results = {name: store.write(name, tbl, layout=file_layout(name))
                   for name, tbl in parsed.tables.items()}
    else:
        results = {name: write(name, tbl) for name, tbl in parsed.tables.items()}
    write = write or store.write
    if parsed.quarantine:
        results["quarantine"] = write("quarantine", parsed.quarantine)
    return results


def ingest_folder(store: LakeStore, folder: str | Path, *, sample_id: str, run_id: str,
                  run_at: datetime | None = None, write: Write | None = None,
                  local: LocalFolders | None = None) -> IngestSummary:
    """Load one run's DRAGEN output folder into the lake, as ``sample_id`` / ``run_id``.

    The run's time comes from its files (replay, time metrics), else ``run_at``. A folder that
    is not there, holds the outputs of several runs (several output prefixes: they are never
    merged into one), or gives no run time is refused: one quarantine row, and the summary's
    ``error`` says why. Loading the same folder again writes nothing new. ``write``: where the
    rows go (by default ``store.write``, now, in each table's :func:`file_layout`).
    ``local``: the batch's local folders looked at so far (many runs finished at once); one it
    found missing is refused without a listing (a batch of runs that wrote no outputs).
    """
    given, write = write, write or store.write
    fs, root = run_filesystem(store, folder, local)
    # Quarantine rows are keyed by source: one spelling of the folder, however it was given.
    source_root = f"s3://{root}" if str(folder).startswith("s3://") else root
    when = run_at or datetime.now(UTC)

    def refuse(error: ParseError) -> IngestSummary:
        # The runner loads many runs in a row: a bad folder is quarantined, not raised.
        write("quarantine", [quarantine_row(STAGE, source_root, error, at=when)])
        return IngestSummary(str(folder), sample_id, run_id, when, None, {}, {}, 1,
                             [FileOutcome(str(folder), None, None, error=error.reason)],
                             error=error.reason)

    if local is not None and root in local.missing:
        return refuse(folder_not_found(root))  # as list_files would, without looking again
    try:
        paths = list_files(fs, root)
    except ParseError as e:
        return refuse(e)
    found = group_runs(root, paths, whole_folder=True)
    if len(found.runs) > 1:
        prefixes = ", ".join(r.label for r in found.runs)
        return refuse(ParseError(str(folder), None, (
            f"holds the outputs of {len(found.runs)} runs ({prefixes}); load them with "
            "`seqledger ingest dragen FOLDER` (one run each), or point at one run's folder")))
    other = [FileOutcome(p[len(root):].lstrip("/"), None, None,
                         skipped="not a DRAGEN metric file name")
             for p in paths if not is_metric_name(p)]
    orphans = [FileOutcome(p[len(root):].lstrip("/"), None, None, skipped=why)
               for p, why in found.orphans]
    files: dict[str, bytes] = {}
    big: list[FileOutcome] = []
    if found.runs:
        files, big = read_run(fs, found.runs[0])
        files = {f"{_relative(found.runs[0].folder, root)}{k}": v for k, v in files.items()}
    try:
        parsed = parse_run_files(files, sample_id=sample_id, run_id=run_id, run_at=run_at,
                                 source_root=source_root)
    except ParseError as e:
        return refuse(e)
    # Refused, not skipped: a metric file with more bytes than any metric file can hold is an
    # input that was not loaded, so it is quarantined (never parsed).
    too_big = [quarantine_row(STAGE, f"{source_root}/{f.name}",
                              ParseError(f.name, None, f.error), at=parsed.run_at)
               for f in big if f.error]
    if too_big:
        parsed = replace(parsed, quarantine=[*parsed.quarantine, *too_big])
    results = write_run(store, parsed, given)
    return IngestSummary(
        folder=str(folder), sample_id=sample_id, run_id=run_id, run_at=parsed.run_at,
        dragen_version=parsed.dragen_version, rows=parsed.row_counts,
        rows_written={name: r.rows_written for name, r in results.items() if name != "quarantine"},
        quarantined=len(parsed.quarantine),
        files=sorted([*parsed.files, *other, *orphans, *big], key=lambda f: f.name),
    )


def _relative(folder: str, root: str) -> str:
    """``folder`` relative to ``root``, with a trailing slash ('' when they are the same)."""
    rel = folder[len(root):].strip("/") if folder.startswith(root) else ""
    return f"{rel}/" if rel else ""
