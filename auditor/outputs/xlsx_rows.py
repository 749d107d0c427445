"""The body rows of the report's tables, streamed straight into the `.xlsx` file.

openpyxl writes every part of the workbook: styles, charts, filters, conditional formats and
each table's header row. The body rows are then spliced into each table sheet's XML while the
file is copied, as plain SpreadsheetML cells. openpyxl would write the same cells, but it
builds a cell object and an XML element for every value (about 16 us a cell: 4.4 s for
10,000 changes and their violations); a formatted string costs a tenth of that. The rows
are never held as XML: they are formatted and compressed a chunk at a time.

Text is always written as an inline string, so no value from a sheet can become a formula;
text that looks like one (starts with `=`, `+`, `-`, `@`) also gets Excel's quote prefix, so
it stays text when someone edits the cell.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile

import openpyxl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from auditor.errors import UsageError
from auditor.outputs.changes import shown

# The splicing relies on openpyxl's internals (a write-only sheet's part name, style ids,
# `</sheetData>` in the saved sheet); the tests pass with these releases (3.1.0-3.1.5).
TESTED_OPENPYXL = "3.1."

DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
MONEY = '"$"#,##0.00;[Red]-"$"#,##0.00'
CHECKED = {True: "Yes", False: "No"}
"""A checkbox as it reads: Excel shows a boolean cell as TRUE, LibreOffice as 1."""
FORMULA_START = ("=", "+", "-", "@")
# Excel's limit for the text of one cell; longer text makes Excel refuse the file.
MAX_TEXT = 32_767
CHUNK = 1_000
# Characters XML 1.0 cannot carry, and the carriage return (which XML parsers turn into a
# line feed), written as Excel's `_xHHHH_` escapes; a literal `_xHHHH_` in the text is
# escaped in turn so that it reads back unchanged.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
ESCAPE = re.compile(r"_x[0-9A-F]{4}_")
ESCAPE_LENGTH = 7
SPECIAL = re.compile(r"[&<>]")
ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class Money(Decimal):
    """An amount: written with the currency format whatever its column's format, in a
    column that mixes money with other values (a change's old and new values)."""


@dataclass
class Body:
    """The rows under a table sheet's header, with the style ids their cells use."""

    sheet: Any
    rows: Sequence[Sequence[Any]]
    formats: Sequence[str | None]
    styles: dict[str, int]

    def write(self, out: IO[bytes]) -> None:
        width = max((len(row) for row in self.rows), default=0)
        columns = [
            (get_column_letter(n), self.formats[n - 1] if n <= len(self.formats) else None)
            for n in range(1, width + 1)
        ]
        parts: list[str] = []
        for number, row in enumerate(self.rows, start=2):
            parts.append(f'<row r="{number}">')
            for (letter, fmt), value in zip(columns, row, strict=False):
                if value is not None:
                    parts.append(self._cell(f"{letter}{number}", value, fmt))
            parts.append("</row>")
            if number % CHUNK == 0:
                out.write("".join(parts).encode())
                parts.clear()
        out.write("".join(parts).encode())

    def _cell(self, ref: str, value: Any, fmt: str | None) -> str:
        if isinstance(value, bool):
            return f'<c r="{ref}" t="inlineStr"><is><t>{CHECKED[value]}</t></is></c>'
        if value.__class__ is Money and value.is_finite():
            return f'<c r="{ref}" s="{self.styles[MONEY]}"><v>{value}</v></c>'
        if isinstance(value, dt.datetime):
            moment = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
            return f'<c r="{ref}" s="{self.styles[DATETIME]}"><v>{to_excel(moment)}</v></c>'
        if isinstance(value, dt.date):
            return f'<c r="{ref}" s="{self.styles[DATE]}"><v>{to_excel(value)}</v></c>'
        if isinstance(value, int | float | Decimal) and _exact_in_excel(value):
            style = f' s="{self.styles[fmt]}"' if fmt else ""
            return f'<c r="{ref}"{style}><v>{value}</v></c>'
        text = shown(value) if isinstance(value, list | dict) else str(value)
        style = f' s="{self.styles["quote"]}"' if text.startswith(FORMULA_START) else ""
        return f'<c r="{ref}"{style} t="inlineStr"><is>{_text(text)}</is></c>'


def body(sheet: Any, rows: Sequence[Sequence[Any]], formats: Sequence[str | None] = ()) -> Body:
    """The rows of a write-only sheet whose header row is already appended; `formats` are
    the columns' number formats, in order. Registers the styles with the workbook, which
    must happen before it is saved."""
    check_openpyxl(openpyxl.__version__)
    # In a fixed order (not a set's), so the same report is the same file on every run.
    wanted = dict.fromkeys([DATE, DATETIME, MONEY, *(fmt for fmt in formats if fmt)])
    styles = {fmt: _style_id(sheet, number_format=fmt) for fmt in wanted}
    styles["quote"] = _style_id(sheet, quotePrefix=True)
    return Body(sheet, rows, formats, styles)


def check_openpyxl(version: str) -> None:
    if not version.startswith(TESTED_OPENPYXL):
        raise UsageError(
            f"openpyxl {version} is installed, but the report is written with openpyxl "
            f"{TESTED_OPENPYXL}x only (it relies on its internals); "
            "pip install 'openpyxl>=3.1,<3.2'"
        )


def save(book: Workbook, bodies: Sequence[Body], path: Path) -> None:
    """Save with openpyxl, then copy the file part by part, splicing each body into its
    sheet; the file appears at `path` whole or not at all."""
    staged = BytesIO()
    book.save(staged)
    parts = {b.sheet.path.lstrip("/"): b for b in bodies}
    partial = path.with_name(f".{path.name}.partial")
    try:
        with ZipFile(staged) as source, ZipFile(partial, "w", ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename not in parts:
                    target.writestr(info, data)
                    continue
                head, tail = data.rsplit(b"</sheetData>", 1)
                with target.open(info.filename, "w") as out:
                    out.write(head)
                    parts[info.filename].write(out)
                    out.write(b"</sheetData>" + tail)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _style_id(sheet: Any, **style: Any) -> int:
    cell = WriteOnlyCell(sheet)
    for name, value in style.items():
        setattr(cell, name, value)
    return cell.style_id


def excel_text(text: str) -> str:
    """Text as a cell holds it: the characters XML cannot carry written as Excel's `_xHHHH_`
    escapes, which Excel reads back as the characters, and cut at Excel's limit, never
    inside an escape."""
    text = text[:MAX_TEXT]
    if not UNSAFE.search(text):
        return text
    text = UNSAFE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    if len(text) <= MAX_TEXT:
        return text
    start = text.rfind("_x", MAX_TEXT - ESCAPE_LENGTH + 1, MAX_TEXT)
    inside = start != -1 and ESCAPE.fullmatch(text, start, start + ESCAPE_LENGTH)
    return text[: start if inside else MAX_TEXT]


def text_cell(sheet: Any, text: str) -> WriteOnlyCell:
    """A cell of the rows openpyxl writes itself (headers, Summary, Guide) that holds text
    from a sheet: the same escapes as the streamed rows, and never a formula."""
    cell = WriteOnlyCell(sheet, value=excel_text(text))
    cell.data_type = "s"
    cell.quotePrefix = text.startswith(FORMULA_START)
    return cell


def _text(text: str) -> str:
    text = excel_text(text)
    if SPECIAL.search(text):
        text = SPECIAL.sub(lambda m: ENTITIES[m.group()], text)
    if text != text.strip():
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


def _exact_in_excel(value: int | float | Decimal) -> bool:
    """Excel holds numbers as doubles: an integer past 2^53 (a long id) would be rounded, and
    one like its neighbour would look equal to it, so such integers are written as text."""
    if isinstance(value, int):
        return abs(value) < 2**53
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
