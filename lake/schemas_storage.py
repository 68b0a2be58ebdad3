"""The ``storage`` table (registered into lake.schemas.TABLES): what is stored, measured.

One row per object per inventory: an S3 Inventory report of the input or results bucket
(``seqledger ingest inventory``), or on the embedded default a local inventory of the output
folder. Each row stands for ``covered_days`` days of the object in ``storage_class`` (1 for a
daily inventory), so GB-months are ``size_bytes / 2^30 * covered_days / days in the month`` and
the ``storage_costs`` view prices them by month, project, sample and class.
"""

from __future__ import annotations

import pyarrow as pa

from lake.schemas import TS, _f, _spec, register

STORAGE = register(
    _spec(
        "storage",
        "One row per object per inventory (S3 Inventory, or a local inventory of the output "
        "folder): size and storage class, attributed to project, sample and run by its key.",
        key=("bucket", "object_key", "inventory_at"),
        time_column="inventory_at",
        fields=[
            _f("inventory_at", TS, "When the inventory listed the object (its scan time)",
               nullable=False),
            _f("bucket", pa.string(), "Source bucket ('' for a local folder)", nullable=False),
            _f("object_key", pa.string(), "Object key (local: path under the folder)",
               nullable=False),
            _f("size_bytes", pa.int64(), "Object size in bytes", nullable=False),
            _f("storage_class", pa.string(),
               "STANDARD | STANDARD_IA | GLACIER_IR | GLACIER | DEEP_ARCHIVE | …",
               nullable=False),
            _f("last_modified_at", TS, "Object creation (last modified) time"),
            _f("project", pa.string(), "Project the key belongs to (null: not attributable)"),
            _f("sample_id", pa.string(), "Sample the key belongs to"),
            _f("run_id", pa.string(), "Run whose output the object is (null for inputs)"),
            _f("data_class", pa.string(),
               "alignment | reads | variants | metrics | report | table | other, by name"),
            _f("archive_tier", pa.string(),
               "seqledger:archive tag when known (local inventory), e.g. deep-archive-30d"),
            _f("covered_days", pa.float64(), "Days of storage this row stands for",
               nullable=False),
            _f("inventory_source", pa.string(), "s3-inventory | local", nullable=False),
            _f("source_file", pa.string(), "Manifest (or folder) the row was read from"),
        ],
    )
)
