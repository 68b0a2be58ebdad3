"""Regenerate the README's generated sections (the lake's tables) from the schemas.

    uv run python scripts/update_readme.py

tests/seqledger/test_readme.py fails when the README and the schemas disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

from lake.docs import tables_markdown

README = Path(__file__).resolve().parents[1] / "README.md"
MARKERS = ("<!-- tables:start -->", "<!-- tables:end -->")


def render(readme: str) -> str:
    start, end = MARKERS
    block = f"{start}\n{tables_markdown().rstrip()}\n{end}"
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, readme, flags=re.S)


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    print(f"updated {README}")
