"""AWS billing exports in: legacy CUR (Athena-style Parquet, or CSV) and CUR 2.0 Parquet.

``normalize_cur`` is pure: an Arrow table of export rows in, ``billed_costs`` rows and quarantine
rows out. It keeps what cost truth needs: line item id and hour, usage and line item type,
resource id, instance type, Spot/On-Demand, tags (legacy ``resource_tags_user_*`` columns or the
CUR 2.0 ``resource_tags`` map), and split cost allocation columns when present. A row that does
not parse (no id, no start, a cost or rate that is not a number) goes to quarantine naming the file
and row; the rest of the file goes on. A file that is not a billing export is refused whole.

``load_cur_files`` is the adapter: read, normalize, write. Rows are keyed by line item id, hour,
usage type and resource, so loading the same file again writes nothing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lake.errors import ParseError, SeqledgerError
from lake.quarantine import quarantine_row
from lake.schemas import TAG_COLUMNS, TS

if TYPE_CHECKING:
    from lake.store import LakeStore

STAGE = "ingest.cur"
BATCH_ROWS = 500_000  # rows normalized and written at a time (Parquet is read by row group)

# Columns every line item needs. identity_time_interval is derived from the dates when absent.
REQUIRED = (
    "identity_line_item_id",
    "line_item_usage_start_date",
    "line_item_usage_type",
    "line_item_unblended_cost",
)

# Column families of legacy CUR and CUR 2.0; anything else is reported as unknown (and ignored).
KNOWN_PREFIXES = (
    "identity_",
    "bill_",
    "line_item_",
    "product_",
    "pricing_",
    "reservation_",
    "savings_plan_",
    "resource_tags",
    "split_line_item_",
    "cost_category",
    "discount",
)
KNOWN_COLUMNS = frozenset(
    {"product", "discount", "cost_category", "resource_tags", "year", "month", "billing_period"}
)

# export column -> (billed_costs column, kind)
STRINGS = {
    "identity_line_item_id": "line_item_id",
    "identity_time_interval": "time_interval",
    "bill_payer_account_id": "payer_account_id",
    "line_item_usage_account_id": "usage_account_id",
    "line_item_line_item_type": "line_item_type",
    "line_item_product_code": "product_code",
    "line_item_usage_type": "usage_type",
    "line_item_operation": "operation",
    "line_item_availability_zone": "availability_zone",
    "line_item_resource_id": "resource_id",
    "pricing_unit": "pricing_unit",
    "line_item_currency_code": "currency_code",
    "split_line_item_parent_resource_id": "split_parent_resource_id",
}
FLOATS = {
    "line_item_usage_amount": "usage_amount",
    "line_item_unblended_rate": "unblended_rate_usd",
    "line_item_unblended_cost": "unblended_cost_usd",
    "line_item_net_unblended_cost": "net_unblended_cost_usd",
    "pricing_public_on_demand_cost": "public_on_demand_cost_usd",
    "split_line_item_split_usage": "split_usage",
    "split_line_item_split_usage_ratio": "split_usage_ratio",
    "split_line_item_reserved_usage": "split_reserved_usage",
    "split_line_item_actual_usage": "split_actual_usage",
    "split_line_item_split_cost": "split_cost_usd",
    "split_line_item_unused_cost": "split_unused_cost_usd",
    "split_line_item_net_split_cost": "split_net_split_cost_usd",
    "split_line_item_public_on_demand_split_cost": "split_public_on_demand_cost_usd",
}
TIMES = {
    "line_item_usage_start_date": "usage_start_at",
    "line_item_usage_end_date": "usage_end_at",
    "bill_billing_period_start_date": "billing_period_start_at",
}
REGION_COLUMNS = ("product_region_code", "product_region")
INSTANCE_COLUMN = "product_instance_type"
LEGACY_TAG_PREFIX = "resource_tags_"
_INSTANCE_USAGE = re.compile(
    r"(?:BoxUsage|SpotUsage|DedicatedUsage|HostUsage):(?P<t>[a-z0-9]+\.[a-z0-9]+)$"
)


@dataclass(frozen=True, slots=True)
class CurBatch:
    """One normalized piece of a billing export."""

    source: str
    export_format: str  # legacy-cur | cur2
    rows: pa.Table  # billed_costs columns (without schema_version and recorded_at)
    quarantine: list[dict[str, Any]]
    rows_read: int
    unknown_columns: tuple[str, ...] = ()


@dataclass
class CurLoadResult:
    """What loading one file did."""

    source: str
    export_format: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0  # rows written now (0 when the file was loaded before)
    rows_valid: int = 0
    quarantined: int = 0
    unknown_columns: tuple[str, ...] = ()
    unblended_cost_usd: float = 0.0  # of the valid rows
    error: str | None = None  # the file was refused whole
    by_usage_type: dict[str, float] = field(default_factory=dict)


# -- column names ----------------------------------------------------------------------------------


def _snake(part: str) -> str:
    pieces = re.split(r"[:\s\-./]+", part)
    return "_".join(re.sub(r"(?<!^)(?=[A-Z])", "_", p).lower() for p in pieces if p)


def athena_column_name(heading: str) -> str:
    """A CUR CSV heading as Athena names it.

    ``lineItem/UnblendedCost`` → ``line_item_unblended_cost``,
    ``resourceTags/user:Project`` → ``resource_tags_user_project``. Snake-case names pass through.
    """
    if "/" not in heading:
        return heading
    return "_".join(_snake(p) for p in heading.split("/", 1))


def unknown_columns(names: Iterable[str]) -> tuple[str, ...]:
    """Columns that belong to no CUR column family (reported, then ignored)."""
    return tuple(n for n in names if n not in KNOWN_COLUMNS and not n.startswith(KNOWN_PREFIXES))


def export_format(schema: pa.Schema) -> str:
    """``cur2`` when the tags come as a map (Data Exports), else ``legacy-cur``."""
    for name in ("resource_tags", "product", "cost_category"):
        if name in schema.names and pa.types.is_map(schema.field(name).type):
            return "cur2"
    return "legacy-cur"


# -- typed columns with per-row errors -------------------------------------------------------------


def _S(value: str) -> pa.Scalar:
    # Explicit scalars: a bare Python value makes pyarrow.compute probe (and import) pandas.
    return pa.scalar(value, pa.string())


_TRUE = pa.scalar(True)


def _blank_to_null(arr: pa.Array) -> pa.Array:
    arr = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(arr, _S("")), pa.scalar(None, pa.string()), arr)


def _strings(arr: pa.ChunkedArray) -> pa.Array:
    return _blank_to_null(arr.combine_chunks())


def _floats(arr: pa.ChunkedArray, column: str, errors: dict[int, str]) -> pa.Array:
    arr = arr.combine_chunks()
    if (
        pa.types.is_floating(arr.type)
        or pa.types.is_integer(arr.type)
        or pa.types.is_decimal(arr.type)
    ):
        out = arr.cast(pa.float64())
    else:
        text = _blank_to_null(arr)
        try:
            out = text.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = []
            for i, v in enumerate(text.to_pylist()):
                try:
                    values.append(None if v is None else float(v))
                except ValueError:
                    errors.setdefault(i, f"{column} {v!r} is not a number")
                    values.append(None)
            out = pa.array(values, pa.float64())
    # NaN and infinities are not costs.
    finite = pc.is_finite(out)
    if pc.any(pc.invert(pc.fill_null(finite, _TRUE))).as_py():
        for i, ok in enumerate(finite.to_pylist()):
            if ok is False:
                errors.setdefault(i, f"{column} is not a finite number")
        out = pc.if_else(pc.fill_null(finite, _TRUE), out, pa.scalar(None, pa.float64()))
    return out


def _times(arr: pa.ChunkedArray, column: str, errors: dict[int, str]) -> pa.Array:
    arr = arr.combine_chunks()
    if pa.types.is_timestamp(arr.type):
        if arr.type.tz is None:
            arr = pc.assume_timezone(arr, "UTC")
        return arr.cast(TS)
    text = _blank_to_null(arr)
    try:
        return text.cast(TS)  # ISO 8601 with a zone (CUR writes ...Z)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = []
        for i, v in enumerate(text.to_pylist()):
            try:
                values.append(None if v is None else _parse_time(v))
            except ValueError:
                errors.setdefault(i, f"{column} {v!r} is not a timestamp")
                values.append(None)
        return pa.array(values, TS)


def _parse_time(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


# -- tags ------------------------------------------------------------------------------------------


def _tag_keys(tag: str) -> tuple[str, ...]:
    """Keys a cost-allocation tag may have in an export: user_project, user:project, project."""
    return (f"user_{tag}", f"user:{tag}", tag)


def _legacy_tags(tbl: pa.Table) -> tuple[pa.Array, dict[str, pa.Array]]:
    """The resource_tags map and our tag columns from legacy ``resource_tags_*`` columns."""
    cols = [n for n in tbl.column_names if n.startswith(LEGACY_TAG_PREFIX)]
    stripped = {n: n[len(LEGACY_TAG_PREFIX) :] for n in cols}
    values = {n: _strings(tbl.column(n)) for n in cols}
    ours = {}
    for tag in TAG_COLUMNS:
        found = next((values[n] for n in cols if stripped[n] in _tag_keys(tag)), None)
        ours[tag] = found if found is not None else pa.nulls(tbl.num_rows, pa.string())
    if not cols:
        return pa.nulls(tbl.num_rows, pa.map_(pa.string(), pa.string())), ours
    # The map is built column-wise, without a Python object per cell: each tag column's non-empty
    # cells become (row, column, key, value) entries, sorted by row then column; the offsets are
    # the running count of entries per row.
    n = tbl.num_rows
    row_ids = pa.array(range(n), pa.int64())
    per_row = pa.array([0] * n, pa.int32())
    pieces = []
    for j, name in enumerate(cols):
        valid = pc.is_valid(values[name])
        per_row = pc.add(per_row, pc.cast(valid, pa.int32()))
        rows = pc.filter(row_ids, valid)
        pieces.append(pa.table({
            "row": rows,
            "col": pa.array([j] * len(rows), pa.int32()),
            "key": pa.array([stripped[name]] * len(rows), pa.string()),
            "value": pc.filter(values[name], valid),
        }))
    entries = pa.concat_tables(pieces).sort_by([("row", "ascending"), ("col", "ascending")])
    offsets = pa.concat_arrays([pa.array([0], pa.int32()),
                                pc.cumulative_sum(per_row).cast(pa.int32())])
    tag_map = pa.MapArray.from_arrays(offsets, entries.column("key").combine_chunks(),
                                      entries.column("value").combine_chunks())
    return tag_map, ours


def _cur2_tags(tbl: pa.Table) -> tuple[pa.Array, dict[str, pa.Array]]:
    if "resource_tags" not in tbl.column_names:
        return (
            pa.nulls(tbl.num_rows, pa.map_(pa.string(), pa.string())),
            {t: pa.nulls(tbl.num_rows, pa.string()) for t in TAG_COLUMNS},
        )
    tag_map = tbl.column("resource_tags").combine_chunks()
    if tag_map.type != pa.map_(pa.string(), pa.string()):
        tag_map = tag_map.cast(pa.map_(pa.string(), pa.string()))
    ours = {}
    for tag in TAG_COLUMNS:
        found = pa.nulls(tbl.num_rows, pa.string())
        for key in _tag_keys(tag):
            hit = pc.map_lookup(tag_map, pa.scalar(key), "first")
            found = pc.coalesce(found, _blank_to_null(hit))
        ours[tag] = found
    return tag_map, ours


# -- normalization ---------------------------------------------------------------------------------


def columns_needed(names: Sequence[str]) -> list[str]:
    """The export's columns normalize_cur reads (so a reader can skip the rest)."""
    wanted = (
        set(STRINGS)
        | set(FLOATS)
        | set(TIMES)
        | {*REGION_COLUMNS, INSTANCE_COLUMN, "resource_tags"}
    )
    return [n for n in names if n in wanted or n.startswith(LEGACY_TAG_PREFIX)]


