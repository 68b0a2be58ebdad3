"""Bytes of a metric file to numbered text lines, with every way a file can be damaged reported.

File-level damage (empty, binary, too large) raises :class:`ParseError`: nothing in the file can
be trusted. Line-level damage (invalid UTF-8, an absurdly long line, a last line cut short) is
returned as errors beside the good lines, which still load. A byte-order mark and CRLF endings are
not damage: they are removed silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from lake.errors import ParseError

BOM = b"\xef\xbb\xbf"
# The largest real metric file is ~0.6 MB; parsing takes 15-20 times a file's size in memory
# (benchmarked: 8 MB -> +150 MB), so the limit keeps the recorder Lambda (1,024 MB) safe.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LINE_CHARS = 64 * 1024  # real lines are < 200 characters (replay JSON is not read by lines)
_SNIFF_BYTES = 4096
# Control bytes other than tab, LF, CR: text files do not contain them.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13))


@dataclass(frozen=True, slots=True)
class Problem:
    """A line (or file) that could not be read, and the offending text for the quarantine row."""

    error: ParseError
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class Lines:
    """A file's lines: ``text[i]`` is line ``i + 1``; None marks an unreadable line."""

    source: str
    text: list[str | None]
    problems: list[Problem]

    def numbered(self):
        """(line number, text) for every readable, non-blank line."""
        for i, line in enumerate(self.text, 1):
            if line:
                yield i, line


def check_bytes(source: str, data: bytes) -> bytes:
    """The content without a BOM, or a ParseError if the file as a whole is unusable."""
    if not data:
        raise ParseError(source, None, "empty file")
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(source, None,
                         f"file is {len(data)} bytes, over the {MAX_FILE_BYTES} limit")
    if data.startswith(BOM):
        data = data[len(BOM):]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ParseError(source, line, f"binary content: NUL byte at offset {nul}")
    head = data[:_SNIFF_BYTES]
    control = len(head) - len(head.translate(None, _CONTROL))
    if control * 20 > len(head):  # more than 5 % control bytes: not text
        raise ParseError(source, 1, f"binary content: {control} control bytes in the first "
                                    f"{len(head)} bytes")
    if not data.strip():
        raise ParseError(source, None, "file holds only whitespace")
    return data


def split_lines(source: str, data: bytes) -> Lines:
    """Decode ``data`` (UTF-8, optional BOM, LF, CRLF or CR line endings) into numbered lines.

    Raises:
        ParseError: the file is empty, binary or too large.
    """
    data = check_bytes(source, data)
    if b"\r" in data:
        # CRLF (Windows) and CR alone (a file saved by old Mac tools): both end lines, as in
        # Python's universal newlines; read as LF, a CR-only file would be one long line.
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    problems: list[Problem] = []
    complete = data.endswith(b"\n")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        lines = _decode_by_line(source, data, problems)
    else:
        lines = text.split("\n")
    if complete:
        lines.pop()  # the empty string after the final newline
    if max(map(len, filter(None, lines)), default=0) > MAX_LINE_CHARS:
        for i, line in enumerate(lines):
            if line is not None and len(line) > MAX_LINE_CHARS:
                problems.append(Problem(ParseError(
                    source, i + 1, f"line is {len(line)} characters long, over the "
                                   f"{MAX_LINE_CHARS} limit"), line))
                lines[i] = None
    if not complete and len(lines) > 1 and lines[-1] is not None:
        # Real DRAGEN files end with a newline; a multi-line file without one was cut short.
        problems.append(Problem(ParseError(source, len(lines), "last line has no line ending: the "
                                                               "file is probably truncated"),
                                lines[-1]))
        lines[-1] = None
    problems.sort(key=lambda p: p.error.line or 0)
    return Lines(source, lines, problems)


def _decode_by_line(source: str, data: bytes, problems: list[Problem]) -> list[str | None]:
    lines: list[str | None] = []
    offset = 0
    for i, raw in enumerate(data.split(b"\n"), 1):
        chunk = raw
        try:
            lines.append(chunk.decode("utf-8"))
        except UnicodeDecodeError as e:
            lines.append(None)
            reason = f"invalid UTF-8 at byte {offset + e.start} of the file"
            problems.append(Problem(ParseError(source, i, reason),
                                    chunk.decode("utf-8", errors="replace")))
        offset += len(raw) + 1
    return lines


def no_rows_error(source: str, problems: list[Problem], skip: int, shape: str) -> ParseError:
    """The file-level error when a file gave no row: why, naming the first bad line.

    ``problems[:skip]`` are the unreadable lines (from :func:`split_lines`); later ones are lines
    that were read but did not have the file's ``shape``.
    """
    if len(problems) > skip:
        first = problems[skip]
        return ParseError(source, first.error.line,
                          f"no line has the {shape} shape (wrong delimiter or another kind of "
                          f"file?); first: {first.error.reason}")
    if problems:
        first = problems[0]
        return ParseError(source, first.error.line,
                          f"no readable line; first: {first.error.reason}")
    return ParseError(source, None, "no data lines")
