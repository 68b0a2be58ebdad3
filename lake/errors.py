"""The error types every part of seqledger raises on purpose.

Each error says whether retrying can help (``retryable``): the Lambda entry points re-raise
transient errors so AWS retries them, and record terminal ones in quarantine.
"""

from __future__ import annotations


class SeqledgerError(Exception):
    """Base of every error seqledger raises deliberately."""

    retryable: bool = False


class TransientError(SeqledgerError):
    """Retrying may succeed (throttling, a server that is not up yet, a Spot reclaim)."""

    retryable = True


class TerminalError(SeqledgerError):
    """Retrying cannot help: the input or the configuration is wrong."""

    retryable = False


class ConfigError(TerminalError):
    """A setting is missing or invalid; the message names the variable."""


class ParseError(TerminalError):
    """An input file or event could not be read; names the source and the line."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # keep the error picklable across processes
        return (type(self), (self.source, self.line, self.reason))


class InvalidEvent(ParseError):
    """An event that is malformed or of a kind seqledger does not handle."""


class SchemaError(TerminalError):
    """Rows that do not fit a lake table's schema."""


class LakeWriteError(TransientError):
    """The store could not write; the write left nothing behind and can be retried."""


class LakeReadError(TransientError):
    """The store could not read or list the lake (after retrying for the configured time)."""


class SubmitError(TerminalError):
    """A job could not be submitted because its request is invalid (e.g. a missing tag)."""
