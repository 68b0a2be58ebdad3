"""Vectorised reading of the large, regular files (histograms, contigs, FastQC) with Arrow compute.

A month holds tens of millions of histogram lines; a Python loop per line is the bottleneck. These
helpers read a whole file's lines at once and return None at the first irregularity (a blank or
unreadable line, a wrong field count, a value that is not a plain number). The caller then falls
back to its line-by-line parser, which names every bad line: the fast path is only ever taken for
files the slow path would read without a single problem, and gives the same rows.

The fields come straight from the file's bytes (:func:`csv_fields`: Arrow's CSV reader, one pass,
no Python string per line): building a Python list of a 78,000-line histogram and converting it
to Arrow cost more than everything the fast path then does with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ingest.dragen.text import MAX_FILE_BYTES, MAX_LINE_CHARS, check_bytes

INT = r"^[0-9]+$"
FLOAT = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def plain_text(source: str, data: bytes) -> bytes | None:
    """The bytes of a file that the fast paths may read (ASCII, LF endings, a final newline,
    no blank line), else None: the line parser then reads it and says what is wrong.

    Raises:
        ParseError: the file as a whole is unusable (empty, binary, too large), exactly as
            ``split_lines`` raises it.
    """
    data = check_bytes(source, data)
    # rfind, not ``in``: CPython's forward search for a two-byte needle whose first byte ends
    # every line is four times slower (1.1 ms against 0.3 on a 600 KB histogram)
    if (b"\r" in data or not data.endswith(b"\n") or data.startswith(b"\n")
            or data.rfind(b"\n\n") >= 0 or not data.isascii()):
        return None
    return data


# Every field as written: no quoting, no escapes, no value read as null, one block.
_PARSE = pcsv.ParseOptions(quote_char=False, double_quote=False, escape_char=False,
                           newlines_in_values=False, ignore_empty_lines=False)


@functools.lru_cache(maxsize=8)
def _csv_options(n: int) -> tuple[pcsv.ReadOptions, pcsv.ConvertOptions]:
    """Reader options for ``n`` string fields, built once: one block holds any file the fast
    paths read (at most ``MAX_FILE_BYTES``), so no line is split across blocks."""
    names = [f"f{i}" for i in range(n)]
    return (pcsv.ReadOptions(column_names=names, use_threads=False,
                             block_size=MAX_FILE_BYTES + 1),
            pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                strings_can_be_null=False, quoted_strings_can_be_null=False,
                                check_utf8=False))


def csv_fields(text: bytes | memoryview, n: int) -> list[pa.Array] | None:
    """The ``n`` comma-separated fields of every line of ``text`` (from :func:`plain_text`, or
    a run of its whole lines) as string arrays; None if a line has another count or is too long.

    Arrow's CSV reader splits lines and fields in one pass over the bytes, twice as fast as
    splitting into lines and then each line into fields (a 78,000-line histogram: 5 ms, not 11).
    """
    if not text:
        return None
    read, convert = _csv_options(n)
    try:
        tbl = pcsv.read_csv(pa.py_buffer(text), read_options=read, parse_options=_PARSE,
                            convert_options=convert)
    except pa.ArrowInvalid:  # a line with another number of fields
        return None
    # one block, so one chunk a column (a view, where combine_chunks would copy it)
    columns = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in tbl.columns]
    # the longest line is at most the longest field of each column and the commas (and at
    # most the whole text: a small file needs no look at its fields)
    if len(text) > MAX_LINE_CHARS and \
            sum(pc.max(pc.binary_length(c)).as_py() or 0 for c in columns) + n - 1 \
            > MAX_LINE_CHARS:
        return None
    return columns


def as_number(strings: pa.Array, pattern: str, type_: pa.DataType) -> pa.Array | None:
    """``strings`` cast to ``type_`` when every one matches ``pattern``, else None."""
    # INT is exactly "non-empty, ASCII digits only": a character test, several times a regex's speed
    matches = pc.ascii_is_decimal(strings) if pattern == INT else \
        pc.match_substring_regex(strings, pattern)
    if not pc.all(matches).as_py():
        return None
    try:
        return pc.cast(strings, type_)
    except pa.ArrowInvalid:  # digits beyond the type's range: the line-by-line path says which
        return None


def as_number_or_missing(strings: pa.Array, pattern: str, type_: pa.DataType,
                         missing: frozenset[str]) -> tuple[pa.Array, pa.Array | None] | None:
    """(values, raw texts of the non-numbers) when every string is a number or a ``missing``
    token (``NA``), else None. The texts are None when every string is a number.

    Real FastQC metrics hold a few ``NA`` among thousands of numbers; without this, one ``NA``
    sent the whole file down the line-by-line path.
    """
    is_number = pc.match_substring_regex(strings, pattern)
    if pc.all(is_number).as_py():
        return pc.cast(strings, type_), None
    is_missing = pc.is_in(strings, value_set=pa.array(sorted(missing), pa.string()))
    if not pc.all(pc.or_(is_number, is_missing)).as_py():
        return None
    no_text = pa.scalar(None, pa.string())
    return (pc.cast(pc.if_else(is_number, strings, no_text), type_),
            pc.if_else(is_number, no_text, strings))


def unique(strings: pa.Array) -> bool:
    """Whether no value repeats."""
    return pc.count_distinct(strings).as_py() == len(strings)


def increasing(values: pa.Array) -> bool:
    """Whether ``values`` strictly increase (so none repeats), and none is null.

    Histogram bins are written in order; checking order is cheaper than hashing every key:
    each value against the one before it, one comparison kernel over two views.
    (Arrow only, no NumPy: the Lambda artefact that loads finished runs' metrics carries none.)
    """
    if values.null_count:
        return False
    if len(values) < 2:
        return True
    return not pc.any(pc.less_equal(values.slice(1), values.slice(0, len(values) - 1))).as_py()


def _zero_bytes(n_bytes: int) -> pa.Buffer:
    return pa.py_buffer(bytes(n_bytes))  # calloc'd: no Python loop, no copy


def line_numbers(start: int, n: int) -> pa.Array:
    """Line numbers ``start .. start + n - 1`` as int32."""
    return pc.add(_counting(n), pa.scalar(start, pa.int32()))


_COUNTING: pa.Array | None = None


def _counting(n: int) -> pa.Array:
    """0 .. n - 1 as int32: a slice of one array grown by doubling. Built by Arrow kernels, not
    from Python ints (pyarrow's first conversion of Python values imports pandas)."""
    global _COUNTING
    if _COUNTING is None or len(_COUNTING) < n:
        size = max(n, 2 * len(_COUNTING or ()))
        _COUNTING = pc.subtract(pc.cumulative_sum(filled(1, size)), pa.scalar(1, pa.int32()))
    return _COUNTING.slice(0, n)


def repeat(value: pa.Scalar, n: int) -> pa.Array:
    """``n`` copies of ``value``: an add onto zeros for a time (a run's, on each of its 80,000
    histogram rows), ``pa.repeat`` for the rest."""
    if value.is_valid and pa.types.is_timestamp(value.type):
        ticks = value.cast(pa.int64()).as_py()
        zero = pa.Array.from_buffers(pa.int64(), n, [None, _zero_bytes(8 * n)])
        return pc.add(zero, ticks).view(value.type)
    return pa.repeat(value, n)


_ZEROS = _zero_bytes(0)


def zeros(n: int) -> pa.Array:
    """``n`` int32 zeros (the indices of a one-value dictionary column), a view of one buffer.

    ``pa.repeat`` of a scalar costs 0.6 ms per 80,000 rows; a run's histogram columns need a
    dozen of them.
    """
    global _ZEROS
    if _ZEROS.size < 4 * n:
        _ZEROS = _zero_bytes(max(4 * n, 2 * _ZEROS.size))
    return pa.Array.from_buffers(pa.int32(), n, [None, _ZEROS])


def filled(value: int, n: int) -> pa.Array:
    """``n`` int32 copies of ``value`` (zeros: a view, nothing computed)."""
    return zeros(n) if value == 0 else pc.add(zeros(n), pa.scalar(value, pa.int32()))


class LayoutMemo:
    """Per-row facts derived from columns of names, memoized by the columns' exact content.

    A month's FastQC and contig files repeat the same names in the same order (same reference,
    same read length), so what is derived from the names (bins, contig kinds) is computed once
    per layout and reused. A layout is found by comparing the columns with the remembered ones
    (their lengths first, then their bytes: a memory compare), not by hashing them: a FastQC
    file's three key columns hashed and joined cost 0.45 ms, a sixth of its parse.
    """

    def __init__(self, derive: Callable[..., Any], size: int = 16) -> None:
        self._derive = derive  # called with each column as a list of str
        self._size = size
        self._memo: list[tuple[tuple[pa.Array, ...], Any]] = []  # most recently used first

    def __call__(self, *columns: pa.Array) -> Any:
        columns = tuple(c.cast(pa.string()) for c in columns)
        shape = [(len(c), c.nbytes) for c in columns]
        for i, (known, value) in enumerate(self._memo):
            if [(len(c), c.nbytes) for c in known] == shape and \
                    all(a.equals(b) for a, b in zip(known, columns, strict=True)):
                if i:
                    self._memo.insert(0, self._memo.pop(i))
                return value
        value = self._derive(*(c.to_pylist() for c in columns))
        self._memo.insert(0, (columns, value))
        del self._memo[self._size:]
        return value
