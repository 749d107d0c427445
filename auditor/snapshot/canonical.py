"""The byte-exact files of a snapshot folder.

`rows.json` holds one row per line (`"key":{...},`), rows sorted by key and keys sorted
within a row, so that git diffs show whole rows and a reader can skip unchanged rows by
comparing lines without parsing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from auditor.snapshot.model import Row, Sheet
from auditor.snapshot.normalize import number, to_decimal

SHEET_FILE = "sheet.json"
ROWS_FILE = "rows.json"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class SheetFiles:
    """The parts of a stored snapshot folder that a diff reads."""

    meta: dict[str, Any]
    rows: bytes


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
    sums: dict[str, Decimal] = {column: Decimal(0) for column in money_columns}
    cells = 0
    for row in rows.values():
        for column, value in row.items():
            if column[0] == "_":
                continue
            cells += 1
            if column in sums:
                amount = to_decimal(value)
                if amount is not None:
                    sums[column] += amount
    present = {column for row in rows.values() for column in row if column in sums}
    summary = {
        "rows": len(rows),
        "cells": cells,
        "sums": {column: number(total) for column, total in sums.items() if column in present},
    }
    return orjson.dumps(summary, option=_PRETTY)


def row_lines(data: bytes) -> list[bytes]:
    """The row lines of a `rows.json`, each without its trailing comma."""
    lines = data.split(b"\n")[1:-2]
    if lines:
        lines[:-1] = [line[:-1] for line in lines[:-1]]
    return lines


def parse_lines(lines: Iterable[bytes]) -> dict[str, Row]:
    joined = b",".join(lines)
    return orjson.loads(b"{" + joined + b"}") if joined else {}


def parse_rows(data: bytes) -> dict[str, Row]:
    return orjson.loads(data)


def load(data: bytes) -> Any:
    return orjson.loads(data)


def data_of(row: Row, ignored: frozenset[str] = frozenset()) -> Row:
    """A row without metadata and ignored columns: what a data change is measured on."""
    return {k: v for k, v in row.items() if k[0] != "_" and k not in ignored}
