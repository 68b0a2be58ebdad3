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
    monkeypatch.setattr(columnar, "plain_text", lambda *a, **k: None)  # every file: the slow path
    slow = parse_folder(dragen_ref / folder)
    assert fast.tables.keys() == slow.tables.keys()
    for name in fast.tables:
        assert fast.tables[name].equals(slow.tables[name]), (folder, name)
    assert fast.quarantine == slow.quarantine == []


def test_fast_path_declines_anything_irregular(dragen_ref) -> None:
    from ingest.dragen.text import split_lines

    data = (dragen_ref / "TEST" / "TEST.wgs_fine_hist.csv").read_bytes()
    text = columnar.plain_text("x", data)
    assert text == data
    fields = columnar.csv_fields(text, 2)
    assert fields is not None
    assert [f"{a},{b}" for a, b in zip(*(f.to_pylist() for f in fields), strict=True)] == \
        split_lines("x", data).text
    assert columnar.plain_text("x", b"\xef\xbb\xbf" + data) == data  # BOM
    for damaged in (data.replace(b"\n3,", b"\n\n3,"),  # a blank line
                    data.replace(b"\n3,", b"\n\xff3,"),  # invalid UTF-8
                    data.replace(b"\n3,", b"\n\xc3\xa93,"),  # valid UTF-8, not ASCII
                    data.replace(b"\n", b"\r\n"),  # CRLF
                    data.rstrip(b"\n"),  # the last line cut short
                    b"\n" + data,  # a blank first line
                    data + b"\n"):  # a blank last line
        assert columnar.plain_text("x", damaged) is None
    long_line = columnar.plain_text("x", data + b"1," + b"9" * 70_000 + b"\n")
    assert columnar.csv_fields(long_line, 2) is None  # a line over the limit
    with pytest.raises(ParseError, match="binary content"):
        columnar.plain_text("x", data + b"\x00")  # as split_lines raises it
    assert columnar.csv_fields(b"1,2\n3,4,5\n", 2) is None
    assert columnar.csv_fields(b"1,2\n3\n", 2) is None
    assert columnar.csv_fields(b"", 2) is None
    ints = columnar.csv_fields(b"1,2\n3,4\n", 2)
    assert ints is not None and columnar.as_number(ints[0], columnar.INT, columnar.pa.int64()) \
        .to_pylist() == [1, 3]
    odd = columnar.csv_fields(b'+1,2\n"3",4\n', 2)
    assert odd[0].to_pylist() == ["+1", '"3"']  # as written: no quoting
    assert columnar.as_number(odd[0], columnar.INT, columnar.pa.int64()) is None
    assert columnar.csv_fields(b"NA,\n,null\n", 2)[1].to_pylist() == ["", "null"]  # not nulls


def test_fastqc_with_na_values_takes_the_fast_path(dragen_ref) -> None:
    from ingest.dragen import fastqc

    data = (dragen_ref / "NA12878_NFE_B_A04_NS2000" /
            "NA12878_NFE_B_A04_NS2000.fastqc_metrics.csv").read_bytes()
    assert data.count(b",NA\n") == 2  # two NA among 5,144 numbers
    block = fastqc._fast(columnar.plain_text("x", data), None)
    assert block is not None and block.n == 5144
    texts = [t for t in block.columns["value_text"].to_pylist() if t is not None]
    assert texts == ["NA", "NA"]
    odd = data.replace(b",NA\n", b",n/a?\n", 1)
    assert fastqc._fast(columnar.plain_text("x", odd), None) is None  # not a number, not missing


def _fragment_rows(data: bytes) -> tuple[list[tuple], list[tuple]]:
    from ingest.dragen.histograms import parse_fragment_length_hist

    out = parse_fragment_length_hist("f.csv", data, family="fragment_length_hist",
                                     file_type="fragment_length_hist")
    bins = out.bins
    names = [c for c in bins.columns if c != "value_text"]
    cols = [bins.columns[c] for c in names]
    cols = [[c.value] * bins.n if hasattr(c, "value") else
            (c.to_pylist() if hasattr(c, "to_pylist") else list(c)) for c in cols]
    return (list(zip(*cols, strict=True)),
            [(p.error.line, p.error.reason) for p in out.problems])


def test_fragment_length_fast_path_gives_the_line_parsers_rows_or_declines(
        dragen_ref, monkeypatch) -> None:
    from ingest.dragen import histograms

    data = (dragen_ref / "T_SRR7890936_50pc" /
            "T_SRR7890936_50pc.fragment_length_hist.csv").read_bytes()
    assert data.count(b"#Sample:") == 2
    second = data.index(b"#Sample:", 1)
    variants = {
        "as written": data,
        "a header repeated inside a block": data.replace(b"\n60,",
                                                         b"\nFragmentLength,Count\n60,", 1),
        "a sample without its header": data[:second] + data[second:].replace(
            b"FragmentLength,Count\n", b"", 1),
        "a comment line": data.replace(b"\n60,", b"\n# note\n60,", 1),
        "a repeated length": data.replace(b"\n61,", b"\n60,", 1),
        "a signed count": data.replace(b"\n60,0\n", b"\n60,+0\n", 1),
        "three fields": data.replace(b"\n60,0\n", b"\n60,0,1\n", 1),
        "one sample twice": data[:second] + data[:second],
        "a sample with no lengths": data[:second] + data[second:data.index(b"Count\n", second)
                                                         + 6],
    }
    fast_taken = []
    for label, variant in variants.items():
        fast = histograms._fragment_fast(columnar.plain_text("f", variant), None)
        fast_taken.append(fast is not None)
        rows, problems = _fragment_rows(variant)
        with monkeypatch.context() as m:
            m.setattr(columnar, "plain_text", lambda *a, **k: None)
            assert _fragment_rows(variant) == (rows, problems), label
    assert fast_taken == [True] + [False] * (len(variants) - 1)
