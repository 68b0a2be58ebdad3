"""Commands of this area (not written yet)."""

from __future__ import annotations


def register(groups) -> None:
    """Attach this area's commands to the CLI groups."""
