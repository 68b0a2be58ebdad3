"""pyarrow without NumPy and pandas, for commands that only convert Python values (DRAGEN ingest).

Two imports that such a command never uses cost it a fifth of a second or more before any work:

- **NumPy**: pyarrow's compiled modules import it when it is installed (about 0.15 s of CPU on an
  idle machine), though pyarrow works without it (it is optional since pyarrow 16; the Lambda
  artefact that loads finished runs' metrics ships none). Refused while the pyarrow modules an
  ingest uses are imported, they start without it; the finder is then removed, so anything that
  imports NumPy later (another pyarrow module, pandas) gets it.
- **pandas**: pyarrow asks, on its first conversion of Python values (``pa.array([...])``),
  whether pandas is installed, by importing it: 0.3 s of CPU, over a second on a busy machine.
  Answered "not importable", the probe skips that import; pyarrow still imports pandas itself
  the first time something really asks for it (``to_pandas``, ``from_pandas``).

Either refusal is skipped when the module is imported already (a test process, a notebook).
"""

from __future__ import annotations

import importlib
import sys
from importlib.abc import MetaPathFinder


class _Refuse(MetaPathFinder):
    """An import finder that refuses some modules (a ``None`` in sys.modules is not enough: the
    compiled probe reads sys.modules directly and would take the None for the module)."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 - the finder protocol
        if fullname.partition(".")[0] in self.names:
            raise ImportError(f"{fullname} is not imported by this command")
        return


def _refusing(names: list[str], action) -> None:  # noqa: ANN001 - a callable of no arguments
    names = [n for n in names if n not in sys.modules]
    if not names:
        action()
        return
    refuse = _Refuse(*names)
    sys.meta_path.insert(0, refuse)
    try:
        action()
    finally:
        sys.meta_path.remove(refuse)


# the pyarrow modules an ingest imports (each compiled one looks for NumPy when first imported)
_INGEST_MODULES = ("pyarrow", "pyarrow.compute", "pyarrow.csv", "pyarrow.fs", "pyarrow.parquet")


def lean_arrow() -> None:
    """Import the pyarrow modules an ingest uses without NumPy (unless NumPy is imported
    already) and settle pyarrow's pandas probe as "absent" (unless pandas is imported)."""
    _refusing(["numpy"], lambda: [importlib.import_module(m) for m in _INGEST_MODULES])
    import pyarrow as pa

    _refusing(["pandas"], lambda: pa.array([0]))  # the probe: its answer is kept for the process
