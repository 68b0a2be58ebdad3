"""What a run's files looked like when they were loaded: a cheap proof that they are unchanged.

Skipping a run already in the lake used to mean reading and hashing every byte of it (the run
id of a run without a mapping is named by that hash): 15 s for a 2,000-run month that loads
nothing. The listing that finds the runs already gives each file's size and modification
time, so a run's **stamp** is a digest of its folder, file names, sizes and times. Each batch
records the stamps of the runs it loaded (or found loaded by their content) beside the run ids,
under ``<lake>/_dragen_files/``. A later call skips a run whose stamp it has seen and whose run
id ``qc_metrics`` holds, without opening a file; any change of name, size or time (a file
rewritten, added, removed, a copy) gives another stamp, and the run is read and hashed as
before: the content, not the stamp, decides whether it is new.

The stamps are a cache of the lake's own record, never the record: without them (deleted, an
older lake) every run is read and hashed, and the answer is the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import pyarrow as pa

from lake.store import LakeStore

FOLDER = "_dragen_files"
_SCHEMA = pa.schema([("stamp", pa.string()), ("sample_id", pa.string()),
                     ("run_id", pa.string()), ("origin", pa.string())])
FILES = "files"  # the origin of ids read from the run's own files (ingest.dragen.ids)

FileStat = tuple[int, int]  # (size in bytes, modification time in ns)


def run_stamp(folder: str, names: Iterable[str], stats: Mapping[str, FileStat]) -> str | None:
    """The stamp of a run's files (folder path, then name, size, mtime of each), or None when a
    file's size or time is unknown (the run is then always read)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(folder.encode())
    for name in sorted(names):
        stat = stats.get(f"{folder}/{name}")
        if stat is None or stat[1] is None:
            return None
        h.update(f"\0{name}\0{stat[0]}\0{stat[1]}".encode())
    return h.hexdigest()


def known_stamps(store: LakeStore) -> dict[str, tuple[str, str, str]]:
    """Stamp -> (sample id, run id, origin of the ids) of every run a bulk call recorded."""
    tbl = store.read_aside(FOLDER, _SCHEMA)
    if tbl is None:
        return {}
    stamps, *ids = (tbl.column(c).to_pylist() for c in _SCHEMA.names)
    return dict(zip(stamps, zip(*ids, strict=True), strict=True))


def record_stamps(store: LakeStore, rows: Iterable[tuple[str, str, str, str]]) -> int:
    """Record (stamp, sample id, run id, origin) rows in one file named by them; files written."""
    rows = sorted(set(rows))
    if not rows:
        return 0
    tbl = pa.table([pa.array(c, pa.string()) for c in zip(*rows, strict=True)], schema=_SCHEMA)
    digest = hashlib.sha256("\n".join("\t".join(r) for r in rows).encode()).hexdigest()[:24]
    return int(store.write_aside(FOLDER, f"stamps-{digest}", tbl))

