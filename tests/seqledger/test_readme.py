"""The README's table documentation is generated from the schemas and must not drift."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "scripts" / "update_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_documents_every_table_and_column_as_the_schemas_say():
    readme = (ROOT / "README.md").read_text()
    assert _script().render(readme) == readme, "run: uv run python scripts/update_readme.py"


def test_readme_gives_the_two_commands_for_a_fresh_machine():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
