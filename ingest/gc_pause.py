"""Python's cyclic garbage collector paused over one large batch.

A batch of 20,000 job events allocates millions of small containers (rows, histories,
datetimes) while the heap already holds the batch's tables: the collector's generation-2 passes
walk that whole heap again and again, and took 20-40 % of the batch path's CPU here
(``benchmarks/bench_batch_ingest.py``: 4,000-4,600 events per CPU-second collecting, 5,600
paused). What a batch allocates is freed by reference counting as before; the few cycles it
makes wait for the next collection after the batch, so memory stays bounded by the batch.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause cyclic collection inside the block; restore what it was after (even on error)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
