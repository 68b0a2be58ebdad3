"""Storage measured: S3 Inventory reports (and a local inventory of the output folder) as rows
of the ``storage`` table.

An S3 Inventory delivery is a ``manifest.json`` (sourceBucket, destinationBucket,
creationTimestamp in epoch milliseconds, fileFormat CSV | Parquet | ORC, fileSchema, files[{key,
size, MD5checksum}]) beside data files under ``<prefix>/<source bucket>/<config id>/``; the
format is AWS's (S3 User Guide, "Locating your inventory list"). CSV data files are gzipped,
without a header, columns in fileSchema order; Parquet files name their columns in snake case
(bucket, key, size, last_modified_date, storage_class). ORC is refused: the stack asks for Parquet.

Inventory lists no tags, so an object is attributed by its key: outputs by the runner's layout
``…/<project>/<sample>/<run>/attempt-<n>/<file>``, inputs by the input layout.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ingest.layout import DEFAULT, InputLayout
from ingest.tagging import LOCAL_TAGS_FILE, local_tags
from lake.errors import ParseError
from pipeline_runner.retention import STACK_TIERS, tier_id
from pipeline_runner.storage import (
    ARCHIVE_TAG,
    DATA_CLASS_TAG,
    STANDARD,
    lifecycle_tags,
    lifecycle_time,
)

# The runner's output layout (pipeline_runner.workflows.output_uri).
_OUTPUT = re.compile(r"(?:^|/)([^/]+)/([^/]+)/([^/]+)/attempt-\d+/[^/]")
_CSV_COLUMNS = {"Bucket": "bucket", "Key": "key", "Size": "size",
                "LastModifiedDate": "last_modified_date", "StorageClass": "storage_class"}


@dataclass(frozen=True, slots=True)
class Manifest:
    source_bucket: str
    destination_bucket: str
    created_at: datetime
    file_format: str  # CSV | Parquet
    columns: tuple[str, ...]  # CSV: the data files' columns, in order (snake case)
    files: tuple[str, ...]  # data file keys in the destination bucket


def parse_manifest(text: str, source: str) -> Manifest:
    """A ``manifest.json``; ``ParseError`` naming ``source`` when it is not one."""
    try:
        doc = json.loads(text)
        fmt = str(doc["fileFormat"])
        created = datetime.fromtimestamp(int(doc["creationTimestamp"]) / 1000, UTC)
        files = tuple(str(f["key"]) for f in doc["files"])
        bucket = str(doc["sourceBucket"])
        dest = str(doc["destinationBucket"]).rpartition(":")[2]
        schema = str(doc.get("fileSchema", ""))
    except (ValueError, KeyError, TypeError) as e:
        raise ParseError(source, None, f"not an S3 Inventory manifest.json ({e!r}); give the "
                         "manifest.json of an inventory delivery") from None
    if fmt not in ("CSV", "Parquet"):
        raise ParseError(source, None, f"inventory format {fmt} is not read; configure the "
                         "inventory as Parquet (as infra/seqledger.yaml does) or CSV")
    columns: tuple[str, ...] = ()
    if fmt == "CSV":
        columns = tuple(_CSV_COLUMNS.get(c.strip(), c.strip()) for c in schema.split(","))
    missing = {"bucket", "key", "size", "storage_class"} - set(columns) if fmt == "CSV" else set()
    if missing:
        raise ParseError(source, None, f"the inventory lacks {sorted(missing)}; add Size and "
                         "StorageClass to its optional fields")
    return Manifest(bucket, dest, created, fmt, columns, files)


def read_csv_records(data: bytes, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Records of one gzipped (or plain) CSV inventory file."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    for values in csv.reader(io.StringIO(data.decode("utf-8"))):
        if values:
            yield dict(zip(columns, values, strict=False))


def read_parquet_records(data: bytes) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    cols = ["bucket", "key", "size", "last_modified_date", "storage_class"]
    tbl = pq.read_table(io.BytesIO(data))
    yield from tbl.select([c for c in cols if c in tbl.column_names]).to_pylist()


def attribute(key: str, layout: InputLayout, projects: Collection[str]) -> dict[str, str | None]:
    """Project, sample and run of an object key: the runner's output layout, else the input's."""
    m = _OUTPUT.search(key)
    if m:
        return {"project": m.group(1), "sample_id": m.group(2), "run_id": m.group(3)}
    parts = layout.read(key, projects)
    if parts is None or parts.project is None:
        return {"project": None, "sample_id": None, "run_id": None}
    return {"project": parts.project, "sample_id": parts.sample_id, "run_id": None}


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def inventory_rows(
    records: Iterable[Mapping[str, Any]], manifest: Manifest, source: str,
    layout: InputLayout = DEFAULT, projects: Collection[str] = (),
) -> list[dict[str, Any]]:
    """``storage`` rows of an S3 inventory's records (one day of storage each: it is daily)."""
    rows = []
    for r in records:
        key = str(r["key"])
        if r.get("size") in (None, ""):
            continue  # a delete marker or a folder placeholder holds no bytes
        rows.append({
            "inventory_at": manifest.created_at,
            "bucket": str(r.get("bucket") or manifest.source_bucket),
            "object_key": key,
            "size_bytes": int(r["size"]),
            "storage_class": str(r.get("storage_class") or STANDARD),
            "last_modified_at": _when(r.get("last_modified_date")),
            **attribute(key, layout, projects),
            "data_class": lifecycle_tags(key)[DATA_CLASS_TAG],
            "archive_tier": None,
            "covered_days": 1.0,
            "inventory_source": "s3-inventory",
            "source_file": source,
        })
    return rows


