"""Smartsheet's sheet JSON (`GET /sheets/{id}`) -> a normalized Sheet.

Shared by the saved-response file source and the live API source, so that a sheet read
either way snapshots to the same bytes. Column types follow the API reference: values
come back per type as listed there, and `objectValue` (with `level=2`) is preferred where
it carries more than the display string.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from auditor.snapshot import normalize
from auditor.snapshot.model import Column, Row, Sheet
from auditor.sources.keys import key_rows

DATE_TYPES = frozenset({"DATE"})
DATETIME_TYPES = frozenset({"DATETIME", "ABSTRACT_DATETIME"})


def sheet_from_api(
    data: dict[str, Any],
    *,
    sheet_id: str | None = None,
    key_columns: Sequence[str] = (),
    money_columns: Sequence[str] = (),
    source: str = "smartsheet",
    where: str | None = None,
) -> Sheet:
    columns = [_column(column) for column in data.get("columns", [])]
    by_id = {column.id: column for column in columns}
    money = frozenset(money_columns)
    numbered = [
        (raw.get("rowNumber", position), _row(raw, by_id, money))
        for position, raw in enumerate(data.get("rows", []), start=1)
    ]
    sheet_id = sheet_id or str(data["id"])
    if key_columns:
        titles = [column.title for column in columns]
        rows = key_rows(numbered, key_columns, titles, where or f"sheet {sheet_id}")
    else:
        rows = {str(row["_id"]): row for _, row in numbered}
    return Sheet(
        sheet_id=sheet_id,
        name=str(data.get("name", sheet_id)),
        columns=columns,
        rows=rows,
        key_columns=tuple(key_columns),
        source=source,
        permalink=data.get("permalink"),
        version=data.get("version"),
    )


def _column(data: dict[str, Any]) -> Column:
    return Column(
        title=data["title"],
        index=data["index"],
        id=data.get("id"),
        type=data.get("type"),
        primary=bool(data.get("primary", False)),
        options=tuple(str(option) for option in data.get("options", ())),
        formula=data.get("formula"),
        system_type=data.get("systemColumnType"),
    )


def _row(data: dict[str, Any], columns: dict[int | None, Column], money: frozenset[str]) -> Row:
    row: Row = {"_id": data["id"]}
    formulas: dict[str, str] = {}
    for cell in data.get("cells", ()):
        column = columns.get(cell.get("columnId"))
        if column is None:
            continue
        value = cell_value(cell, column.type)
        if value is not None and column.title in money:
            value = normalize.money(value)
        if value is not None:
            row[column.title] = value
        if cell.get("formula"):
            formulas[column.title] = cell["formula"]
    if formulas:
        row["_formulas"] = formulas
    if data.get("parentId"):
        row["_parent"] = data["parentId"]
    if data.get("modifiedAt"):
        row["_modified_at"] = _timestamp(data["modifiedAt"])
    modifier = _contact(data.get("modifiedBy"))
    if modifier:
        row["_modified_by"] = modifier
    return row


def cell_value(cell: dict[str, Any], column_type: str | None) -> Any:
    """One cell's normalized value, or None for an empty cell or an unchecked checkbox."""
    value = cell.get("value")
    objects = cell.get("objectValue")
    if column_type == "MULTI_PICKLIST":
        return _multi_picklist(objects, value)
    if column_type == "MULTI_CONTACT_LIST" and _is_object(objects, "MULTI_CONTACT"):
        return sorted(filter(None, map(_contact, objects.get("values", ())))) or None
    if column_type == "CONTACT_LIST" and _is_object(objects, "CONTACT"):
        return _contact(objects)
    if value is None or value == "":
        return None
    if column_type == "CHECKBOX" and isinstance(value, bool):
        return True if value else None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if column_type in DATE_TYPES:
            return _from_epoch_ms(value).date().isoformat()
        if column_type in DATETIME_TYPES:
            return normalize.datetime(_from_epoch_ms(value))
        return normalize.number(value)
    if column_type in DATE_TYPES:
        return value[:10] if normalize.ISO_DATE.fullmatch(value[:10]) else value
    if column_type in DATETIME_TYPES:
        return normalize.parse_datetime(value)
    return value


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
    if isinstance(value, int):
        return normalize.datetime(_from_epoch_ms(value))
    return normalize.parse_datetime(value)


def _from_epoch_ms(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
