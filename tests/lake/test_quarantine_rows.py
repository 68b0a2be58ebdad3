"""A quarantine row cannot fail on what it stores (issue 17, finding 1: of the DRAGEN folders the
fuzzer sank, 4 also failed to write their quarantine row): the value that made an input bad
travels into its row, and the lake must take it whatever it is."""

from __future__ import annotations

from datetime import UTC, datetime

from lake.errors import ParseError
from lake.quarantine import PAYLOAD_LIMIT, TEXT_LIMIT, quarantine_row
from lake.settings import Settings
from lake.store import LakeStore

AT = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


def test_surrogates_huge_line_numbers_and_long_text_are_stored(lake_settings: Settings):
    source = "runs/NA12878/\udcff.mapping_metrics.csv"  # os.fsdecode of a 0xFF file name
    error = ParseError(source, 3_000_000_000, "value '\ud800' is not a number" + "9" * 70_000)
    row = quarantine_row("ingest.dragen", source, error, payload=b"\xff\xfe\x00" * 5000, at=AT)
    store = LakeStore(lake_settings)
    store.write("quarantine", [row])
    (got,) = store.read("quarantine").to_pylist()
    assert got["source"] == "runs/NA12878/\\udcff.mapping_metrics.csv"
    assert got["line"] is None  # beyond the int32 column: dropped, the reason still says it
    assert got["reason"].startswith("value '\\ud800' is not a number999")
    assert got["reason"].endswith(f"… ({len(error.reason)} characters)")
    assert len(got["reason"]) < TEXT_LIMIT + 40
    assert got["payload"].startswith("\ufffd\ufffd\x00") and len(got["payload"]) <= PAYLOAD_LIMIT
    assert got["quarantine_id"] == row["quarantine_id"]