def data_file_location(manifest_location: str, manifest: Manifest, key: str) -> str:
    """Where a data file of the manifest is: in the destination bucket on S3; beside the
    manifest's ``<source bucket>/<config id>/`` folder for a downloaded copy."""
    if manifest_location.startswith("s3://"):
        return f"s3://{manifest.destination_bucket}/{key}"
    config_dir = PurePosixPath(manifest_location).parent.parent
    marker = f"{manifest.source_bucket}/{config_dir.name}/"
    tail = key.split(marker, 1)[1] if marker in key else key.rpartition("/")[2]
    return str(config_dir / tail)


# -- local inventory (embedded default) ------------------------------------------------------------

_TIER_OF = {tier_id(c, d): (c, d) for c, d in STACK_TIERS}


def class_at(tier: str | None, created_at: datetime, at: datetime) -> str:
    """The class an object of ``tier`` is in at ``at``: what the stack's rule does, applied to
    a local folder (no lifecycle acts there). Moves at midnight UTC after N days, as S3 does."""
    if tier not in _TIER_OF:
        return STANDARD
    cls, days = _TIER_OF[tier]
    return cls if lifecycle_time(created_at, days) <= at else STANDARD


@dataclass(frozen=True, slots=True)
class LocalObject:
    key: str  # path under the folder, with /
    size_bytes: int
    created_at: datetime
    tier: str | None  # its seqledger:archive tag, if it was tagged


def scan_folder(folder: str) -> list[LocalObject]:
    """Every file under ``folder`` with its size, creation and tier.

    An object's creation is when its run was tagged (``tagged_at`` of its tags file: the
    runner's clock, which is the demo's simulated one), else its modification time.
    """
    found = []
    root = os.path.abspath(folder)
    for dirpath, _, names in os.walk(root):
        doc = local_tags(Path(dirpath))
        tagged_at = _when(doc.get("tagged_at"))
        tags = doc.get("files", {})
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in sorted(names):
            if name == LOCAL_TAGS_FILE:
                continue
            st = os.stat(os.path.join(dirpath, name))
            found.append(LocalObject(
                name if rel == "." else f"{rel}/{name}", st.st_size,
                tagged_at or datetime.fromtimestamp(st.st_mtime, UTC),
                tags.get(name, {}).get(ARCHIVE_TAG)))
    return found


def local_inventory(folder: str, at: datetime,
                    objects: list[LocalObject] | None = None) -> list[dict[str, Any]]:
    """``storage`` rows of the files under ``folder`` as of ``at`` (one day each); files created
    after ``at`` are not listed yet. ``objects``: a scan already made of ``folder``."""
    rows = []
    for o in scan_folder(folder) if objects is None else objects:
        if o.created_at > at:
            continue
        rows.append({
            "inventory_at": at,
            "bucket": "",
            "object_key": o.key,
            "size_bytes": o.size_bytes,
            "storage_class": class_at(o.tier, o.created_at, at),
            "last_modified_at": o.created_at,
            **attribute(o.key, DEFAULT, ()),
            "data_class": lifecycle_tags(o.key)[DATA_CLASS_TAG],
            "archive_tier": o.tier,
            "covered_days": 1.0,
            "inventory_source": "local",
            "source_file": folder,
        })
    return rows


@dataclass(frozen=True, slots=True)
class InventoryLoad:
    manifest: str
    source_bucket: str
    inventory_at: datetime
    rows: int
    rows_written: int
    size_bytes: int


def load_inventory(store: Any, manifest_location: str, layout: InputLayout = DEFAULT,
                   projects: Collection[str] = ()) -> InventoryLoad:
    """Read one inventory delivery (its manifest.json, local or ``s3://``) into ``storage``.

    Loading the same delivery again writes nothing (rows are keyed by bucket, key and scan
    time). ``ParseError`` names the manifest or data file that cannot be read.
    """
    from lake.store import read_bytes, read_text

    settings = store.settings
    try:
        text = read_text(settings, manifest_location)
    except FileNotFoundError:
        raise ParseError(manifest_location, None, "no such file; give the manifest.json of an "
                         "inventory delivery") from None
    manifest = parse_manifest(text, manifest_location)
    rows: list[dict[str, Any]] = []
    for key in manifest.files:
        where = data_file_location(manifest_location, manifest, key)
        try:
            data = read_bytes(settings, where)
        except FileNotFoundError:
            raise ParseError(where, None, f"data file {key} of {manifest_location} is missing; "
                             "copy the whole delivery (manifest and data files)") from None
        try:
            records = (read_parquet_records(data) if manifest.file_format == "Parquet"
                       else read_csv_records(data, manifest.columns))
            rows += inventory_rows(records, manifest, manifest_location, layout, projects)
        except (ValueError, KeyError, OSError) as e:
            raise ParseError(where, None, f"not a {manifest.file_format} inventory file: {e}") \
                from None
    written = store.write("storage", rows).rows_written if rows else 0
    return InventoryLoad(manifest_location, manifest.source_bucket, manifest.created_at,
                         len(rows), written, sum(r["size_bytes"] for r in rows))
