"""The lake store: Hive-partitioned Parquet on a local folder or on S3, one code path.

Writes are append-only and atomic, and their file names are derived from the rows' natural keys,
so writing the same rows again is a no-op. Readers and views deduplicate by key, which also makes
compaction safe while readers are running.

The naming rule the views rely on (see ``is_compacted``): a data file in ``month=YYYY-MM/`` is
either ``part-*.parquet``, written by ``write`` (its keys may repeat in other files), or
``compacted-*.parquet``, written by ``compact``: the month's only compacted file, each key once.
A month whose files are all compacted needs no deduplication; only months with ``part-`` files do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lake.errors import LakeReadError, LakeWriteError, LockBusy, SchemaError
from lake.retry import retrying
from lake.schemas import SCHEMA_VERSION, TableSpec, table
from lake.settings import Settings

ROW_GROUP_ROWS = 1_000_000  # large row groups scan fast (stack-findings §6)
COMPACTED_PREFIX = "compacted-"  # the naming rule in the module docstring
PART_PREFIX = "part-"
EMPTY_PREFIX = "empty-"  # a derived month with no rows (``LakeStore.mark_empty_month``)


def is_compacted(path: str) -> bool:
    """Whether a data file is a month's compacted file (unique keys), by its name."""
    return path.rpartition("/")[2].startswith(COMPACTED_PREFIX)


# A ``.partial`` file older than this belongs to a write that died (kill -9, power loss): no live
# write takes an hour to write one file, so compaction removes it.
ORPHAN_AGE_S = 3600


@dataclass(frozen=True, slots=True)
class FileLayout:
    """How a writer's Parquet files store their columns; the default is Parquet's (every column
    dictionary-encoded, with min/max statistics, plain otherwise).

    For writers of millions of rows per call (DRAGEN histograms): hashing a column that is
    nearly all distinct (a dictionary), or computing min/max of a dictionary column that no
    query filters on, costs more than the rest of the write.
    """

    dictionary: tuple[str, ...] | None = None  # the dictionary-encoded columns (None: all)
    statistics: tuple[str, ...] | None = None  # the columns with min/max (None: all)
    encodings: tuple[tuple[str, str], ...] = ()  # (column, Parquet encoding) of plain columns

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``pyarrow.parquet.write_table``."""
        out: dict[str, Any] = {
            "use_dictionary": True if self.dictionary is None else list(self.dictionary),
            "write_statistics": True if self.statistics is None else list(self.statistics),
        }
        if self.encodings:
            out["column_encoding"] = dict(self.encodings)
        return out


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write did: files created, files that already existed, rows written."""

    table: str
    files_written: tuple[str, ...]
    files_existing: tuple[str, ...]
    rows_written: int


def filesystem(settings: Settings) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and root path for the configured lake."""
    if settings.lake_is_s3:
        opts = settings.s3
        kwargs: dict[str, Any] = {"region": opts.region}
        if opts.endpoint_url:
            scheme, _, host = opts.endpoint_url.partition("://")
            kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
        if opts.access_key and opts.secret_key:
            kwargs.update(access_key=opts.access_key, secret_key=opts.secret_key)
            if opts.session_token:
                kwargs["session_token"] = opts.session_token
        return pafs.S3FileSystem(**kwargs), settings.lake_uri[len("s3://") :]
    return pafs.LocalFileSystem(), settings.lake_uri


def read_text(settings: Settings, location: str) -> str:
    """A small text file from a folder path or an ``s3://`` URI (same credentials as the lake)."""
    return read_bytes(settings, location).decode("utf-8")