def normalize_cur(
    tbl: pa.Table, source: str, *, first_row: int = 1, fmt: str | None = None
) -> CurBatch:
    """Billed and quarantine rows from a table of export rows (rows numbered from ``first_row``).

    Raises:
        ParseError: the table is not a billing export (required columns missing).
    """
    tbl = tbl.rename_columns([athena_column_name(n) for n in tbl.column_names])
    fmt = fmt or export_format(tbl.schema)
    _require(source, tbl.column_names)
    n = tbl.num_rows
    errors: dict[int, str] = {}
    out: dict[str, pa.Array] = {}
    for src, dst in STRINGS.items():
        out[dst] = (
            _strings(tbl.column(src)) if src in tbl.column_names else pa.nulls(n, pa.string())
        )
    for src, dst in FLOATS.items():
        out[dst] = (
            _floats(tbl.column(src), src, errors)
            if src in tbl.column_names
            else pa.nulls(n, pa.float64())
        )
    for src, dst in TIMES.items():
        out[dst] = (
            _times(tbl.column(src), src, errors) if src in tbl.column_names else pa.nulls(n, TS)
        )
    region = pa.nulls(n, pa.string())
    for col in REGION_COLUMNS:
        if col in tbl.column_names:
            region = pc.coalesce(region, _strings(tbl.column(col)))
    out["region"] = region
    if out["time_interval"].null_count:
        derived = pc.binary_join_element_wise(
            pc.strftime(out["usage_start_at"], "%Y-%m-%dT%H:%M:%SZ"),
            pc.strftime(out["usage_end_at"], "%Y-%m-%dT%H:%M:%SZ"),
            _S("/"),
        )
        out["time_interval"] = pc.coalesce(out["time_interval"], derived)
    # Derived: instance type and capacity.
    usage = pc.fill_null(out["usage_type"], _S(""))
    parsed = pc.struct_field(pc.extract_regex(usage, _INSTANCE_USAGE.pattern), "t")
    parsed = pc.if_else(
        pc.match_substring_regex(usage, _INSTANCE_USAGE.pattern),
        parsed,
        pa.scalar(None, pa.string()),
    )
    product_type = (
        _strings(tbl.column(INSTANCE_COLUMN))
        if INSTANCE_COLUMN in tbl.column_names
        else pa.nulls(n, pa.string())
    )
    out["instance_type"] = pc.coalesce(product_type, parsed)
    li_type = pc.fill_null(out["line_item_type"], _S(""))
    out["capacity"] = pc.case_when(
        pc.make_struct(
            pc.match_substring(usage, "SpotUsage"),
            pc.equal(li_type, _S("DiscountedUsage")),
            pc.equal(li_type, _S("SavingsPlanCoveredUsage")),
            pc.match_substring(usage, "BoxUsage"),
        ),
        _S("spot"),
        _S("reserved"),
        _S("savings-plan"),
        _S("on-demand"),
    )
    tag_map, ours = _cur2_tags(tbl) if fmt == "cur2" else _legacy_tags(tbl)
    out["resource_tags"] = tag_map
    out.update(ours)
    # Per-row checks on what must be there.
    for col, label in (
        ("line_item_id", "identity_line_item_id"),
        ("usage_start_at", "line_item_usage_start_date"),
        ("unblended_cost_usd", "line_item_unblended_cost"),
        ("time_interval", "identity_time_interval"),
    ):
        nulls = pc.is_null(out[col])
        if pc.any(nulls).as_py():
            for i in pc.indices_nonzero(nulls).to_pylist():
                errors.setdefault(i, f"{label} is missing")
    rows_numbers = pa.array(range(first_row, first_row + n), pa.int32())
    out["export_format"] = pa.array([fmt] * n, pa.string())
    out["source_file"] = pa.array([source] * n, pa.string())
    out["source_row"] = rows_numbers
    good = pa.table(out)
    quarantine = []
    if errors:
        bad_idx = sorted(errors)
        keep = pc.invert(pa.array([i in errors for i in range(n)], pa.bool_()))
        raw = tbl.take(pa.array(bad_idx, pa.int64()))
        cols = [
            c
            for c in (
                *REQUIRED,
                "identity_time_interval",
                "line_item_unblended_rate",
                "line_item_usage_amount",
            )
            if c in raw.column_names
        ]
        raw_rows = raw.select(cols).to_pylist()
        for i, payload in zip(bad_idx, raw_rows, strict=True):
            err = ParseError(source, first_row + i, errors[i])
            quarantine.append(
                quarantine_row(STAGE, source, err, payload=json.dumps(payload, default=str))
            )
        good = good.filter(keep)
    unknown = unknown_columns(tbl.column_names)
    return CurBatch(source, fmt, good, quarantine, n, unknown)


