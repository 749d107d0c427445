"""Local file sources: `.csv`, `.xlsx` and a saved Smartsheet `GET /sheets/{id}` response."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from auditor.errors import SourceError, UsageError
from auditor.snapshot import normalize
from auditor.snapshot.model import Column, Row, Sheet
from auditor.sources.keys import key_rows
from auditor.sources.smartsheet_rows import sheet_from_api

SUFFIXES = (".csv", ".xlsx", ".xlsm", ".json")


def read_file(
    path: Path,
    *,
    key_columns: Sequence[str] = (),
    sheet_id: str | None = None,
    worksheet: str | None = None,
    money_columns: Sequence[str] = (),
) -> Sheet:
    """Read one file; the folder name is `sheet_id` or the file's stem."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: unsupported file type; use one of {', '.join(SUFFIXES)}")
    if suffix != ".json" and not key_columns:
        raise UsageError(f"{path}: --key is required for a {suffix} file")
    sheet_id = sheet_id or path.stem
    try:
        if suffix == ".json":
            data = orjson.loads(path.read_bytes())
            return sheet_from_api(
                data,
                sheet_id=sheet_id,
                key_columns=key_columns,
                money_columns=money_columns,
                source="smartsheet-json",
                where=str(path),
            )
        if suffix == ".csv":
            table = _csv_table(path)
            cell = normalize.text
        else:
            table = _xlsx_table(path, worksheet)
            cell = _excel_cell
    except (OSError, orjson.JSONDecodeError, UnicodeDecodeError, csv.Error) as error:
        raise SourceError(f"cannot read {path}: {error}") from None
    except KeyError as error:
        raise SourceError(f"{path}: not a Smartsheet sheet response (no {error})") from None
    return _sheet_from_table(
        table, cell, key_columns, money_columns, sheet_id, path.stem, suffix[1:], str(path)
    )


def _csv_table(path: Path) -> list[list[Any]]:
    # Cells are stored exactly, however long: the csv module's own limit is 128 KiB.
    csv.field_size_limit(2**31 - 1)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def _xlsx_table(path: Path, worksheet: str | None) -> list[list[Any]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        if worksheet is None:
            sheet = book.get_sheet_by_index(0)
        elif worksheet in book.sheet_names:
            sheet = book.get_sheet_by_name(worksheet)
        else:
            raise UsageError(
                f"{path}: no worksheet {worksheet!r}; it has {', '.join(book.sheet_names)}"
            )
        return sheet.to_python()
    except CalamineError as error:
        raise SourceError(f"cannot read {path}: {error}") from None


def _excel_cell(value: Any) -> Any:
    """A typed workbook cell: text stays text, as Excel already decided what it is."""
    if value.__class__ is str:
        return value or None
    if isinstance(value, bool):
        return True if value else None
    if isinstance(value, int | float):
        return normalize.number(value)
    if isinstance(value, dt.datetime):
        return normalize.datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value) if value is not None else None


def _sheet_from_table(
    table: list[list[Any]],
    cell: Callable[[Any], Any],
    key_columns: Sequence[str],
    money_columns: Sequence[str],
    sheet_id: str,
    name: str,
    source: str,
    where: str,
) -> Sheet:
    if not table:
        raise SourceError(f"{where}: the file is empty; a header row is expected")
    titles = _titles(table[0], where)
    money = [title in set(money_columns) for title in titles]
    numbered = list(_rows(table, titles, money, cell, where))
    columns = [Column(title=title, index=index) for index, title in enumerate(titles)]
    rows = key_rows(numbered, key_columns, titles, where)
    return Sheet(sheet_id, name, columns, rows, tuple(key_columns), source=source)


def _titles(header: list[Any], where: str) -> list[str]:
    titles = [str(title).strip() for title in header]
    while titles and not titles[-1]:
        titles.pop()
    if not titles or "" in titles:
        raise SourceError(f"{where}: the header row has an empty column title")
    seen: set[str] = set()
    repeated = [title for title in titles if title in seen or seen.add(title)]
    if repeated:
        raise SourceError(f"{where}: column title {repeated[0]!r} appears twice in the header")
    return titles


def _rows(
    table: list[list[Any]],
    titles: list[str],
    money: list[bool],
    cell: Callable[[Any], Any],
    where: str,
) -> Iterable[tuple[int, Row]]:
    width = len(titles)
    money_titles = [title for title, is_money in zip(titles, money, strict=True) if is_money]
    for number, values in enumerate(table[1:], start=2):
        if len(values) > width and any(value not in ("", None) for value in values[width:]):
            raise SourceError(f"{where}: row {number} has more cells than the header")
        cells: dict[str, Any] = {}
        for title, raw in zip(titles, values, strict=False):
            if raw != "" and raw is not None:
                value = cell(raw)
                if value is not None:
                    cells[title] = value
        for title in money_titles:
            if title in cells:
                cells[title] = normalize.money(cells[title])
        if cells:
            yield number, Row(cells)
