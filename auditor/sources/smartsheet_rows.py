"""Smartsheet's sheet JSON (`GET /sheets/{id}`) -> a normalized Sheet.

Shared by the saved-response file source and the live API source, so that a sheet read
either way snapshots to the same bytes. Column types follow the API reference: values
come back per type as listed there, and `objectValue` (with `level=2`) is preferred where
it carries more than the display string.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from auditor.errors import SourceError
from auditor.snapshot import normalize
from auditor.snapshot.model import Column, Row, Sheet
from auditor.sources.keys import key_rows

UTC_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def sheet_from_api(
    data: dict[str, Any],
    *,
    sheet_id: str | None = None,
    key_columns: Sequence[str] = (),
    money_columns: Sequence[str] = (),
    source: str = "smartsheet",
    where: str | None = None,
) -> Sheet:
    """The sheet in `data`, which must be a whole sheet as the API sends it: anything else
    (an error body, a page of a sheet, another document) is refused, never read as a sheet
    with fewer rows."""
    where = where or f"sheet {sheet_id or '?'}"
    _check_sheet(data, where)
    columns = [Column.from_json(column) for column in data["columns"]]
    readers = _readers(columns, frozenset(money_columns))
    try:
        numbered = [
            (raw.get("rowNumber", position), _row(raw, readers, where))
            for position, raw in enumerate(data["rows"], start=1)
        ]
    except (AttributeError, TypeError, ValueError, OverflowError) as error:
        raise SourceError(f"{where}: a row or cell of the wrong shape ({error})") from None
    sheet_id = sheet_id or str(data["id"])
    if key_columns:
        titles = [column.title for column in columns]
        rows = key_rows(numbered, key_columns, titles, where)
    else:
        rows = {str(row.id): row for _, row in numbered}
        if len(rows) != len(numbered):
            raise SourceError(
                f"{where}: two rows share a row id; not a sheet as Smartsheet sends it"
            )
    return Sheet(
        sheet_id=sheet_id,
        name=data["name"],
        columns=columns,
        rows=rows,
        key_columns=tuple(key_columns),
        source=source,
        permalink=data.get("permalink"),
        version=data.get("version"),
    )


Reader = Callable[[dict[str, Any]], Any]


def _check_sheet(data: Any, where: str) -> None:
    """The shape of a sheet: what `_row` and the snapshot rely on, checked once."""
    if not isinstance(data, dict):
        raise SourceError(f"{where}: not a Smartsheet sheet (JSON {type(data).__name__})")
    if "errorCode" in data:
        raise SourceError(
            f"{where}: not a sheet but an API error (errorCode {data['errorCode']!r}: "
            f"{data.get('message')!r})"
        )
    missing = [name for name in ("id", "name", "columns", "rows") if name not in data]
    if missing:
        raise SourceError(f"{where}: not a Smartsheet sheet (no {', '.join(missing)})")
    columns, rows, total = data["columns"], data["rows"], data.get("totalRowCount")
    if not isinstance(data["name"], str) or not isinstance(rows, list):
        raise SourceError(f"{where}: not a Smartsheet sheet (name or rows of the wrong type)")
    if not isinstance(columns, list) or not columns or not all(map(_is_column, columns)):
        raise SourceError(f"{where}: not a Smartsheet sheet (columns without id, index or title)")
    titles = [column["title"] for column in columns]
    twice = next((title for n, title in enumerate(titles) if title in titles[:n]), None)
    if twice is not None:
        raise SourceError(
            f"{where}: column title {twice!r} appears twice; Smartsheet gives every column "
            "its own title, so this is not a sheet it sent"
        )
    if total is not None and total != len(rows):
        raise SourceError(
            f"{where}: holds {len(rows)} of the sheet's {total} rows (totalRowCount): a page "
            "or a filtered read, not the whole sheet"
        )
    if data.get("version") is not None and type(data["version"]) is not int:
        raise SourceError(f"{where}: version {data['version']!r} is not a number")


def _is_column(column: Any) -> bool:
    return (
        isinstance(column, dict)
        and type(column.get("id")) is int
        and type(column.get("index")) is int
        and isinstance(column.get("title"), str)
        and column["title"] != ""
    )


def _readers(columns: list[Column], money: frozenset[str]) -> dict[int | None, tuple[str, Reader]]:
    """Column id -> (title, the function that normalizes its cells), chosen once per sheet.

    A 500,000-cell sheet makes this the hot loop; choosing by type here keeps each cell to
    one lookup and one call.
    """
    readers = {}
    for column in columns:
        read = READERS.get(column.type or "", _plain)
        if column.title in money:
            read = _as_money(read)
        readers[column.id] = (column.title, read)
    return readers


def _as_money(read: Reader) -> Reader:
    def money(cell: dict[str, Any]) -> Any:
        value = read(cell)
        return None if value is None else normalize.money(value)

    return money


def _row(data: dict[str, Any], readers: dict[int | None, tuple[str, Reader]], where: str) -> Row:
    if not isinstance(data, dict) or type(data.get("id")) is not int:
        raise SourceError(
            f"{where}: a row without a numeric id; not a sheet as Smartsheet sends it"
        )
    cells: dict[str, Any] = {}
    formulas: dict[str, str] = {}
    for cell in data.get("cells", ()):
        reader = readers.get(cell.get("columnId"))
        if reader is None:
            raise SourceError(
                f"{where}: row {data['id']} has a cell of column {cell.get('columnId')!r}, "
                "which the sheet does not list"
            )
        title, read = reader
        value = read(cell)
        if value is not None:
            cells[title] = value
        formula = cell.get("formula")
        if formula:
            formulas[title] = formula
    modified_at = data.get("modifiedAt")
    return Row(
        cells,
        formulas,
        id=data["id"],
        parent=data.get("parentId") or None,
        modified_at=_timestamp(modified_at) if modified_at else None,
        modified_by=_contact(data.get("modifiedBy")),
    )


def _plain(cell: dict[str, Any]) -> Any:
    value = cell.get("value")
    kind = value.__class__
    if kind is str:
        return value or None
    if kind is int or kind is bool or value is None:
        return value
    return normalize.number(value) if kind is float else value


def _checkbox(cell: dict[str, Any]) -> Any:
    value = cell.get("value")
    if value is True:
        return True
    return None if value is False else _plain(cell)


def _date(cell: dict[str, Any]) -> Any:
    value = _plain(cell)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch_ms(value).date().isoformat()
    if isinstance(value, str) and normalize.ISO_DATE.fullmatch(value[:10]):
        return value[:10]
    return value


def _datetime(cell: dict[str, Any]) -> Any:
    value = _plain(cell)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return normalize.datetime(_from_epoch_ms(value))
    return _timestamp(value) if isinstance(value, str) else value


def _multi_contact(cell: dict[str, Any]) -> Any:
    objects = cell.get("objectValue")
    if _is_object(objects, "MULTI_CONTACT"):
        return sorted(filter(None, map(_contact, objects.get("values", ())))) or None
    return _plain(cell)


def _single_contact(cell: dict[str, Any]) -> Any:
    objects = cell.get("objectValue")
    return _contact(objects) if _is_object(objects, "CONTACT") else _plain(cell)


def _picklists(cell: dict[str, Any]) -> Any:
    return _multi_picklist(cell.get("objectValue"), cell.get("value"))


def _multi_picklist(objects: Any, value: Any) -> list[str] | None:
    if _is_object(objects, "MULTI_PICKLIST"):
        return sorted(str(item) for item in objects.get("values", ())) or None
    if isinstance(value, str):
        return sorted(part.strip() for part in value.split(",") if part.strip()) or None
    return None


def _contact(data: Any) -> str | None:
    if isinstance(data, dict):
        return data.get("email") or data.get("name")
    return data if isinstance(data, str) and data else None


def _is_object(objects: Any, object_type: str) -> bool:
    return isinstance(objects, dict) and objects.get("objectType") == object_type


def _timestamp(value: str | int) -> str:
    """Smartsheet's own `YYYY-MM-DDTHH:MM:SSZ` is already normal; others are converted."""
    if isinstance(value, int):
        return normalize.datetime(_from_epoch_ms(value))
    if UTC_STAMP.fullmatch(value):
        return value
    return normalize.parse_datetime(value)


def _from_epoch_ms(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


READERS: dict[str, Reader] = {
    "CHECKBOX": _checkbox,
    "DATE": _date,
    "DATETIME": _datetime,
    "ABSTRACT_DATETIME": _datetime,
    "CONTACT_LIST": _single_contact,
    "MULTI_CONTACT_LIST": _multi_contact,
    "MULTI_PICKLIST": _picklists,
}
