"""A cheap fingerprint of the lake's files: it changes when a file is written, compacted or removed.

Readers that cache query results (the dashboards) key them on it, so new data shows on the next
page load instead of when a timer runs out. Every write adds a file under ``<table>/month=…/``
and compaction replaces a month's files, so:

- on a local folder the fingerprint is the modification time of every table and month folder
  (a folder's mtime moves when a file is created, renamed or deleted in it): one ``stat`` per
  month folder, no file is listed;
- on S3, which has no folders, it is a digest of one recursive listing of the lake's tables
  (key, size, last-modified): ListObjectsV2 pages of 1,000 keys, a request per 1,000 files.

``benchmarks/bench_dashboard.py`` prints what it costs on the demo lake.
"""

from __future__ import annotations

import hashlib
import os

import pyarrow.fs as pafs

from lake.schemas import TABLES
from lake.settings import Settings


def fingerprint(settings: Settings) -> str:
    """A short digest that differs whenever a data file of the lake was added, changed or removed.

    Raises ``OSError`` when the lake cannot be read (the caller's lake check says why).
    """
    h = hashlib.blake2b(digest_size=12)
    if settings.lake_is_s3:
        from lake.store import filesystem

        fs, root = filesystem(settings)
        for name in sorted(TABLES):
            infos = fs.get_file_info(pafs.FileSelector(f"{root}/{name}", recursive=True,
                                                       allow_not_found=True))
            for i in sorted(infos, key=lambda i: i.path):
                if i.type == pafs.FileType.File:
                    h.update(f"{i.path}\0{i.size}\0{i.mtime_ns}\n".encode())
        return h.hexdigest()
    for name in sorted(TABLES):
        top = os.path.join(settings.lake_uri, name)
        try:
            entries = sorted(os.scandir(top), key=lambda e: e.name)
            h.update(f"{name}\0{os.stat(top).st_mtime_ns}\n".encode())
        except FileNotFoundError:
            continue
        for e in entries:
            if e.is_dir():
                h.update(f"{e.name}\0{e.stat().st_mtime_ns}\n".encode())
    return h.hexdigest()
