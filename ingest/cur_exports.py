"""The bill flowing in: new billing export files under a prefix, loaded once each.

AWS Data Exports (CUR 2.0) writes Parquet files under ``<prefix>/<export name>/data/
BILLING_PERIOD=YYYY-MM/`` and, with ``OVERWRITE_REPORT``, rewrites a month's files as the bill is
restated until the month closes. The scheduled loader (the Lambda handler
``ingest.handlers.load_billing_exports``, or ``seqledger ingest cur-exports``) lists the prefix,
compares each data file's version (size and modification time) with the ``billing_files``
ledger, loads only new or rewritten files through ``ingest.cur`` and records them. (S3 gives
modification times in whole seconds: a rewrite of the same size within the same second would
look unchanged; AWS restates a month hours apart.) Loading a
file again is harmless (``billed_costs`` is keyed by line item and hour, and a restated line is a
new version that wins); the ledger only saves the reading.

``EXPORT_COLUMNS`` are the CUR 2.0 columns the normalizer reads; the stack's export selects them
(``export_query``), and a test keeps the template and this list equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.cur import FLOATS, REGION_COLUMNS, REQUIRED, STRINGS, TIMES, load_cur_files
from lake.errors import ConfigError, LakeReadError
from lake.retry import retrying
from lake.store import LakeStore

# What the export must deliver for ingest.cur (CUR 2.0 has product_region_code, not the legacy
# product_region; tags come as the resource_tags map).
EXPORT_COLUMNS = tuple(dict.fromkeys([
    *REQUIRED, *STRINGS, *TIMES, *FLOATS,
    REGION_COLUMNS[0], "product_instance_type", "resource_tags",
]))
DATA_SUFFIXES = (".parquet", ".snappy.parquet", ".csv", ".csv.gz")


def export_query() -> str:
    """The Data Export's SQL: the columns the loader reads, from the CUR 2.0 table."""
    return f"SELECT {', '.join(EXPORT_COLUMNS)} FROM COST_AND_USAGE_REPORT"


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One data file of an export as listed: where, how big, when written."""

    uri: str
    size: int
    modified_at: datetime

    @property
    def version(self) -> str:
        return f"{self.size}@{int(self.modified_at.timestamp() * 1e9)}"


def is_data_file(name: str) -> bool:
    """Export data files; not manifests, metadata or hidden/temporary objects."""
    base = name.rpartition("/")[2]
    return not base.startswith((".", "_")) and base.lower().endswith(DATA_SUFFIXES)


def pending(files: Iterable[ExportFile], loaded: Iterable[tuple[str, str]]) -> list[ExportFile]:
    """The files whose (uri, version) the ledger does not hold, oldest first."""
    done = set(loaded)
    return sorted((f for f in files if (f.uri, f.version) not in done),
                  key=lambda f: (f.modified_at, f.uri))


def list_exports(store: LakeStore, prefix: str) -> list[ExportFile]:
    """The data files under ``prefix`` (``s3://bucket/key/`` or a folder), with the lake's S3."""
    import pyarrow.fs as pafs

    if prefix.startswith("s3://"):
        fs, root, scheme = store.fs, prefix[len("s3://"):].rstrip("/"), "s3://"
        if not store.settings.lake_is_s3:
            fs, root = pafs.FileSystem.from_uri(prefix)
    elif "://" in prefix:
        raise ConfigError(f"billing exports {prefix!r}: expected s3://bucket/prefix or a folder")
    else:
        fs, root, scheme = pafs.LocalFileSystem(), prefix.rstrip("/"), ""
    infos = retrying(  # transient listing errors are retried like the lake's own
        lambda: fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)),
        what=f"listing billing exports {prefix}", budget_s=store.settings.storage_retry_s,
        error=LakeReadError)
    return sorted(
        (ExportFile(f"{scheme}{i.path}", int(i.size or 0),
                    (i.mtime or datetime.fromtimestamp(0, UTC)).astimezone(UTC))
         for i in infos if i.type == pafs.FileType.File and is_data_file(i.path)),
        key=lambda f: f.uri)


@dataclass(frozen=True, slots=True)
class ExportsLoad:
    """What one pass of the loader did."""

    listed: int
    loaded: tuple[str, ...]  # files read now
    refused: tuple[str, ...]  # files refused whole (quarantined; tried again next pass)
    rows_loaded: int
    quarantined: int


def load_new_exports(
    store: LakeStore,
    prefix: str,
    recorded_at: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportsLoad:
    """Load every export file under ``prefix`` the ledger has not seen at its current version."""
    files = list_exports(store, prefix)
    ledger = store.read("billing_files")
    seen = zip(ledger.column("source").to_pylist(), ledger.column("version").to_pylist(),
               strict=True)
    todo = pending(files, seen)
    loaded, refused, rows, quarantined, ledger_rows = [], [], 0, 0, []
    for i, f in enumerate(todo, 1):
        (res,) = load_cur_files([f.uri], store, recorded_at)
        quarantined += res.quarantined
        if res.error:
            refused.append(f.uri)
        else:
            loaded.append(f.uri)
            rows += res.rows_loaded
            ledger_rows.append(_ledger_row(f, res))
        if progress:
            progress(f"[{i}/{len(todo)}] {f.uri}: " + (f"refused: {res.error}" if res.error else
                     f"{res.rows_read:,} line items, {res.rows_loaded:,} new"))
    if ledger_rows:  # after the rows: a crash before this line only means reading them again
        store.write("billing_files", ledger_rows, recorded_at)
    return ExportsLoad(len(files), tuple(loaded), tuple(refused), rows, quarantined)


def _ledger_row(f: ExportFile, res) -> dict:
    return {"source": f.uri, "version": f.version, "last_modified_at": f.modified_at,
            "size_bytes": f.size, "export_format": res.export_format, "rows_read": res.rows_read,
            "rows_loaded": res.rows_loaded, "quarantined": res.quarantined,
            "unblended_cost_usd": res.unblended_cost_usd}


def describe(result: ExportsLoad) -> Sequence[str]:
    """Lines for a person: what the pass found and did."""
    return [f"{result.listed} export file(s) under the prefix; {len(result.loaded)} new or "
            f"rewritten loaded ({result.rows_loaded:,} new billed rows), "
            f"{len(result.refused)} refused, {result.quarantined} line item(s) quarantined"]
