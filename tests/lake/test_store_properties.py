"""Properties of the store that must hold for any input: split, order and repeats change nothing.

Rows model at-least-once delivery: a key always carries the same content (a redelivered event
is the same event), while ``recorded_at`` is left to the store, so each write stamps its own.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lake.errors import SchemaError
from lake.schemas import SCHEMA_VERSION, table
from lake.settings import Settings
from lake.store import LakeStore

TABLE = "job_attempts"
SPEC = table(TABLE)
STATUSES = ("SUBMITTED", "RUNNABLE", "RUNNING", "SUCCEEDED", "FAILED")
# Times on both sides of two month boundaries (the partition edges).
BOUNDARIES = (
    datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
)
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def contents(draw) -> dict[tuple, dict]:
    """Distinct keys, each with the one content every delivery of it carries."""
    keys = draw(
        st.sets(
            st.tuples(
                st.sampled_from(["j-a", "j-b", "j-c", "j-d"]),
                st.integers(1, 2),
                st.sampled_from(STATUSES),
            ),
            min_size=1,
            max_size=12,
        )
    )
    out = {}
    for job_id, attempt, status in sorted(keys):
        at = draw(st.sampled_from(BOUNDARIES)) + timedelta(seconds=draw(st.integers(-3, 3)))
        out[(job_id, attempt, status)] = {
            "job_id": job_id,
            "attempt": attempt,
            "status": status,
            "status_at": at,
            "project": draw(st.sampled_from(["P001", "P002", None])),
            "exit_code": draw(st.none() | st.integers(-(2**31), 2**31 - 1)),
            "capacity": draw(st.sampled_from(["spot", "on-demand"])),
            "vcpus": draw(st.integers(1, 192)),
        }
    return out


@st.composite
def deliveries(draw) -> tuple[dict[tuple, dict], list[list[dict]]]:
    """Contents, and the batches they arrive in: any order, any split, repeats included."""
    content = draw(contents())
    keys = list(content)
    # Every key at least once, some again (redelivery), in any order.
    arrivals = keys + draw(st.lists(st.sampled_from(keys), max_size=8))
    arrivals = draw(st.permutations(arrivals))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(arrivals) - 1)), max_size=5)))
    bounds = [0, *(c for c in cuts if c < len(arrivals)), len(arrivals)]
    batches = [
        [dict(content[k]) for k in arrivals[a:b]] for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    batches = [b for b in batches if b]
    # Some batches are written twice (a retried Lambda invocation).
    repeats = draw(st.lists(st.integers(0, len(batches) - 1), max_size=3))
    return content, batches + [batches[i] for i in repeats]


def by_key(tbl) -> dict[tuple, dict]:
    """Deduplicated rows as key -> the columns we wrote (recorded_at is each write's own)."""
    rows = tbl.to_pylist()
    out = {tuple(r[k] for k in SPEC.key): r for r in rows}
    assert len(out) == len(rows), "read() returned a key twice"
    return out


def expected(content: dict[tuple, dict]) -> dict[tuple, dict]:
    return {
        k: {c: v.get(c) for c in SPEC.columns if c != "recorded_at"}
        | {"schema_version": SCHEMA_VERSION}
        for k, v in content.items()
    }


def without_recorded_at(rows: dict[tuple, dict]) -> dict[tuple, dict]:
    return {k: {c: v for c, v in r.items() if c != "recorded_at"} for k, r in rows.items()}


def months_of(content: dict[tuple, dict]) -> set[str]:
    return {v["status_at"].strftime("%Y-%m") for v in content.values()}


def local_store(folder: str) -> LakeStore:
    return LakeStore(Settings(lake_uri=f"{folder}/lake"))


@PROPERTY
@given(deliveries())
def test_any_split_order_and_repeats_read_back_as_one_write(delivery):
    content, batches = delivery
    with tempfile.TemporaryDirectory() as split_dir, tempfile.TemporaryDirectory() as one_dir:
        split, once = local_store(split_dir), local_store(one_dir)
        for batch in batches:
            split.write(TABLE, batch)
        once.write(TABLE, [row for batch in batches for row in batch])  # all of it, in one write

        got = without_recorded_at(by_key(split.read(TABLE)))
        assert got == expected(content)
        assert got == without_recorded_at(by_key(once.read(TABLE)))
        # Nothing is lost in the raw files either: every key is there, at least once.
        raw_keys = {
            tuple(r[k] for k in SPEC.key) for r in split.read(TABLE, dedupe=False).to_pylist()
        }
        assert raw_keys == set(content)


@PROPERTY
@given(deliveries())
def test_compaction_keeps_the_content_and_leaves_one_file_per_month(delivery):
    content, batches = delivery
    with tempfile.TemporaryDirectory() as folder:
        store = local_store(folder)
        for batch in batches:
            store.write(TABLE, batch)
        months = months_of(content)
        for month in sorted(months):
            store.compact(TABLE, month)

        assert without_recorded_at(by_key(store.read(TABLE))) == expected(content)
        files = store.files(TABLE)
        assert sorted(f.split("/month=")[1].split("/")[0] for f in files) == sorted(months)
        raw_keys = {
            tuple(r[k] for k in SPEC.key) for r in store.read(TABLE, dedupe=False).to_pylist()
        }
        assert raw_keys == set(content)
        # Compacting again changes nothing.
        assert [store.compact(TABLE, m) for m in sorted(months)] == [(1, 1)] * len(months)
        assert store.files(TABLE) == files


def _cost(component: str, usd: float, recorded_at: datetime) -> dict:
    return {
        "job_id": "j1",
        "attempt": 1,
        "component": component,
        "cost_usd": usd,
        "usage_start_at": datetime(2026, 3, 2, tzinfo=UTC),
        "recorded_at": recorded_at,
    }


def test_compaction_keeps_the_newest_version_of_a_key(lake_settings):
    store = LakeStore(lake_settings)
    first, second = datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    store.write("costs", [_cost("compute", 1.0, first), _cost("licence", 0.5, first)])
    store.write("costs", [_cost("compute", 2.0, second)])  # a re-estimate: newer, wins in reads
    assert {r["component"]: r["cost_usd"] for r in store.read("costs").to_pylist()} == {
        "compute": 2.0,
        "licence": 0.5,
    }
    store.compact("costs", "2026-03")
    assert {r["component"]: r["cost_usd"] for r in store.read("costs").to_pylist()} == {
        "compute": 2.0,
        "licence": 0.5,
    }


def test_compaction_leaves_unique_keys_even_in_a_month_of_one_file(lake_settings):
    store = LakeStore(lake_settings)
    row = _valid_rows(1)[0]
    store.write(TABLE, [row, dict(row)])
    store.compact(TABLE, "2026-03")
    assert store.read(TABLE, dedupe=False).num_rows == 1


def _valid_rows(n: int) -> list[dict]:
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    return [
        {
            "job_id": f"j{i}",
            "attempt": 1,
            "status": "RUNNING",
            "status_at": at + timedelta(minutes=i),
        }
        for i in range(n)
    ]


# (column, bad value): values that do not fit the column's type or its nullability.
INVALID = {
    "str in an int32 column": ("attempt", "1"),
    "int32 overflow": ("exit_code", 2**31),
    "bool in an int32 column": ("vcpus", True),
    "str in a timestamp column": ("status_at", "2026-03-02T12:00:00Z"),
    "int in a string column": ("project", 7),
    "missing required value": ("status", None),
    "list in a string column": ("job_queue", ["a", "b"]),
}


@settings(max_examples=30, deadline=None)
@given(case=st.sampled_from(sorted(INVALID)), n=st.integers(1, 6), data=st.data())
def test_an_invalid_value_anywhere_refuses_the_batch_and_writes_nothing(case, n, data):
    column, bad = INVALID[case]
    rows = _valid_rows(n)
    rows[data.draw(st.integers(0, n - 1))][column] = bad
    with tempfile.TemporaryDirectory() as folder:
        store = local_store(folder)
        store.write(TABLE, _valid_rows(1))  # an earlier, good write
        before = store.files(TABLE)
        with pytest.raises(SchemaError, match=rf"job_attempts: column '{column}'"):
            store.write(TABLE, rows)
        assert store.files(TABLE) == before
        assert store.read(TABLE).num_rows == 1


def test_an_invalid_value_in_an_arrow_batch_is_refused_too(lake_settings):
    import pyarrow as pa

    store = LakeStore(lake_settings)
    rows = pa.Table.from_pylist(_valid_rows(3)).set_column(
        1, "attempt", pa.array(["1", "2", "x"])
    )  # a string column where int32 belongs
    with pytest.raises(SchemaError, match="job_attempts: column 'attempt'"):
        store.write(TABLE, rows)
    assert store.files(TABLE) == []


def test_a_fractional_number_in_an_int_column_is_refused(lake_settings):
    rows = _valid_rows(1)
    rows[0]["vcpus"] = 2.5
    store = LakeStore(lake_settings)
    with pytest.raises(SchemaError):
        store.write(TABLE, rows)


def test_a_naive_datetime_is_refused(lake_settings):
    rows = _valid_rows(2)
    rows[1]["status_at"] = datetime(2026, 3, 2, 12)
    store = LakeStore(lake_settings)
    with pytest.raises(SchemaError, match="job_attempts: column 'status_at': row 1 .*time zone"):
        store.write(TABLE, rows)
    assert store.files(TABLE) == []


def test_a_naive_timestamp_column_in_an_arrow_batch_is_refused(lake_settings):
    import pyarrow as pa

    rows = pa.Table.from_pylist(_valid_rows(2)).set_column(
        3, "status_at", pa.array([datetime(2026, 3, 2, 12)] * 2, type=pa.timestamp("us"))
    )
    store = LakeStore(lake_settings)
    with pytest.raises(SchemaError):
        store.write(TABLE, rows)


def test_an_aware_non_utc_datetime_is_stored_as_the_same_instant(lake_settings):
    from datetime import timezone

    rows = _valid_rows(1)
    rows[0]["status_at"] = datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=5)))
    store = LakeStore(lake_settings)
    store.write(TABLE, rows)
    (row,) = store.read(TABLE).to_pylist()
    assert row["status_at"] == datetime(2026, 2, 28, 20, 30, tzinfo=UTC)
    # Partitioned by the UTC month, not the local one.
    assert [f.split("/month=")[1][:7] for f in store.files(TABLE)] == ["2026-02"]
