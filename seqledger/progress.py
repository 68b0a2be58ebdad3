"""Progress bars of long commands: on stderr, by default only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(show: bool | None, unit: str, desc: str, total: int | None = None,
                 done: int = 0) -> Iterator[Callable[[int], object]]:
    """A tqdm bar on stderr, advanced by the callback (``total`` None: a count and a rate);
    ``show`` None: shown only when stderr is a terminal."""
    if show is False or (show is None and not sys.stderr.isatty()):
        yield lambda _n: None  # no bar: tqdm is not even imported (0.015-0.04 s of a call)
        return
    from tqdm import tqdm

    bar = tqdm(total=total, initial=done, unit=unit, desc=desc, leave=True, dynamic_ncols=True,
               file=sys.stderr)
    try:
        yield bar.update
    finally:
        bar.close()