# -- reading (I/O edge) ----------------------------------------------------------------------------


def _open(path: str, s3: Any = None):
    import pyarrow.fs as pafs

    if path.startswith("s3://") and s3 is not None:
        return s3, path[len("s3://") :]  # the lake's S3 connection (endpoint, credentials)
    if "://" in path:
        try:
            return pafs.FileSystem.from_uri(path)
        except (pa.ArrowException, OSError) as e:
            raise ParseError(path, None, f"cannot open: {e}") from e
    return pafs.LocalFileSystem(), path


@dataclass(frozen=True, slots=True)
class CurFile:
    """An opened export: its column names, format and a reader of its rows in pieces."""

    path: str
    names: tuple[str, ...]
    export_format: str | None  # None until the rows are seen (CSV)
    batches: Iterator[tuple[pa.Table, int]]  # (rows, number of the first row)


def _require(source: str, names: Sequence[str]) -> None:
    needed = columns_needed(names)
    repeated = sorted({n for n in needed if needed.count(n) > 1})
    if repeated:
        # Which of the two is the cost? Guessing could bill twice or not at all.
        raise ParseError(source, 1, f"column(s) {repeated} appear more than once in the header "
                                    "(after Athena's naming): which one holds the value is "
                                    "ambiguous")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ParseError(source, None, f"not an AWS billing export: missing column(s) {missing}")


