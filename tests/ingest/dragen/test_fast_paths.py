"""The vectorised fast paths give exactly the rows of the line-by-line parsers."""

from __future__ import annotations

import pytest

from ingest.dragen import columnar
from lake.errors import ParseError
from tests.ingest.dragen.conftest import parse_folder


@pytest.mark.parametrize("folder", ["TEST", "T_SRR7890936_50pc", "NA12878_NFE_B_A04_NS2000"])
def test_fast_and_line_parsers_agree_on_the_reference_files(dragen_ref, monkeypatch,
                                                            folder: str) -> None:
    fast = parse_folder(dragen_ref / folder)
    monkeypatch.setattr(columnar, "text_lines", lambda *a, **k: None)  # every file: the slow path
    slow = parse_folder(dragen_ref / folder)
    assert fast.tables.keys() == slow.tables.keys()
    for name in fast.tables:
        assert fast.tables[name].equals(slow.tables[name]), (folder, name)
    assert fast.quarantine == slow.quarantine == []


def test_fast_path_declines_anything_irregular(dragen_ref) -> None:
    from ingest.dragen.text import split_lines

    data = (dragen_ref / "TEST" / "TEST.wgs_fine_hist.csv").read_bytes()
    lines = columnar.text_lines("x", data)
    assert lines is not None and lines.to_pylist() == split_lines("x", data).text
    assert columnar.text_lines("x", b"\xef\xbb\xbf" + data).to_pylist() == lines.to_pylist()  # BOM
    for damaged in (data.replace(b"\n3,", b"\n\n3,"),  # a blank line
                    data.replace(b"\n3,", b"\n\xff3,"),  # invalid UTF-8
                    data.replace(b"\n3,", b"\n\xc3\xa93,"),  # valid UTF-8, not ASCII
                    data.replace(b"\n", b"\r\n"),  # CRLF
                    data.rstrip(b"\n"),  # the last line cut short
                    b"\n" + data,  # a blank first line
                    data + b"1," + b"9" * 70_000 + b"\n"):  # a line over the limit
        assert columnar.text_lines("x", damaged) is None
    with pytest.raises(ParseError, match="binary content"):
        columnar.text_lines("x", data + b"\x00")  # as split_lines raises it
    body = ["1,2", "3,4,5"]
    assert columnar.fields(body, 2) is None
    ints = columnar.fields(["1,2", "3,4"], 2)
    assert ints is not None and columnar.as_number(ints[0], columnar.INT, columnar.pa.int64()) \
        .to_pylist() == [1, 3]
    odd = columnar.fields(["+1,2", "3,4"], 2)
    assert columnar.as_number(odd[0], columnar.INT, columnar.pa.int64()) is None


def test_fastqc_with_na_values_takes_the_fast_path(dragen_ref) -> None:
    from ingest.dragen import fastqc

    data = (dragen_ref / "NA12878_NFE_B_A04_NS2000" /
            "NA12878_NFE_B_A04_NS2000.fastqc_metrics.csv").read_bytes()
    assert data.count(b",NA\n") == 2  # two NA among 5,144 numbers
    block = fastqc._fast(columnar.text_lines("x", data), None)
    assert block is not None and block.n == 5144
    texts = [t for t in block.columns["value_text"].to_pylist() if t is not None]
    assert texts == ["NA", "NA"]
    odd = data.replace(b",NA\n", b",n/a?\n", 1)
    assert fastqc._fast(columnar.text_lines("x", odd), None) is None  # not a number, not missing