def read_bytes(settings: Settings, location: str) -> bytes:
    """A file's bytes from a folder path or an ``s3://`` URI (same credentials as the lake)."""
    if location.startswith("s3://"):
        fs, _ = filesystem(Settings(lake_uri=location, s3=settings.s3))
        path = location[len("s3://") :]
    else:
        fs, path = pafs.LocalFileSystem(), location

    def read() -> bytes:
        with fs.open_input_stream(path) as f:
            return f.read()

    try:
        data = retrying(read, what=f"reading {location}", budget_s=settings.storage_retry_s,
                        error=LakeReadError)
    except LakeReadError as e:
        if isinstance(e.__cause__, FileNotFoundError):
            raise e.__cause__ from None  # callers tell a missing file from a failing one
        raise
    return data


def month_of(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """The months from ``first`` to ``last`` (YYYY-MM), both included; empty if first > last."""
    y, m = map(int, first.split("-"))
    end = tuple(map(int, last.split("-")))
    out = []
    while (y, m) <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def to_table(
    spec: TableSpec,
    rows: Sequence[Mapping[str, Any]] | pa.Table,
    recorded_at: datetime | None = None,
) -> pa.Table:
    """Rows (dicts or an Arrow table) as a table of ``spec``'s schema, with the common columns.

    Raises:
        SchemaError: a column is unknown, a required value is missing, or a value has the
            wrong type.
    """
    recorded_at = recorded_at or datetime.now(UTC)
    if isinstance(rows, pa.Table):
        unknown = set(rows.column_names) - set(spec.columns)
        n = rows.num_rows
        columns: dict[str, Any] = {name: rows.column(name) for name in rows.column_names}
    else:
        n = len(rows)
        columns, unknown = _dict_columns(rows, spec.columns)
    if unknown:
        raise SchemaError(f"{spec.name}: unknown column(s) {sorted(unknown)}")
    defaults = {"schema_version": SCHEMA_VERSION, "recorded_at": recorded_at}
    arrays = []
    for f in spec.schema:
        arr = _column(spec, f, columns.get(f.name), n)
        if f.name in defaults and arr.null_count:
            arr = pc.fill_null(arr, pa.scalar(defaults[f.name], type=f.type))
        if not f.nullable and arr.null_count:
            first = pc.index(pc.is_null(arr), True).as_py()
            raise SchemaError(
                f"{spec.name}: column {f.name!r} is required but missing in "
                f"row {first} ({arr.null_count} row(s))"
            )
        arrays.append(arr)
    schema = pa.schema([f.with_type(a.type) for f, a in zip(spec.schema, arrays, strict=True)],
                       metadata=spec.schema.metadata)
    return pa.Table.from_arrays(arrays, schema=schema)


def columns_table(spec: TableSpec, columns: Mapping[str, Sequence[Any]]) -> pa.Table:
    """Columns of Python values (name -> values, one per row) as a table of ``spec``'s types,
    checked as ``to_table`` checks rows; the columns not given are for ``to_table`` to add
    (``LakeStore.write`` does, with the write's ``recorded_at``). A writer that gathers a
    batch as columns skips a dict per row.

    Raises:
        SchemaError: a column is unknown or a value has the wrong type.
    """
    unknown = set(columns) - set(spec.columns)
    if unknown:
        raise SchemaError(f"{spec.name}: unknown column(s) {sorted(unknown)}")
    n = len(next(iter(columns.values()), ()))
    fields = [f for f in spec.schema if f.name in columns]
    return pa.Table.from_arrays([_column(spec, f, columns[f.name], n) for f in fields],
                                schema=pa.schema(fields))


def _dict_columns(
    rows: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> tuple[dict[str, Sequence[Any]], set[str]]:
    """Dict rows as column lists (a missing key is a null), and the keys not in ``names``.

    Rows made by one function share one key order: those are transposed in one pass of
    ``zip`` instead of a lookup per row and column (a third of a batch's conversion).
    """
    first = tuple(rows[0]) if rows else ()
    if rows and all(tuple(r) == first for r in rows):
        if all(type(r) is dict for r in rows):  # a dict's values come in its keys' order
            columns = zip(*map(dict.values, rows), strict=True)
        else:
            columns = ([r[k] for r in rows] for k in first)
        values = dict(zip(first, columns, strict=True))
        return {name: values[name] for name in names if name in values}, set(first) - set(names)
    unknown = {k for r in rows for k in r} - set(names)
    return {name: [r.get(name) for r in rows] for name in names}, unknown


def _naive_at(values: Sequence[Any]) -> int | None:
    """The index of the first datetime without a time zone among ``values``, if any."""
    # One C-level pass first: a None value reads as UTC here, a naive datetime as None.
    if None not in set(map(getattr, values, repeat("tzinfo"), repeat(UTC))):
        return None
    return next(
        (i for i, v in enumerate(values) if isinstance(v, datetime) and v.tzinfo is None), None
    )


def _fraction_at(values: Sequence[Any]) -> int | None:
    """The index of the first float that is not a whole number among ``values``, if any."""
    if not any(issubclass(t, float) for t in set(map(type, values))):
        return None
    return next(
        (i for i, v in enumerate(values) if isinstance(v, float) and not v.is_integer()), None
    )


def _column(spec: TableSpec, f: pa.Field, values: Any, n: int) -> pa.Array | pa.ChunkedArray:
    """One column as an array of the field's type (all nulls when absent).

    Chunked columns stay chunked: the Parquet writer takes chunks as they are, and combining
    them first copied every value of a batch once more (a third of a DRAGEN batch's write).
    """
    if values is None:
        return pa.nulls(n, type=f.type)
    try:
        if isinstance(values, pa.ChunkedArray | pa.Array):
            arr = values
            if pa.types.is_dictionary(arr.type) and arr.type.value_type == f.type:
                return arr  # the same values, each stored once: the Parquet writer keeps them so
            if (
                pa.types.is_timestamp(f.type)
                and f.type.tz
                and pa.types.is_timestamp(arr.type)
                and not arr.type.tz
            ):
                raise SchemaError(
                    f"{spec.name}: column {f.name!r} has timestamps without a "
                    "time zone; the lake stores UTC"
                )
            return arr if arr.type == f.type else arr.cast(f.type)  # a safe cast: never lossy
        if pa.types.is_timestamp(f.type) and f.type.tz:
            naive = _naive_at(values)
            if naive is not None:  # local time or UTC? the lake will not guess
                raise SchemaError(
                    f"{spec.name}: column {f.name!r}: row {naive} has a datetime "
                    "without a time zone; the lake stores UTC"
                )
        if pa.types.is_integer(f.type):
            lossy = _fraction_at(values)
            if lossy is not None:
                raise SchemaError(
                    f"{spec.name}: column {f.name!r}: row {lossy} holds "
                    f"{values[lossy]!r}, not a whole number"
                )
        return pa.array(values, type=f.type)
    except (
        pa.ArrowInvalid,
        pa.ArrowTypeError,
        pa.ArrowNotImplementedError,
        TypeError,
        ValueError,
        OverflowError,
    ) as e:
        raise SchemaError(f"{spec.name}: column {f.name!r}: {e}") from e


# Bookkeeping columns never decide whether two rows are the same.
_NOT_CONTENT = frozenset({"recorded_at", "schema_version"})


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A column as text for hashing: Arrow's cast for flat types, JSON for nested ones."""
    if pa.types.is_nested(col.type):
        return pa.array(
            [
                None if v is None else json.dumps(v, sort_keys=True, default=str)
                for v in col.to_pylist()
            ],
            type=pa.string(),
        )
    return pc.cast(col, pa.string())


def key_digest(tbl: pa.Table, key: Iterable[str]) -> str:
    """A name for a set of rows that depends only on the ``key`` columns, not the row order.

    ``key`` may contain ``*``: every column but the bookkeeping ones (a content version).
    """
    names: list[str] = []
    for k in key:
        names += [c for c in tbl.column_names if c not in _NOT_CONTENT] if k == "*" else [k]
    parts = [_as_text(tbl.column(k)) for k in names]
    parts = [pc.fill_null(p, "\x00") for p in parts]
    joined = pc.binary_join_element_wise(*parts, "\x1f") if len(parts) > 1 else parts[0]
    # sha256 of every key + "\x1e", in sorted order, hashed from one Arrow buffer: Arrow sorts
    # UTF-8 bytewise, which is code-point order, the order Python's sorted() gave the strings.
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    order = pc.sort_indices(joined)  # the keys' order, before the separator is appended
    ordered = pc.binary_join_element_wise(joined, pa.scalar("\x1e"), "").take(order)
    offsets, data = ordered.buffers()[1:3]
    start, end = memoryview(offsets).cast("i")[0], memoryview(offsets).cast("i")[len(ordered)]
    h = hashlib.sha256()
    if data is not None:
        h.update(memoryview(data)[start:end])
    return h.hexdigest()[:24]


class _Hashing:
    """A write-only file that keeps nothing but a SHA-256 of what goes through it."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.closed = False

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def content_digest(tbl: pa.Table, columns: Iterable[str]) -> str:
    """A name for a table's content in ``columns``, hashed from its Arrow IPC stream.

    Unlike ``key_digest`` no value becomes a Python object, so naming a compacted month of
    millions of rows costs no memory beyond one record batch. The same rows in the same order
    give the same name; different content never shares one.
    """
    sink = _Hashing()
    part = tbl.select(list(columns))
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), part.schema) as out:
        for batch in part.to_batches(max_chunksize=65_536):
            out.write_batch(batch)
    return sink.hash.hexdigest()[:24]


def _by_month(tbl: pa.Table, time_column: str) -> list[tuple[str, pa.Table]]:
    """The rows of each month, months in order. A batch is usually one month (often one time,
    a run's): the distinct times are formatted, not every row."""
    times = tbl.column(time_column)
    months = sorted(set(pc.strftime(pc.unique(times), format="%Y-%m", locale="C").to_pylist()))
    if len(months) == 1:
        return [(months[0], tbl)]
    per_row = pc.strftime(times, format="%Y-%m", locale="C")
    return [(month, tbl.filter(pc.equal(per_row, month))) for month in months]


class LakeStore:
    """Reads and writes the lake's tables through one pyarrow filesystem."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fs, self.root = filesystem(settings)

    # -- paths ---------------------------------------------------------------------------------
    def table_path(self, name: str) -> str:
        return f"{self.root}/{table(name).name}"

    def table_uri(self, name: str) -> str:
        """The table's location as DuckDB and Athena name it (folder path or s3:// URI)."""
        prefix = "s3://" if self.settings.lake_is_s3 else ""
        return f"{prefix}{self.table_path(name)}"

    def _retry(self, operation, what: str, error=LakeReadError):
        """``operation()`` retried on transient storage errors for ``storage_retry_s``."""
        return retrying(operation, what=what, budget_s=self.settings.storage_retry_s, error=error)

    def files(self, name: str, months: Iterable[str] | None = None) -> list[str]:
        """Data files of a table (paths inside the filesystem), sorted.

        With ``months`` (YYYY-MM), only those partitions are listed: a listing whose cost is
        the partitions' size, not the table's history.
        """
        base = self.table_path(name)
        roots = [base] if months is None else [f"{base}/month={m}" for m in sorted(set(months))]
        infos = [
            i
            for root in roots
            for i in self._retry(
                lambda root=root: self.fs.get_file_info(
                    pafs.FileSelector(root, recursive=True, allow_not_found=True)),
                f"listing {self.table_uri(name)}")
        ]
        return sorted(
            i.path
            for i in infos
            if i.type == pafs.FileType.File
            and i.base_name.endswith(".parquet")
            and not i.base_name.startswith(".")
        )

    def has_files(self, name: str) -> bool:
        """Whether a table has a data file, without listing them all (one request on S3)."""
        path = self.table_path(name)
        if self.settings.lake_is_s3:  # a prefix exists while an object is under it
            return self.fs.get_file_info(path).type == pafs.FileType.Directory
        return any(not p.name.startswith(".") for p in Path(path).glob("month=*/*.parquet"))

    def months(self, name: str) -> list[str]:
        """The month partitions (YYYY-MM) of a table: one listing of its top level."""
        selector = pafs.FileSelector(self.table_path(name), allow_not_found=True)
        return sorted(
            i.base_name.partition("=")[2]
            for i in self.fs.get_file_info(selector)
            if i.type == pafs.FileType.Directory and i.base_name.startswith("month=")
        )

    # -- writing -------------------------------------------------------------------------------
    def write(
        self,
        name: str,
        rows: Sequence[Mapping[str, Any]] | pa.Table,
        recorded_at: datetime | None = None,
        *,
        inputs_digest: str | None = None,
        dictionary: Sequence[str] | None = None,
        layout: FileLayout | None = None,
    ) -> WriteResult:
        """Append rows to a table: one file per month touched, named by the rows' keys.

        A write that repeats earlier keys exactly creates nothing. A file becomes visible
        whole or not at all (rename on a local disk; a server-side copy on S3).

        ``inputs_digest``: a digest of the inputs the rows were made from (a batch of DRAGEN
        runs: their ids and file contents), for writers whose rows are a pure function of those
        inputs. It names the files instead of a hash of every key, and the rows are written in
        the order given, unsorted: on large batches those two steps cost more than the rest of
        the write. The same inputs still give the same names, so a repeat is still a no-op.

        ``dictionary``: the columns to dictionary-encode (default: every column, Parquet's
        default). A writer of millions of rows per call names its repetitive columns: hashing
        every value of a column that is nearly all distinct (a histogram's bins) costs time and
        makes the file larger than plain encoding. ``layout``: the same and more (which columns
        get statistics, other encodings); ``dictionary`` is a layout with only that set.
        """
        spec = table(name)
        if layout is None and dictionary is not None:
            layout = FileLayout(dictionary=tuple(dictionary))
        if len(rows) == 0:
            return WriteResult(name, (), (), 0)
        tbl = to_table(spec, rows, recorded_at)
        if inputs_digest is None and tbl.schema != spec.schema:
            tbl = tbl.cast(spec.schema)  # keys are sorted and hashed as plain values
        written, existing, n_written = [], [], 0
        for month, part in _by_month(tbl, spec.time_column):
            if inputs_digest is None:
                part = part.sort_by([(k, "ascending") for k in spec.key])
                path = self._part_path(name, month, part)
            else:
                path = f"{self.table_path(name)}/month={month}/part-{inputs_digest[:24]}.parquet"
            if self._exists(path):
                existing.append(path)
                continue
            self._write_atomic(part, path, layout)
            written.append(path)
            n_written += part.num_rows
        return WriteResult(name, tuple(written), tuple(existing), n_written)

    def _part_path(self, name: str, month: str, rows: pa.Table) -> str:
        digest = key_digest(rows, table(name).file_key)
        return f"{self.table_path(name)}/month={month}/part-{digest}.parquet"

    def _exists(self, path: str) -> bool:
        return self._retry(lambda: self.fs.get_file_info(path).type == pafs.FileType.File,
                           f"checking {path}")

    def _write_atomic(self, tbl: pa.Table, path: str, layout: FileLayout | None = None) -> None:
        if self.settings.lake_is_s3:
            self._retry(lambda: self._put(tbl, path, layout), f"writing s3://{path}",
                        LakeWriteError)
            return
        try:
            _write_local(tbl, path, layout)
        except OSError as e:
            raise LakeWriteError(f"could not write {path}: {e}") from e

    def _put(self, tbl: pa.Table, path: str, layout: FileLayout | None = None) -> None:
        """Upload under a hidden temporary key, then copy it to ``path`` server-side.

        pyarrow's S3 stream completes the upload when it is closed, even when the ``with`` block
        is left by an exception: written to the final key directly, a failure part-way would
        leave a truncated file that the retry skips (the name exists) and every read trips
        over. The copy (one CopyObject) makes the object appear whole or not at all; the
        temporary key is hidden from readers (leading dot, no .parquet suffix).
        """
        directory, _, base = path.rpartition("/")
        tmp = f"{directory}/.{base}.{uuid.uuid4().hex}.partial"
        try:
            with self.fs.open_output_stream(tmp) as out:
                _write_parquet(tbl, out, layout)
            self.fs.copy_file(tmp, path)
        finally:
            # a stray hidden object costs nothing; the write's own error is the one to raise
            with contextlib.suppress(OSError):
                self.fs.delete_file(tmp)

    # -- files beside the tables ---------------------------------------------------------------
    def write_aside(self, folder: str, name: str, tbl: pa.Table) -> bool:
        """Write ``<lake>/<folder>/<name>.parquet`` whole or not at all, unless it exists: a
        writer's own bookkeeping beside the tables (no view reads it). True if written."""
        path = f"{self.root}/{folder}/{name}.parquet"
        if self._exists(path):
            return False
        self._write_atomic(tbl, path)
        return True

    def read_aside(self, folder: str, schema: pa.Schema) -> pa.Table | None:
        """Every file :meth:`write_aside` wrote in ``folder``, as one table (None: no file)."""
        infos = self._retry(lambda: self.fs.get_file_info(
            pafs.FileSelector(f"{self.root}/{folder}", allow_not_found=True)),
            f"listing {folder}")
        paths = sorted(i.path for i in infos if i.type == pafs.FileType.File
                       and i.base_name.endswith(".parquet") and not i.base_name.startswith("."))
        if not paths:
            return None
        return pa.concat_tables([self._retry(lambda p=p: pq.read_table(p, filesystem=self.fs,
                                                                       schema=schema),
                                             f"reading {p}") for p in paths])

    # -- reading -------------------------------------------------------------------------------
    def read(self, name: str, *, dedupe: bool = True, month: str | None = None) -> pa.Table:
        """A table's rows (optionally one month); deduplicated by key, latest row winning."""
        spec = table(name)
        files = self.files(name, None if month is None else [month])
        if not files:
            return spec.schema.empty_table()
        import pyarrow.dataset as ds  # imports pandas: only readers pay for it

        tbl = self._retry(
            lambda: ds.dataset(files, schema=spec.schema, format="parquet",
                               filesystem=self.fs).to_table(),
            f"reading {self.table_uri(name)}")
        return latest_by_key(tbl, spec) if dedupe else tbl

    # -- maintenance ---------------------------------------------------------------------------
    def compact(self, name: str, month: str, *, wait_s: float = 60.0) -> tuple[int, int]:
        """Rewrite one month of a table into one file of unique keys; returns (files before, after).

        Readers never see a gap nor two compacted files of one month (which would double keys the
        views take as unique): the result is first written as a ``part-`` file (deduplicated like
        any other), the old compacted file is deleted, the new one takes its ``compacted-`` name,
        and only then are the month's other files deleted. A crash at any step leaves a month the
        views read correctly, and the next compaction finishes the job.

        One compaction of a partition runs at a time: a second one waits for the lock up to
        ``wait_s`` seconds.

        Raises:
            LockBusy: another process kept compacting the partition for ``wait_s`` seconds.
        """
        from lake.claims import ClaimStore

        claims = ClaimStore.for_settings(self.settings)
        lock_name = f"compact/{table(name).name}/month={month}"
        lock = claims.lock(lock_name, wait_s=wait_s)
        if lock is None:
            holder = claims.lock_holder(lock_name)
            who = (f"{holder[0]} since {holder[1]:%Y-%m-%d %H:%M:%S}Z" if holder
                   else "another process")
            raise LockBusy(f"{name} {month}: being compacted by {who}; skipped after {wait_s:g}s")
        with lock:
            return self._compact(name, month)

    def _compact(self, name: str, month: str) -> tuple[int, int]:
        if not self.settings.lake_is_s3:
            self.remove_orphans(name, month)
        files = self.files(name, [month])
        if not files:
            return 0, 0
        spec = table(name)
        raw = self.read(name, month=month, dedupe=False)
        keep = winners(raw, spec)  # sorted by key
        # Column by column, each raw column let go once its winners are copied: the month is held
        # about once, not twice (the largest month of a seed-scale year: 2.3 GB peak, now 1.x GB).
        schema, columns = raw.schema, []
        while raw.num_columns:
            columns.append(raw.column(0).take(keep))
            raw = raw.remove_column(0)
        del raw
        tbl = pa.Table.from_arrays(columns, schema=schema)
        del columns
        if (
            len(files) == 1
            and is_compacted(files[0])
            and tbl.num_rows == pq.read_metadata(files[0], filesystem=self.fs).num_rows
        ):
            return 1, 1  # already one compacted file of unique keys
        # Named by the keys and the versions kept, not the keys alone: a newer version of a key
        # must never lose to an older file that happens to hold the same key set.
        content = [c for c in tbl.column_names if c not in _NOT_CONTENT]
        named_by: list[str] = []
        for k in (*spec.file_key, spec.order_by, "recorded_at"):
            named_by += content if k == "*" else [k]
        return len(files), self._install_month(
            name, month, tbl, files, tuple(dict.fromkeys(named_by))
        )

    def replace_month(self, name: str, month: str, rows: pa.Table) -> int:
        """Make ``rows`` the whole content of one month of a table (its files after: 0 or 1).

        For tables seqledger derives from others (the rollups): the month becomes one compacted
        file, replaced the way compaction replaces files, so readers never see a gap or a double.
        Replacing a month with the rows it already holds writes nothing.
        """
        spec = table(name)
        files = [f for f in self.files(name) if f"/month={month}/" in f]
        tbl = latest_by_key(to_table(spec, rows), spec)
        if tbl.num_rows == 0:
            for f in files:
                self._retry(lambda f=f: self.fs.delete_file(f), f"deleting {f}", LakeWriteError)
            return 0
        # Named by the content alone (not when it was computed): the same rows, the same file.
        content = [c for c in tbl.column_names if c not in _NOT_CONTENT]
        return self._install_month(name, month, tbl, files, tuple(content))

    def mark_empty_month(self, name: str, month: str, tag: str) -> None:
        """Leave a month of a derived table with no rows but a name saying so: one zero-row file
        ``empty-<tag>.parquet`` (readers see no rows; the rollups read ``tag``, the digest of the
        facts that gave nothing, from the name). ``replace_month`` removes it with the rest."""
        spec = table(name)
        folder = f"{self.table_path(name)}/month={month}"
        path = f"{folder}/{EMPTY_PREFIX}{tag}.parquet"
        if path in self.files(name, [month]):
            return
        self.replace_month(name, month, spec.schema.empty_table())
        staged = f"{folder}/{PART_PREFIX}empty-{tag}.parquet"
        self._write_atomic(spec.schema.empty_table(), staged)
        self.fs.move(staged, path)

    def _install_month(
        self, name: str, month: str, tbl: pa.Table, files: list[str], named_by: tuple[str, ...]
    ) -> int:
        digest = content_digest(tbl, named_by)  # ``tbl`` is sorted by key: a stable order
        folder = f"{self.table_path(name)}/month={month}"
        path = f"{folder}/{COMPACTED_PREFIX}{digest}.parquet"
        staged = f"{folder}/{PART_PREFIX}compacting-{digest}.parquet"
        if path not in files:
            self._write_atomic(tbl, staged)
        for f in files:
            if is_compacted(f) and f != path:
                self._retry(lambda f=f: self.fs.delete_file(f), f"deleting {f}", LakeWriteError)
        if path not in files:
            self.fs.move(staged, path)  # a rename on a local disk; copy, then delete, on S3
        for f in files:
            if f not in (path, staged) and not is_compacted(f):
                self._retry(lambda f=f: self.fs.delete_file(f), f"deleting {f}", LakeWriteError)
        return 1

    def remove_orphans(self, name: str, month: str, now: float | None = None) -> list[str]:
        """Delete the ``.partial`` files of writes that died, older than ``ORPHAN_AGE_S``."""
        folder = f"{self.table_path(name)}/month={month}"
        infos = self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
        cutoff = (now if now is not None else time.time()) - ORPHAN_AGE_S
        removed = []
        for info in infos:
            if info.type == pafs.FileType.File and info.base_name.startswith(".") \
                    and info.base_name.endswith(".partial") and info.mtime is not None \
                    and info.mtime.timestamp() < cutoff:
                try:
                    self.fs.delete_file(info.path)
                except FileNotFoundError:  # another compaction got there first
                    continue
                removed.append(info.path)
        return removed


def _write_parquet(tbl: pa.Table, out: Any, layout: FileLayout | None = None) -> None:
    """A table as Parquet. Arrow dictionary columns (values repeated for a whole file or run) are
    written as they are: one dictionary per column (unified across the table's chunks, else the
    writer decodes every chunk after the first) and no Arrow schema in the file, so every reader
    sees the schema's plain type (the Parquet column is the same either way)."""
    encoded = any(pa.types.is_dictionary(f.type) for f in tbl.schema)
    pq.write_table(tbl.unify_dictionaries() if encoded else tbl, out,
                   row_group_size=ROW_GROUP_ROWS, compression="zstd",
                   store_schema=not encoded, **(layout or FileLayout()).options())


def _write_local(tbl: pa.Table, path: str, layout: FileLayout | None = None) -> None:
    """Write ``path`` whole or not at all, and durably: the data and the directory entry reach the
    disk (fsync) before the rename is trusted, so a power loss never leaves a named, empty file."""
    directory, _, base = path.rpartition("/")
    os.makedirs(directory, exist_ok=True)
    tmp = f"{directory}/.{base}.{uuid.uuid4().hex}.partial"
    try:
        with open(tmp, "wb") as out:
            _write_parquet(tbl, out, layout)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(directory)
        _fsync_dir(directory.rpartition("/")[0] or "/")  # a new month= folder's own entry
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def latest_by_key(tbl: pa.Table, spec: TableSpec) -> pa.Table:
    """One row per natural key: the one with the largest ``order_by``, then ``tie_break``
    columns, then ``recorded_at``.

    Sorts row indices, not rows, and finds where the key changes with Arrow comparisons, so only
    the winning rows are ever moved (a month of job attempts, 2.5 M rows, in about 2 s).
    """
    return tbl.take(winners(tbl, spec)) if tbl.num_rows > 1 else tbl


def winners(tbl: pa.Table, spec: TableSpec) -> pa.Array:
    """The indices of ``latest_by_key``'s rows in ``tbl``, in key order."""
    n = tbl.num_rows
    order = [(k, "ascending") for k in spec.key]
    order += [(c, "descending") for c in (spec.order_by, *spec.tie_break, "recorded_at")]
    idx = pc.sort_indices(tbl.select(list(dict.fromkeys(c for c, _ in order))), sort_keys=order)
    if n <= 1:
        return idx
    keys = tbl.select(list(spec.key)).take(idx)
    changed = pa.array([False] * (n - 1))
    for k in spec.key:
        col = keys.column(k).combine_chunks()
        cur, prev = col.slice(1), col.slice(0, n - 1)
        differs = pc.fill_null(pc.not_equal(cur, prev), False)
        null_differs = pc.not_equal(pc.is_null(cur), pc.is_null(prev))
        changed = pc.or_(changed, pc.or_(differs, null_differs))
    first = pa.concat_arrays([pa.array([True]), changed])  # the first row of each key wins
    return pc.filter(idx, first)
