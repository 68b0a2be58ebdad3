"""Settle pyarrow's probe for pandas without importing pandas (for commands that never use it).

pyarrow asks, on its first conversion of Python values (``pa.array([...])``), whether pandas is
installed, by importing it: 0.3 s of CPU on an idle machine, over a second on a busy one, for a
DRAGEN ingest that never touches a DataFrame. Answering the probe with "not importable" skips
that import; pyarrow still imports pandas itself the first time something really asks for it
(``to_pandas``, ``from_pandas``), so nothing that needs pandas loses it.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder


class _Refuse(MetaPathFinder):
    """An import finder that refuses one module (a ``None`` in sys.modules is not enough: the
    compiled probe reads sys.modules directly and would take the None for the module)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 - the finder protocol
        if fullname == self.name:
            raise ImportError(f"{fullname} is not imported by this command")
        return


def arrow_without_pandas() -> None:
    """Make pyarrow's pandas probe answer "absent", unless pandas is imported already."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    refuse = _Refuse("pandas")
    sys.meta_path.insert(0, refuse)
    try:
        pa.array([0])  # the probe: its answer is kept for the process
    finally:
        sys.meta_path.remove(refuse)
