"""Click parameter types for the values every command takes: months, counts, limits, table names.

A bad value is refused at the edge as a usage error (exit 2) naming the option and what it
expects, before any command touches the lake.
"""

from __future__ import annotations

import re
from typing import Any

import click

_MONTH = re.compile(r"\d{4}-\d{2}")


class MonthType(click.ParamType):
    """A calendar month written ``YYYY-MM`` (2026-01 … 2026-12); returned as the same text."""

    name = "YYYY-MM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not _MONTH.fullmatch(text):
            self.fail(f"{value!r} is not a month: expected YYYY-MM, e.g. 2026-10", param, ctx)
        year, month = int(text[:4]), int(text[5:])
        if not 1 <= month <= 12 or year < 1970:
            self.fail(f"{value!r} is not a real month (months run 01 to 12, years from 1970)",
                      param, ctx)
        return text


class TableNameType(click.ParamType):
    """One of the lake's tables (``lake.schemas.TABLES``)."""

    name = "TABLE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from lake.schemas import TABLES  # pyarrow: only when a table name is actually given

        if value not in TABLES:
            self.fail(f"{value!r} is not a table of the lake; one of: {', '.join(TABLES)}",
                      param, ctx)
        return str(value)


class NonEmptyText(click.ParamType):
    """Text that is not blank (an SQL statement, an id)."""

    name = "TEXT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not str(value).strip():
            self.fail("is empty; give a value", param, ctx)
        return str(value)


MONTH = MonthType()
TABLE = TableNameType()
TEXT = NonEmptyText()
COUNT = click.IntRange(min=1)  # how many of something to make: at least one
LIMIT = click.IntRange(min=0)  # at most this many: zero is allowed
