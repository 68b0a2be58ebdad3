"""Billing exports that cannot be read are quarantined with the reason, never a traceback
(issue 17, finding 1): a repeated header column, a 0xFF byte in the header or in a row."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.cur import load_cur_files
from lake.settings import Settings
from lake.store import LakeStore

SAMPLE = "aws-cur/Oct2018-WorkshopCUR-00001.sample-rows.csv"


def _variants(original: bytes) -> dict[str, tuple[bytes, str]]:
    header, rows = original.split(b"\n", 1)
    return {
        "repeated column": (
            header + b',"line_item_unblended_cost"\n'
            + b"\n".join(r + b',"9"' for r in rows.split(b"\n") if r) + b"\n",
            "['line_item_unblended_cost'] appear more than once"),
        "renamed into a repeat": (
            header.replace(b'"bill_invoice_id"', b'"identity_line_item_id"', 1) + b"\n" + rows,
            "['identity_line_item_id'] appear more than once"),
        "0xFF in the header": (header.replace(b"bill_", b"bi\xffll_", 1) + b"\n" + rows,
                               "header is not UTF-8"),
        "0xFF in a row": (header + b"\n" + rows.replace(b"AWS", b"A\xffWS", 1), "invalid UTF8"),
    }


@pytest.mark.parametrize("case", ["repeated column", "renamed into a repeat",
                                  "0xFF in the header", "0xFF in a row"])
def test_an_unreadable_export_is_quarantined_and_the_next_loads(
        reference: Path, tmp_path: Path, lake_settings: Settings, case: str):
    original = (reference / SAMPLE).read_bytes()
    data, reason = _variants(original)[case]
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_bytes(data)
    good.write_bytes(original)
    store = LakeStore(lake_settings)
    first, second = load_cur_files([str(bad), str(good)], store)
    assert first.error is not None and reason in first.error
    assert second.error is None and second.rows_valid == 10
    (q,) = store.read("quarantine").to_pylist()
    assert q["source"] == str(bad) and reason in q["reason"]
