"""Cost-allocation tags: every job carries all of them, with values AWS accepts.

A job without its tags cannot be priced per project, sample or user, so a submission missing one
is refused before it reaches any executor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lake.errors import SubmitError
from pipeline_runner.records import REQUIRED_TAGS

# AWS tag rules (Tagging AWS resources, "Tag naming limits and requirements"): keys up to 128
# and values up to 256 Unicode characters; letters, digits, spaces and + - = . _ : / @ only;
# the aws: prefix is reserved. Batch accepts at most 50 tags on a job.
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 256
MAX_TAGS = 50
_ALLOWED = re.compile(r"^[\w .:/=+\-@]*$")


def _problem(key: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{key} (not a string: {type(value).__name__})"
    if not value.strip():
        return f"{key} (empty)"
    if len(value) > MAX_VALUE_CHARS:
        return f"{key} ({len(value)} characters, at most {MAX_VALUE_CHARS})"
    if not _ALLOWED.match(value):
        bad = sorted({c for c in value if not _ALLOWED.match(c)})
        return f"{key} (characters not allowed in AWS tags: {''.join(bad)!r})"
    return None


def validate_tags(tags: Mapping[str, object] | None, job: str | None = None) -> dict[str, str]:
    """The tags, checked: every REQUIRED_TAGS key present, non-empty and a valid AWS tag value.

    Returns the required tags in REQUIRED_TAGS order, then any extra tags.

    Raises:
        SubmitError: naming the job and every missing or invalid tag.
    """
    tags = dict(tags or {})
    missing = [k for k in REQUIRED_TAGS if k not in tags or tags[k] is None]
    invalid = [p for k in REQUIRED_TAGS if k not in missing and (p := _problem(k, tags[k]))]
    for key, value in tags.items():
        if key in REQUIRED_TAGS:
            continue
        bad_key = (not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS
                   or not _ALLOWED.match(key) or key.lower().startswith("aws:"))
        if bad_key:
            invalid.append(f"{key!r} (invalid tag key)")
        elif p := _problem(key, value):
            invalid.append(p)
    if len(tags) > MAX_TAGS:
        invalid.append(f"{len(tags)} tags (at most {MAX_TAGS})")
    if missing or invalid:
        parts = []
        if missing:
            parts.append(f"missing tag(s): {', '.join(missing)}")
        if invalid:
            parts.append(f"invalid tag(s): {'; '.join(invalid)}")
        raise SubmitError(f"job {job or '(unnamed)'} refused: {'; '.join(parts)}")
    ordered = {k: tags[k] for k in REQUIRED_TAGS}
    ordered.update({k: v for k, v in tags.items() if k not in ordered})
    return ordered  # type: ignore[return-value]
