"""Run folders under a root: which files belong to which DRAGEN run.

DRAGEN names every output ``<prefix>.<family>…`` (``<prefix>-replay.json`` for the replay), where
the prefix is ``--output-file-prefix``. A run is therefore recognised by its files: in one
folder, the files that share an output prefix are one run. A folder holding the outputs of
several runs (several prefixes) gives several runs, never one merged run.

``group_runs`` is pure (paths in, runs out); ``list_files`` does the listing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow.fs as pafs

from ingest.dragen.registry import FAMILIES, METRIC_SUFFIXES, NOT_METRICS
from lake.errors import ParseError

GZ = ".gz"


@dataclass(frozen=True, slots=True)
class RunFiles:
    """The files of one run: ``folder`` (a path inside the filesystem) and names relative to it."""

    folder: str
    prefix: str | None  # None: a folder of files none of which names a prefix (single-run form)
    names: tuple[str, ...]
    label: str  # how the run is named to people and in a mapping: <folder from root>/<prefix>

    @property
    def relative_folder(self) -> str:
        return self.label.rsplit("/", 1)[0] if "/" in self.label else ""


@dataclass(frozen=True)
class Discovery:
    """What a root holds: its runs, and the metric-looking files that belong to none."""

    runs: list[RunFiles]
    orphans: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    other_files: int = 0  # BAMs, VCFs, logs: not metric files at all


def output_prefix(name: str) -> str | None:
    """The output prefix of a DRAGEN file name (``TEST.wgs_hist.csv`` -> ``TEST``), or None."""
    base = name.rsplit("/", 1)[-1]
    if base.endswith(GZ):
        base = base[: -len(GZ)]
    if base in NOT_METRICS:
        return None
    for family in FAMILIES:
        m = family.pattern.search(base)
        if m is not None:
            start = m.start("type")
            prefix = base[: start - 1] if start > 0 else ""
            return prefix or None
    return None


def is_metric_name(name: str) -> bool:
    """Whether a file name can hold DRAGEN metrics (``.csv``, ``.tab``, ``.json``, or gzipped)."""
    base = name[: -len(GZ)] if name.endswith(GZ) else name
    return base.endswith(METRIC_SUFFIXES)


def _label(relative_dir: str, prefix: str | None) -> str:
    if prefix is None:
        return relative_dir or "."
    return f"{relative_dir}/{prefix}" if relative_dir else prefix


def group_runs(root: str, paths: Iterable[str], *, whole_folder: bool = False) -> Discovery:
    """The runs among ``paths`` (file paths under ``root``).

    Files are grouped by folder, then by output prefix. A metric-looking file without a prefix
    of its own (``bam_list.csv``, a DRAGEN-shaped CSV with another name) joins the run of its
    folder when the folder holds exactly one run, and belongs to none otherwise.
    ``whole_folder``: a folder whose files name no prefix at all is still one run (the user
    pointed at it as a run).
    """
    root = root.rstrip("/")
    by_dir: dict[str, list[str]] = {}
    other = 0
    for path in paths:
        if not is_metric_name(path):
            other += 1
            continue
        directory, _, base = path.rpartition("/")
        by_dir.setdefault(directory, []).append(base)
    runs: list[RunFiles] = []
    orphans: list[tuple[str, str]] = []
    for directory in sorted(by_dir):
        rel = directory[len(root):].strip("/") if directory.startswith(root) else directory
        groups: dict[str, list[str]] = {}
        loose: list[str] = []
        for base in sorted(by_dir[directory]):
            prefix = output_prefix(base)
            (groups.setdefault(prefix, []) if prefix else loose).append(base)
        for base in list(loose):  # a sniffed CSV named <prefix>.<something>.csv
            head = base.split(".", 1)[0]
            if head in groups:
                groups[head].append(base)
                loose.remove(base)
        if len(groups) == 1:
            (prefix, names), = groups.items()
            names += loose
            loose = []
            runs.append(RunFiles(directory, prefix, tuple(sorted(names)), _label(rel, prefix)))
        elif not groups and whole_folder and loose:
            runs.append(RunFiles(directory, None, tuple(loose), _label(rel, None)))
            loose = []
        else:
            runs.extend(RunFiles(directory, prefix, tuple(sorted(names)), _label(rel, prefix))
                        for prefix, names in sorted(groups.items()))
        why = (f"in a folder of {len(groups)} runs, and names none of them" if groups
               else "names no DRAGEN output prefix")
        orphans.extend((f"{directory}/{base}", why) for base in loose)
    return Discovery(runs, orphans, other)


def folder_not_found(root: str) -> ParseError:
    """The refusal of a run folder that is not there."""
    return ParseError(root, None, "run folder not found")


def list_files(fs: pafs.FileSystem, root: str) -> list[str]:
    """Every file path under ``root`` (a pyarrow filesystem path), sorted.

    Raises:
        ParseError: ``root`` is not a folder.
    """
    return sorted(list_stats(fs, root))


def list_stats(fs: pafs.FileSystem, root: str) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` -> (size, modification time in ns), from one listing.

    Raises:
        ParseError: ``root`` is not a folder.
    """
    if fs.get_file_info(root).type != pafs.FileType.Directory:
        raise folder_not_found(root)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    return {i.path: (i.size, i.mtime_ns) for i in infos if i.type == pafs.FileType.File}
