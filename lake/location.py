"""Where the lake is, and whether it is there: missing is not empty.

``lake_state`` tells a lake that holds data from an empty one, and both from a path that does
not exist, a file given as the lake, or an S3 endpoint that cannot be reached. The command line
and the dashboards use it so a mistyped ``SEQLEDGER_LAKE`` is an error, never a page of zeros.
The check is cheap: one look at the root and one listing of it, whatever the lake's size.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pyarrow.fs as pafs

from lake.errors import ConfigError
from lake.schemas import TABLES
from lake.settings import LAKE_ENV, Settings


class LakeState(enum.Enum):
    HAS_DATA = "has data"
    EMPTY = "empty"  # exists, nothing written yet
    MISSING = "missing"  # the folder does not exist (or the bucket does not)
    NOT_A_FOLDER = "not a folder"
    UNREACHABLE = "unreachable"  # S3 could not be asked (endpoint down, credentials refused)


@dataclass(frozen=True, slots=True)
class LakeCheck:
    state: LakeState
    uri: str
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.state in (LakeState.HAS_DATA, LakeState.EMPTY)

    def message(self) -> str:
        """One line for a person: what is wrong with the lake and how to fix it."""
        fix = f"set {LAKE_ENV} to the lake's folder or s3://bucket/prefix"
        match self.state:
            case LakeState.HAS_DATA:
                return f"lake {self.uri}"
            case LakeState.EMPTY:
                return (f"the lake at {self.uri} holds no data yet: run `seqledger demo` or "
                        "`seqledger ingest …` to fill it")
            case LakeState.MISSING:
                return (f"no lake at {self.uri} (the path does not exist): {fix}, or run "
                        "`seqledger demo` to make a demo lake there")
            case LakeState.NOT_A_FOLDER:
                return f"the lake {self.uri} is a file, not a folder: {fix}"
            case LakeState.UNREACHABLE if self.uri.startswith("s3://"):
                return (f"cannot reach the lake {self.uri}: {self.detail} — check "
                        "SEQLEDGER_S3_ENDPOINT / AWS_ENDPOINT_URL_S3 and the credentials")
            case LakeState.UNREACHABLE:
                return f"cannot read the lake {self.uri}: {self.detail} — check its permissions"
        raise AssertionError(self.state)  # pragma: no cover


class LakeUnavailableError(ConfigError):
    """The lake is missing, is a file, or cannot be reached; the message names it."""

    def __init__(self, check: LakeCheck) -> None:
        self.check = check
        super().__init__(check.message())

    def __reduce__(self):
        return (type(self), (self.check,))


def lake_state(settings: Settings, fs: pafs.FileSystem | None = None) -> LakeCheck:
    """The state of the configured lake (a local folder or an S3 prefix)."""
    from lake.store import filesystem

    uri = settings.lake_uri
    try:
        if fs is None:
            fs, root = filesystem(settings)
        else:
            root = uri.removeprefix("s3://")
        if settings.lake_is_s3:
            bucket = root.split("/", 1)[0]
            if fs.get_file_info(bucket).type == pafs.FileType.NotFound:
                return LakeCheck(LakeState.MISSING, uri, f"no bucket {bucket}")
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.File:
            return LakeCheck(LakeState.NOT_A_FOLDER, uri)
        if info.type == pafs.FileType.NotFound and not settings.lake_is_s3:
            return LakeCheck(LakeState.MISSING, uri)
        # S3 has no folders: a prefix with nothing under it is an empty lake.
        entries = fs.get_file_info(pafs.FileSelector(root, allow_not_found=True))
    except OSError as e:
        if not settings.lake_is_s3 and isinstance(e, PermissionError):
            return LakeCheck(LakeState.UNREACHABLE, uri, f"permission denied ({e})")
        return LakeCheck(LakeState.UNREACHABLE, uri, _first_line(str(e)))
    tables = {e.base_name for e in entries if e.type == pafs.FileType.Directory}
    return LakeCheck(LakeState.HAS_DATA if tables & set(TABLES) else LakeState.EMPTY, uri)


def require_lake(settings: Settings) -> LakeCheck:
    """The lake's state when it can be read (data or empty); otherwise ``LakeUnavailableError``."""
    check = lake_state(settings)
    if not check.usable:
        raise LakeUnavailableError(check)
    return check


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no answer"
