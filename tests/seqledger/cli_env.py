"""The environment of a ``seqledger`` command run as a process by the CLI tests: a lake, the
``cardio`` project and an output prefix under a test's folder, nothing else of this shell's."""

from __future__ import annotations

import os
from pathlib import Path


def cli_env(folder: Path, lake: str = "lake", **more: str) -> dict[str, str]:
    """``folder/<lake>`` as the lake, ``folder/projects.toml`` registering ``cardio``;
    ``more`` adds settings (``SEQLEDGER_EXECUTOR="simulated"``, …)."""
    projects = folder / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    return {"PATH": os.environ["PATH"], "HOME": str(folder),
            "SEQLEDGER_LAKE": str(folder / lake), "SEQLEDGER_PROJECTS": str(projects),
            "SEQLEDGER_OUTPUT_PREFIX": str(folder / "out"), **more}
