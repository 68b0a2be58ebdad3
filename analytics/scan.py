"""What an Athena query would read: the columns and months of each lake table, priced in bytes.

Athena bills the bytes it reads from S3: for Parquet, the column chunks of the columns a query
needs, in the partitions it cannot prune. ``scan_plan`` finds those from the SQL (the views
expanded, unused columns pruned by sqlglot's optimizer, ``month = '…'`` filters followed to the
partition column); ``scan_bytes`` adds up the column chunk sizes in the lake's Parquet footers.
It is an estimate made before running anything: Athena also reads footers and may prune more
with row-group statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analytics.dialect import to_trino
from lake.catalog import RAW_PREFIX, columns
from lake.schemas import TABLES

if TYPE_CHECKING:
    from sqlglot import exp

    from lake.store import LakeStore


@dataclass(frozen=True)
class TableScan:
    """The part of one lake table a query reads."""

    table: str
    columns: frozenset[str]
    months: frozenset[str] | None = None  # None: every month


@dataclass(frozen=True)
class ScanBytes:
    table: str
    read_bytes: int
    table_bytes: int  # every column chunk of every month

    @property
    def share(self) -> float:
        return self.read_bytes / self.table_bytes if self.table_bytes else 0.0


def _schema() -> dict[str, dict[str, str]]:
    return {f"{RAW_PREFIX}{n}": {**{c["Name"]: c["Type"] for c in columns(spec)},
                                 "month": "string"} for n, spec in TABLES.items()}


def _month_literals(where: exp.Expression) -> list[tuple[exp.Column, set[str]]]:
    """``month = 'YYYY-MM'`` and ``month IN (…)`` conditions of a WHERE, ANDed at the top."""
    from sqlglot import exp

    found = []
    for cond in where.flatten() if isinstance(where, exp.And) else [where]:
        if isinstance(cond, exp.EQ) and isinstance(cond.left, exp.Column) \
                and cond.left.name == "month" and cond.right.is_string:
            found.append((cond.left, {cond.right.name}))
        elif isinstance(cond, exp.In) and isinstance(cond.this, exp.Column) \
                and cond.this.name == "month" and all(e.is_string for e in cond.expressions):
            found.append((cond.this, {e.name for e in cond.expressions}))
    return found


def scan_plan(sql: str, views: Mapping[str, str]) -> list[TableScan]:
    """The tables, columns and months a query reads. ``sql`` and ``views`` are DuckDB SQL."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer import optimize
    from sqlglot.optimizer.scope import Scope, traverse_scope

    sources = {n: sqlglot.parse_one(to_trino(v), read="trino") for n, v in views.items()}
    tree = exp.expand(sqlglot.parse_one(to_trino(sql), read="trino"), sources, dialect="trino")
    tree = optimize(tree, schema=_schema(), dialect="trino")
    cols: dict[str, set[str]] = {}
    reads: dict[int, list[set[str] | None]] = {}  # per table node: months of each read of it
    names: dict[int, str] = {}
    scopes = list(traverse_scope(tree))
    for scope in scopes:
        for col in scope.columns:
            src = scope.sources.get(col.table)
            if isinstance(src, exp.Table):
                cols.setdefault(src.name, set()).add(col.name)
        filters = _month_filters(scope)
        # selected_sources: what this scope reads (``sources`` also lists every visible CTE)
        for alias, (_node, src) in scope.selected_sources.items():
            if isinstance(src, exp.Table):
                if _passes_month(scope) is src:
                    continue  # read through this subquery: its readers' filters count
                table = src
            elif isinstance(src, Scope) and (table := _passes_month(src)) is not None:
                pass
            else:
                continue
            names[id(table)] = table.name
            reads.setdefault(id(table), []).append(filters.get(alias))
    months: dict[str, set[str] | None] = {}
    for key, found in reads.items():  # pruned only when every read of the table is filtered
        name = names[key]
        if any(m is None for m in found) or (name in months and months[name] is None):
            months[name] = None
        else:
            months[name] = (months.get(name) or set()).union(*found)
    return [TableScan(t.removeprefix(RAW_PREFIX), frozenset(c),
                      None if months.get(t) is None else frozenset(months[t]))
            for t, c in sorted(cols.items())]


def _month_filters(scope) -> dict[str, set[str]]:
    """Per source alias of a scope, the months its WHERE and JOIN conditions keep (ANDed)."""
    select = scope.expression
    where = select.args.get("where")
    conds = [where.this] if where else []
    conds += [j.args["on"] for j in select.args.get("joins") or [] if j.args.get("on")]
    out: dict[str, set[str]] = {}
    for col, months in (m for c in conds for m in _month_literals(c)):
        out[col.table] = out[col.table] & months if col.table in out else set(months)
    return out


def _passes_month(scope) -> exp.Table | None:
    """The table whose partition column a subquery's ``month`` is, if a filter on it prunes.

    True when ``month`` is selected as it is from one table and every window of the subquery
    partitions by it (a filter on a window's partition key moves below the window in Trino).
    """
    from sqlglot import exp

    select = scope.expression
    if not isinstance(select, exp.Select):
        return None
    for proj in select.expressions:
        if proj.alias_or_name == "month" and isinstance(proj.unalias(), exp.Column):
            src = scope.sources.get(proj.unalias().table)
            windows = list(select.find_all(exp.Window))
            if isinstance(src, exp.Table) and all(
                    "month" in [p.name for p in w.args.get("partition_by") or []]
                    for w in windows):
                return src
    return None


def scan_bytes(scans: list[TableScan], store: LakeStore) -> list[ScanBytes]:
    """Bytes each scan reads from the lake's Parquet files, beside the table's whole size."""
    import pyarrow.parquet as pq

    out = []
    for scan in scans:
        read = total = 0
        for path in store.files(scan.table):
            month = path.split("/month=")[1].split("/")[0] if "/month=" in path else None
            with store.fs.open_input_file(path) as f:
                meta = pq.ParquetFile(f).metadata
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(group.num_columns):
                    chunk = group.column(c)
                    total += chunk.total_compressed_size
                    if chunk.path_in_schema.split(".")[0] in scan.columns and (
                            scan.months is None or month in scan.months):
                        read += chunk.total_compressed_size
        out.append(ScanBytes(scan.table, read, total))
    return out
