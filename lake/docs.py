"""The lake's tables described in Markdown, from the schemas themselves (README stays in step)."""

from __future__ import annotations

import pyarrow as pa

from lake.schemas import TABLES


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "timestamp (UTC)"
    if pa.types.is_list(t):
        return f"list<{_type_name(t.value_type)}>"
    return {"large_string": "string", "bool": "boolean"}.get(str(t), str(t))


def tables_markdown() -> str:
    """One section per table: purpose, key, partitioning, and a column table."""
    out = []
    for spec in TABLES.values():
        out.append(f"#### `{spec.name}`\n")
        out.append(f"{spec.schema.metadata[b'doc'].decode()}  ")
        out.append(
            f"Key: `({', '.join(spec.key)})`; partitioned by `month` of `{spec.time_column}`.\n"
        )
        out.append("| column | type | meaning |\n|---|---|---|")
        for f in spec.schema:
            doc = (f.metadata or {}).get(b"doc", b"").decode()
            doc = doc.replace("|", "\\|")
            out.append(f"| `{f.name}` | {_type_name(f.type)} | {doc} |")
        out.append("")
    return "\n".join(out)
