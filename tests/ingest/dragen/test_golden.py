"""Golden tests: the rows of every reference DRAGEN file, reviewed by hand, compared on every run.

Each reference file has ``golden/<folder>/<file>.json``: per table, the row count, a SHA-256 of
every row (canonical JSON), and the rows themselves (all of them up to 400; beyond that the first
60 and the last 20, which are what a reviewer reads against the file), plus the quarantine rows.
Rows leave out what is the same for the whole run (sample, run, time, file name and type).

Regenerate ONLY on purpose, after reviewing the diff against the reference file:

    SEQLEDGER_UPDATE_GOLDEN=1 uv run pytest tests/ingest/dragen/test_golden.py

The regenerating run skips its tests so it can never pass by comparing a file with itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.conftest import REFERENCE
from tests.ingest.dragen.conftest import FOLDERS, parse_folder, read_folder

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SEQLEDGER_UPDATE_GOLDEN") == "1"
RUN_COLUMNS = ("sample_id", "run_id", "run_at", "source_file", "file_type")
FULL_LIMIT, HEAD, TAIL = 400, 60, 20
TABLES = ("qc_metrics", "qc_histograms", "qc_contig_coverage")


def _row(row: dict) -> list:
    return [v for k, v in row.items() if k not in RUN_COLUMNS]


def _canonical(rows: list[list]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)


def by_file(run) -> dict[str, dict[str, list[dict]]]:
    """table -> source file -> rows, for one parsed run."""
    out: dict[str, dict[str, list[dict]]] = {}
    for table in TABLES:
        grouped: dict[str, list[dict]] = {}
        for row in run.rows(table):
            grouped.setdefault(row["source_file"], []).append(row)
        out[table] = grouped
    return out


def golden_of(run, name: str, grouped: dict[str, dict[str, list[dict]]] | None = None) -> dict:
    """The golden document of one file of a parsed run."""
    grouped = grouped or by_file(run)
    doc: dict = {"file": name, "tables": {}, "quarantine": []}
    outcome = next(o for o in run.files if o.name == name)
    doc.update(family=outcome.family, file_type=outcome.file_type, skipped=outcome.skipped,
               error=outcome.error)
    for table in TABLES:
        rows = grouped[table].get(name, [])
        if not rows:
            continue
        columns = [k for k in rows[0] if k not in RUN_COLUMNS]
        body = [_row(r) for r in rows]
        sampled = len(body) > FULL_LIMIT
        doc["tables"][table] = {
            "rows": len(body),
            "sha256": hashlib.sha256(_canonical(body).encode()).hexdigest(),
            "columns": columns,
            "sampled": sampled,
            "records": body[:HEAD] + body[-TAIL:] if sampled else body,
        }
    doc["quarantine"] = [{k: q[k] for k in ("line", "error_type", "reason")}
                         for q in run.quarantine if q["source"].endswith("/" + name)]
    return doc


def _dump(doc: dict) -> str:
    """JSON with one record per line, so a diff shows which row changed."""
    head = {k: v for k, v in doc.items() if k != "tables"}
    lines = ["{", *[f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in
                    head.items()], '  "tables": {']
    tables = list(doc["tables"].items())
    for ti, (table, t) in enumerate(tables):
        lines.append(f"    {json.dumps(table)}: {{")
        lines += [f"      {json.dumps(k)}: {json.dumps(t[k])}," for k in
                  ("rows", "sha256", "columns", "sampled")]
        lines.append('      "records": [')
        recs = t["records"]
        lines += [f"        {json.dumps(r, ensure_ascii=False)}{',' if i < len(recs) - 1 else ''}"
                  for i, r in enumerate(recs)]
        lines.append("      ]")
        lines.append("    }" + ("," if ti < len(tables) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _cases(reference_root: Path) -> list[tuple[str, str]]:
    return [(folder, name) for folder in FOLDERS
            for name in read_folder(reference_root / "dragen" / folder)]




@pytest.fixture(scope="module")
def runs(dragen_ref):
    """folder -> (parsed run, its rows grouped by table and file)."""
    out = {}
    for folder in FOLDERS:
        run = parse_folder(dragen_ref / folder)
        out[folder] = (run, by_file(run))
    return out


# Without the reference data there is one case, which fails (through the `reference` fixture)
# instead of the whole file silently collecting nothing.
@pytest.mark.parametrize(
    ("folder", "name"), _cases(REFERENCE) if REFERENCE.is_dir() else [("missing", "missing")]
)
def test_reference_file_matches_golden(runs, folder: str, name: str) -> None:
    run, grouped = runs[folder]
    doc = golden_of(run, name, grouped)
    path = GOLDEN / folder / f"{name}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(doc), encoding="utf-8")
        pytest.skip(f"golden regenerated: {path.relative_to(GOLDEN)} (review the diff)")
    assert path.is_file(), f"no golden for {folder}/{name}; see the module docstring"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(_dump(doc)) == expected


def test_every_reference_file_has_a_golden(dragen_ref) -> None:
    on_disk = {p.relative_to(dragen_ref).as_posix() for p in dragen_ref.rglob("*")
               if p.is_file() and p.name != "FORMAT-NOTES.md"}
    covered = {f"{folder}/{name}" for folder, name in _cases(dragen_ref.parent)}
    assert on_disk == covered
    goldens = {p.relative_to(GOLDEN).as_posix().removesuffix(".json")
               for p in GOLDEN.rglob("*.json")}
    assert goldens == covered