def open_cur(path: str, s3: Any = None) -> CurFile:
    """Open a Parquet or CSV(.gz) billing export; Parquet is read by row group, needed columns only.

    ``s3``: a pyarrow S3 filesystem to read ``s3://`` paths with (the lake's, so an S3-compatible
    endpoint applies); otherwise pyarrow resolves the URI itself.

    Raises:
        ParseError: the file cannot be read or is not a billing export.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    fs, inner = _open(path, s3)
    try:
        if path.lower().endswith((".csv", ".csv.gz")):
            parse = pacsv.ParseOptions(newlines_in_values=True)
            with fs.open_input_stream(inner, compression="detect") as f:
                try:
                    names = pacsv.open_csv(f, parse_options=parse).schema.names
                except UnicodeDecodeError as e:  # pyarrow decodes the header names itself
                    raise ParseError(path, 1, f"the header is not UTF-8 text (byte "
                                              f"{e.object[e.start:e.start + 1]!r} at offset "
                                              f"{e.start} of a column name)") from None
            _require(path, [athena_column_name(n) for n in names])
            # Every column as text: the normalizer types what it needs and reports what fails.
            convert = pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            )
            with fs.open_input_stream(inner, compression="detect") as f:
                tbl = pacsv.read_csv(f, parse_options=parse, convert_options=convert)
            return CurFile(
                path, tuple(athena_column_name(n) for n in names), None, iter([(tbl, 1)])
            )
        pf = pq.ParquetFile(inner, filesystem=fs)
    except (OSError, pa.ArrowException) as e:
        raise ParseError(path, None, f"cannot read the file: {e}") from e
    names = tuple(pf.schema_arrow.names)
    _require(path, names)

    def batches() -> Iterator[tuple[pa.Table, int]]:
        first = 1
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=columns_needed(names)):
                yield pa.Table.from_batches([batch]), first
                first += batch.num_rows
        except (OSError, pa.ArrowException) as e:
            raise ParseError(path, first, f"cannot read rows from here on: {e}") from e

    return CurFile(path, names, export_format(pf.schema_arrow), batches())


def load_cur_files(
    paths: Sequence[str], store: LakeStore, recorded_at: datetime | None = None
) -> list[CurLoadResult]:
    """Load billing export files into ``billed_costs``; bad rows and bad files into quarantine."""
    results = []
    for path in paths:
        res = CurLoadResult(source=path)
        quarantined: list[dict[str, Any]] = []
        try:
            cur = open_cur(path, store.fs if store.settings.lake_is_s3 else None)
            res.unknown_columns = unknown_columns(cur.names)
            for tbl, first_row in cur.batches:
                batch = normalize_cur(tbl, path, first_row=first_row, fmt=cur.export_format)
                res.export_format = batch.export_format
                res.rows_read += batch.rows_read
                res.rows_valid += batch.rows.num_rows
                quarantined += batch.quarantine
                if batch.rows.num_rows:
                    res.rows_loaded += store.write(
                        "billed_costs", batch.rows, recorded_at
                    ).rows_written
                    sums = batch.rows.group_by("usage_type").aggregate(
                        [("unblended_cost_usd", "sum")]
                    )
                    for key, total in zip(
                        sums.column("usage_type").to_pylist(),
                        sums.column("unblended_cost_usd_sum").to_pylist(),
                        strict=True,
                    ):
                        res.by_usage_type[key or ""] = res.by_usage_type.get(key or "", 0.0) + total
            if res.unknown_columns:
                note = ParseError(
                    path, None, "unknown column(s) ignored: " + ", ".join(res.unknown_columns)
                )
                quarantined.append(quarantine_row(STAGE, path, note))
        except SeqledgerError as e:
            res.error = str(e)
            quarantined.append(quarantine_row(STAGE, path, e))
        res.unblended_cost_usd = math.fsum(res.by_usage_type.values())
        res.quarantined = sum(1 for q in quarantined if q["line"] is not None)
        if quarantined:
            store.write("quarantine", quarantined, recorded_at)
        results.append(res)
    return results
