"""Views read compacted months as they are and deduplicate only the uncompacted tail.

The property: on any history of writes (redeliveries, late corrections, writes stamped out of
order) with compaction at any points, every table view answers exactly what a window over all of
the table's rows answers (the views before compacted files were trusted).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.engine import connect, dedupe_sql
from lake.schemas import table
from lake.settings import Settings
from lake.store import LakeStore

PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MONTH_EDGE = datetime(2026, 2, 1, tzinfo=UTC)
MONTHS = ("2026-01", "2026-02")
T_RECORDED = datetime(2026, 3, 1, tzinfo=UTC)


@st.composite
def attempt_rows(draw) -> list[dict]:
    """One write: distinct keys, each a state change near a month edge, with a payload."""
    keys = draw(
        st.sets(
            st.tuples(st.sampled_from(["j1", "j2", "j3"]), st.sampled_from(["RUNNING", "FAILED"])),
            min_size=1,
            max_size=5,
        )
    )
    return [
        {
            "job_id": job_id,
            "attempt": 1,
            "status": status,
            # A few seconds either side of the edge: some keys change month between versions,
            # the case a month-local window must still get right.
            "status_at": MONTH_EDGE + timedelta(seconds=draw(st.integers(-2, 1))),
            "status_reason": draw(st.sampled_from(["a", "b", None])),
            "exit_code": draw(st.none() | st.integers(0, 3)),
        }
        for job_id, status in sorted(keys)
    ]


@st.composite
def histories(draw) -> list[tuple]:
    """Writes and compactions in any order; each write stamped with its own ``recorded_at``."""
    steps = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("write"), attempt_rows()),
                st.tuples(st.just("redeliver"), st.integers(0, 20)),
                st.tuples(st.just("compact"), st.sampled_from(MONTHS)),
            ),
            min_size=1,
            max_size=10,
        )
    )
    # Distinct stamps, not in write order: a late writer can stamp an older time.
    stamps = draw(st.permutations(range(len(steps))))
    return [
        (*step, T_RECORDED + timedelta(minutes=s)) for step, s in zip(steps, stamps, strict=True)
    ]


def _rows(con, sql: str) -> list[str]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return sorted(json.dumps(dict(zip(names, r, strict=True)), default=str) for r in cur.fetchall())


def _replay(store: LakeStore, history: list[tuple]) -> None:
    written: list[list[dict]] = []
    for kind, arg, recorded_at in history:
        if kind == "write":
            written.append(arg)
            store.write("job_attempts", arg, recorded_at=recorded_at)
        elif kind == "redeliver" and written:
            store.write("job_attempts", written[arg % len(written)], recorded_at=recorded_at)
        elif kind == "compact":
            store.compact("job_attempts", arg)


@PROPERTY
@given(history=histories())
def test_views_over_compacted_months_answer_as_a_window_over_every_row(history):
    spec = table("job_attempts")
    with tempfile.TemporaryDirectory() as tmp:
        lake = Settings(lake_uri=f"{tmp}/lake")
        store = LakeStore(lake)
        _replay(store, history)
        con = connect(lake)
        everything = dedupe_sql(spec, "raw_job_attempts")  # the window over all rows
        assert _rows(con, "SELECT * FROM job_attempts") == _rows(con, everything)
        for month in MONTHS:
            files = [f for f in store.files("job_attempts") if f"/month={month}/" in f]
            assert sum("/compacted-" in f for f in files) <= 1, files


def _window_input_rows(con, sql: str) -> int:
    """Rows that reached a window operator while running ``sql`` (from DuckDB's profile)."""
    con.execute("SET enable_profiling = 'json'")
    con.execute("SET profiling_coverage = 'ALL'")
    plan = con.execute(f"EXPLAIN ANALYZE {sql}").fetchall()[0][1]
    con.execute("SET enable_profiling = 'no_output'")

    def walk(node: dict) -> int:
        own = 0
        if "WINDOW" in node.get("operator_type", ""):
            own = sum(c.get("operator_cardinality", 0) for c in node.get("children", []))
        return own + sum(walk(c) for c in node.get("children", []))

    return walk(json.loads(plan))


def test_a_compacted_month_is_read_without_the_window(lake_settings):
    store = LakeStore(lake_settings)
    at = datetime(2026, 1, 10, tzinfo=UTC)
    rows = [
        {"job_id": f"j{i}", "attempt": 1, "status": "RUNNING", "status_at": at} for i in range(40)
    ]
    store.write("job_attempts", rows[:25])
    store.write("job_attempts", rows[20:])  # five redelivered
    store.write("job_attempts", [{**rows[0], "status_at": at + timedelta(days=40)}])  # February
    store.compact("job_attempts", "2026-01")
    con = connect(lake_settings)

    assert con.execute(
        "SELECT month, count(*) FROM job_attempts GROUP BY month ORDER BY month"
    ).fetchall() == [("2026-01", 40), ("2026-02", 1)]
    # Only February (one part- file, one row) is deduplicated; January's 40 rows are read as is.
    assert _window_input_rows(con, "SELECT count(*) FROM job_attempts") == 1


def test_a_newer_row_in_the_tail_wins_over_the_compacted_row(lake_settings):
    store = LakeStore(lake_settings)
    at = datetime(2026, 1, 10, tzinfo=UTC)
    row = {"job_id": "j1", "attempt": 1, "status": "FAILED", "status_at": at}
    store.write("job_attempts", [{**row, "status_reason": "first"}])
    store.compact("job_attempts", "2026-01")
    # With another key, so the write is a new file (the same keys alone would name an old one).
    store.write("job_attempts", [{**row, "status_reason": "restated"}, {**row, "job_id": "j2"}])
    con = connect(lake_settings)
    assert con.execute(
        "SELECT job_id, status_reason FROM job_attempts ORDER BY job_id"
    ).fetchall() == [("j1", "restated"), ("j2", None)]


@pytest.mark.parametrize("step", ["move", "delete_file"])
def test_recompaction_never_shows_a_key_twice_or_loses_one(lake_settings, step):
    """Each step of compacting an already compacted month leaves views with the same answer."""
    store = LakeStore(lake_settings)
    at = datetime(2026, 1, 10, tzinfo=UTC)
    store.write(
        "job_attempts", [{"job_id": "j1", "attempt": 1, "status": "RUNNING", "status_at": at}]
    )
    store.compact("job_attempts", "2026-01")
    store.write(
        "job_attempts", [{"job_id": "j2", "attempt": 1, "status": "RUNNING", "status_at": at}]
    )
    expected = [("j1",), ("j2",)]
    seen = []

    def check():
        con = connect(lake_settings)
        seen.append(con.execute("SELECT job_id FROM job_attempts ORDER BY job_id").fetchall())

    real = getattr(store.fs, step)

    def spy(*args):
        check()
        real(*args)
        check()

    real_read = store.read

    def read_then_spy(*args, **kwargs):  # the spy watches compaction's writes, not its read
        out = real_read(*args, **kwargs)
        store.fs = _Spy(store.fs, step, spy)
        return out

    store.read = read_then_spy
    store.compact("job_attempts", "2026-01")
    assert seen and all(s == expected for s in seen), seen
    files = [f.rpartition("/")[2] for f in LakeStore(lake_settings).files("job_attempts")]
    assert len(files) == 1 and files[0].startswith("compacted-")


class _Spy:
    """A filesystem whose one method runs a callback instead (everything else passes through)."""

    def __init__(self, fs, name: str, replacement) -> None:
        self._fs, self._name, self._replacement = fs, name, replacement

    def __getattr__(self, attr: str):
        return self._replacement if attr == self._name else getattr(self._fs, attr)


def test_connect_lists_no_table(lake_settings, monkeypatch):
    """Opening the engine checks each table for a file; it does not list every file of it."""
    store = LakeStore(lake_settings)
    at = datetime(2026, 1, 10, tzinfo=UTC)
    store.write(
        "job_attempts", [{"job_id": "j1", "attempt": 1, "status": "RUNNING", "status_at": at}]
    )

    def no_listing(self, name):
        raise AssertionError(f"connect listed every file of {name}")

    monkeypatch.setattr(LakeStore, "files", no_listing)
    con = connect(lake_settings)
    assert con.execute("SELECT job_id FROM job_attempts").fetchall() == [("j1",)]
    assert con.execute("SELECT count(*) FROM costs").fetchone() == (0,)
