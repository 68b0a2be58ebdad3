"""``key_digest`` hashes one sorted Arrow buffer; it must name files exactly as before."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from lake.store import _as_text, key_digest


def _one_string_per_row(tbl: pa.Table, names: list[str]) -> list[str]:
    parts = [pc.fill_null(_as_text(tbl.column(k)), "\x00") for k in names]
    joined = pc.binary_join_element_wise(*parts, "\x1f") if len(parts) > 1 else parts[0]
    return joined.to_pylist()


def _reference_digest(tbl: pa.Table, names: list[str]) -> str:
    """The definition the lake's file names were made with: each sorted key, then \\x1e."""
    h = hashlib.sha256()
    for k in sorted(_one_string_per_row(tbl, names)):
        h.update(k.encode())
        h.update(b"\x1e")
    return h.hexdigest()[:24]


TEXT = st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    ["a", "b", "é", "中", "😀", "\x00", "\x01", "\x1e", "\x1f", " ", "Z"]), max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXT, st.one_of(st.none(), st.integers(-3, 3))), min_size=1,
                max_size=40), st.integers(0, 40))
def test_the_digest_is_the_reference_digest(rows, cut) -> None:
    a = [r[0] for r in rows]
    b = [r[1] for r in rows]
    cut = min(cut, len(a))
    tbl = pa.table({"a": pa.chunked_array([a[:cut], a[cut:]], pa.string()),
                    "b": pa.array(b, pa.int64())})
    for names in (["a"], ["b"], ["a", "b"], ["b", "a"]):
        assert key_digest(tbl, names) == _reference_digest(tbl, names)
