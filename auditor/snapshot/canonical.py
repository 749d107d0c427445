"""The byte-exact files of a snapshot folder.

`rows.json` holds one row per line (`"key":{"cells":{...},...},`), rows sorted by key and
keys sorted within a row, so that git diffs show whole rows and a reader can skip unchanged
rows by comparing lines without parsing them. Files read back from the branch are checked
as they are read: a file that is not what this module writes is reported as damage, never
read as fewer rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import orjson

from auditor.errors import DamagedSnapshot
from auditor.snapshot.model import LAYOUT, Row, Sheet
from auditor.snapshot.normalize import number, to_decimal

SHEET_FILE = "sheet.json"
ROWS_FILE = "rows.json"
SUMMARY_FILE = "summary.json"
EMPTY_ROWS = b"{}\n"
KEY = re.compile(rb'"(?:[^"\\]|\\.)*"')
"""The JSON string a row line starts with: its key."""
ROW_START = b'{"cells":'


@dataclass(frozen=True)
class SheetFiles:
    """The parts of a snapshot folder that a diff reads.

    `parsed` is `rows` already parsed, where the caller has it (a snapshot being taken):
    a diff that needs every row then does not parse them again. `where` names the folder in
    errors; `expected_rows` is the row count its `summary.json` records, checked against the
    lines, so a file cut at a line boundary is found too.
    """

    meta: dict[str, Any]
    rows: bytes
    parsed: dict[str, Row] | None = None
    where: str = "snapshot"
    expected_rows: int | None = None

    @cached_property
    def layout(self) -> int:
        layout = self.meta.get("layout", 1)
        if type(layout) is not int or not 1 <= layout <= LAYOUT:
            raise DamagedSnapshot(
                f"{self.where}: sheet.json has layout {layout!r}; this auditor reads layouts "
                f"1 to {LAYOUT} (written by a newer auditor? upgrade it)"
            )
        return layout

    @cached_property
    def lines(self) -> list[bytes]:
        """The row lines, each without its trailing comma, split once for every reader."""
        lines = row_lines(self.rows, self.where)
        keys = {match.group() for match in map(KEY.match, lines) if match}
        # In layout 2 a row's object opens with `{"cells":`, which no string can hold: one
        # per line, or two rows share a line.
        whole = self.layout == 1 or all(line.count(ROW_START) == 1 for line in lines)
        if len(keys) != len(lines) or not whole:
            raise DamagedSnapshot(
                f"{self.where}: rows.json holds a row key twice, a line without a key, or "
                "two rows on a line: the folder is damaged"
            )
        if self.expected_rows is not None and len(lines) != self.expected_rows:
            raise DamagedSnapshot(
                f"{self.where}: rows.json holds {len(lines)} rows and summary.json says "
                f"{self.expected_rows}: the folder is damaged"
            )
        return lines

    def parse(self, lines: Iterable[bytes]) -> dict[str, Row]:
        """Some of the lines, parsed."""
        return parse_lines(lines, self.layout, self.where)

    def row(self, key: str) -> Row | None:
        """One row, its line found by its key and parsed alone, in a file checked whole."""
        if not self.lines:
            return None
        needle = b"\n" + orjson.dumps(key) + b":"
        start = self.rows.find(needle)
        if start < 0:
            return None
        end = self.rows.find(b"\n", start + 1)
        return self.parse([self.rows[start + 1 : end].rstrip(b",")]).get(key)

    def all_rows(self) -> dict[str, Row]:
        return self.parsed if self.parsed is not None else self.parse(self.lines)


_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def sheet_json(sheet: Sheet) -> bytes:
    return orjson.dumps(sheet.meta(), option=_PRETTY)


def rows_json(rows: dict[str, Row]) -> bytes:
    if not rows:
        return EMPTY_ROWS
    dumps = orjson.dumps
    sort = orjson.OPT_SORT_KEYS
    lines = [dumps(key) + b":" + dumps(rows[key].to_json(), option=sort) for key in sorted(rows)]
    return b"{\n" + b",\n".join(lines) + b"\n}\n"


def summary_json(rows: dict[str, Row], money_columns: Iterable[str]) -> bytes:
    """Figures derived from the rows alone, for trend reports that must not parse rows."""
    sums: dict[str, Decimal] = {}
    for column in money_columns:
        amounts = [to_decimal(row.cells[column]) for row in rows.values() if column in row.cells]
        if amounts:
            sums[column] = sum((amount for amount in amounts if amount is not None), Decimal(0))
    summary = {
        "rows": len(rows),
        "cells": sum(len(row.cells) for row in rows.values()),
        "sums": {column: number(total) for column, total in sums.items()},
    }
    return orjson.dumps(summary, option=_PRETTY)


def row_lines(data: bytes, where: str = "snapshot") -> list[bytes]:
    """The row lines of a `rows.json`, each without its trailing comma.

    Rows are joined by `,\\n` and JSON strings never hold a raw newline, so splitting on
    that separator yields exactly the rows; only the first and last carry the braces.
    """
    if data == EMPTY_ROWS:
        return []
    if not (data.startswith(b'{\n"') and data.endswith(b"}\n}\n")):
        raise DamagedSnapshot(f"{where}: rows.json is not a whole rows file (cut or edited)")
    lines = data[2:-3].split(b",\n")
    if not all(line[:1] == b'"' and line[-1:] == b"}" for line in lines):
        raise DamagedSnapshot(f"{where}: rows.json has a line that is not a row")
    return lines


def parse_lines(lines: Iterable[bytes], layout: int = LAYOUT, where: str = "") -> dict[str, Row]:
    """Row lines, parsed: one row each, or the file is damaged (a key twice, two rows on a
    line, a row that is not one)."""
    lines = list(lines)
    if not lines:
        return {}
    rows = parse_rows(b"{" + b",".join(lines) + b"}", layout, where)
    if len(rows) != len(lines):
        raise DamagedSnapshot(
            f"{where or 'snapshot'}: rows.json has {len(lines)} row lines but {len(rows)} "
            "distinct rows (a key twice, or two rows on a line): the folder is damaged"
        )
    return rows


def parse_rows(data: bytes, layout: int = LAYOUT, where: str = "") -> dict[str, Row]:
    try:
        document = orjson.loads(data)
        return {key: Row.from_json(row, layout) for key, row in document.items()}
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as error:
        raise DamagedSnapshot(
            f"{where or 'snapshot'}: rows.json does not parse ({error})"
        ) from None


def load(data: bytes, where: str = "") -> Any:
    """A stored JSON file; `where` names it in the error when it does not parse."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise DamagedSnapshot(f"{where or 'snapshot'}: does not parse as JSON ({error})") from None


def data_of(row: Row, ignored: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A row's cells without the ignored columns: what a data change is measured on.

    Without ignored columns the row's own cells are returned, not copied.
    """
    if not ignored or ignored.isdisjoint(row.cells):
        return row.cells
    return {k: v for k, v in row.cells.items() if k not in ignored}
