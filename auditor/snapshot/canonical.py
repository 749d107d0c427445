"""The byte-exact files of a snapshot folder.

`rows.json` holds one row per line (`"key":{...},`), rows sorted by key and keys sorted
within a row, so that git diffs show whole rows and a reader can skip unchanged rows by
comparing lines without parsing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import orjson

from auditor.snapshot.model import Row, Sheet
from auditor.snapshot.normalize import number, to_decimal

SHEET_FILE = "sheet.json"
ROWS_FILE = "rows.json"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class SheetFiles:
    """The parts of a stored snapshot folder that a diff reads.

    `parsed` is `rows` already parsed, where the caller has it (a snapshot being taken):
    a diff that needs every row then does not parse them again.
    """

    meta: dict[str, Any]
    rows: bytes
    parsed: dict[str, Row] | None = None

    @cached_property
    def lines(self) -> list[bytes]:
        """`row_lines(rows)`, split once however many readers need it."""
        return row_lines(self.rows)


METADATA = frozenset({"_id", "_parent", "_modified_at", "_modified_by", "_formulas"})
"""The metadata keys of a row; never reported as data (formulas are compared apart)."""

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def sheet_json(sheet: Sheet) -> bytes:
    return orjson.dumps(sheet.meta(), option=_PRETTY)


def rows_json(rows: dict[str, Row]) -> bytes:
    if not rows:
        return b"{}\n"
    dumps = orjson.dumps
    sort = orjson.OPT_SORT_KEYS
    lines = [dumps(key) + b":" + dumps(rows[key], option=sort) for key in sorted(rows)]
    return b"{\n" + b",\n".join(lines) + b"\n}\n"


def summary_json(rows: dict[str, Row], money_columns: Iterable[str]) -> bytes:
    """Figures derived from the rows alone, for trend reports that must not parse rows."""
    sums: dict[str, Decimal] = {}
    for column in money_columns:
        amounts = [to_decimal(row[column]) for row in rows.values() if column in row]
        if amounts:
            sums[column] = sum((amount for amount in amounts if amount is not None), Decimal(0))
    cells = sum(len(row) for row in rows.values()) - sum(
        1 for row in rows.values() for column in METADATA if column in row
    )
    summary = {
        "rows": len(rows),
        "cells": cells,
        "sums": {column: number(total) for column, total in sums.items()},
    }
    return orjson.dumps(summary, option=_PRETTY)


def row_lines(data: bytes) -> list[bytes]:
    """The row lines of a `rows.json`, each without its trailing comma.

    Rows are joined by `,\n` and JSON strings never hold a raw newline, so splitting on
    that separator yields exactly the rows; only the first and last carry the braces.
    """
    if data == b"{}\n":
        return []
    lines = data.split(b",\n")
    lines[0] = lines[0][2:]
    lines[-1] = lines[-1][:-3]
    return lines


def parse_lines(lines: Iterable[bytes]) -> dict[str, Row]:
    joined = b",".join(lines)
    return orjson.loads(b"{" + joined + b"}") if joined else {}


def parse_rows(data: bytes) -> dict[str, Row]:
    return orjson.loads(data)


def load(data: bytes) -> Any:
    return orjson.loads(data)


def data_of(row: Row, ignored: frozenset[str] = frozenset()) -> Row:
    """A row without metadata and ignored columns: what a data change is measured on.

    A row with nothing to drop is returned as it is, not copied.
    """
    if not ignored and row.keys().isdisjoint(METADATA):
        return row
    return {k: v for k, v in row.items() if k not in METADATA and k not in ignored}
