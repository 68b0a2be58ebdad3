"""Replaying a drawn lake history, shared by the property tests of the rollups."""

from __future__ import annotations

from collections.abc import Iterable

from analytics import rollups
from analytics.engine import connect
from lake.settings import Settings
from lake.store import LakeStore

Step = tuple[str, str | None, object]  # ("write", table, rows) | ("compact", table, month) |
#                                          ("refresh", month or None for all, None)


def played(folder: str, history: Iterable[Step]) -> tuple[Settings, LakeStore]:
    """A lake at ``folder/lake`` after the history's writes, compactions and rollup refreshes,
    in the history's order."""
    lake = Settings(lake_uri=f"{folder}/lake")
    store = LakeStore(lake)
    for kind, name, arg in history:
        if kind == "write":
            store.write(name, arg)
        elif kind == "compact":
            store.compact(name, arg)
        else:
            rollups.refresh(connect(lake, store), store, None if name is None else [name])
    return lake, store
