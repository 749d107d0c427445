"""What a snapshot of one sheet is, independent of where it was read from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LAYOUT = 2
"""The layout of a snapshot folder's files, recorded in `sheet.json` as `layout`.

1 (no `layout` field): a row was one object of cells with the tool's metadata among them
under `_id`, `_parent`, `_modified_at`, `_modified_by` and `_formulas`, so a column titled
`_id` could not be told from the row id. 2: a row's cells are an object of their own,
beside the metadata, so every title a person can type is a column.
"""

LAYOUT_1_METADATA = {
    "_id": "id",
    "_parent": "parent",
    "_modified_at": "modified_at",
    "_modified_by": "modified_by",
    "_formulas": "formulas",
}

SYSTEM_CHANGE_COLUMNS = frozenset({"MODIFIED_DATE", "MODIFIED_BY", "CREATED_DATE", "CREATED_BY"})


@dataclass(frozen=True)
class Column:
    title: str
    index: int
    id: int | None = None
    type: str | None = None
    primary: bool = False
    options: tuple[str, ...] = ()
    formula: str | None = None
    system_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "title": self.title}
        optional = {
            "id": self.id,
            "type": self.type,
            "primary": self.primary or None,
            "options": list(self.options) or None,
            "formula": self.formula,
            "systemColumnType": self.system_type,
        }
        data.update({name: value for name, value in optional.items() if value is not None})
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Column:
        """From `sheet.json` or the API's column: both use the API's field names."""
        return cls(
            title=data["title"],
            index=data["index"],
            id=data.get("id"),
            type=data.get("type"),
            primary=bool(data.get("primary", False)),
            options=tuple(str(option) for option in data.get("options", ())),
            formula=data.get("formula"),
            system_type=data.get("systemColumnType"),
        )


@dataclass(slots=True)
class Row:
    """One row: its cells by column title (empty cells left out), its cells' formulas, and
    what Smartsheet says of the row. `modified_by` is the row's last modifier, who may have
    changed another cell than the one a change is about."""

    cells: dict[str, Any]
    formulas: dict[str, str] = field(default_factory=dict)
    id: int | None = None
    parent: int | None = None
    modified_at: str | None = None
    modified_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The row's object in `rows.json`: `cells` always, the rest where it has a value."""
        data: dict[str, Any] = {"cells": self.cells}
        if self.formulas:
            data["formulas"] = self.formulas
        for name in ("id", "parent", "modified_at", "modified_by"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], layout: int) -> Row:
        """The row as stored; a TypeError where it is not one (the caller names the file)."""
        row = (
            cls._from_layout_1(data)
            if layout == 1
            else cls(
                data["cells"],
                data.get("formulas", {}),
                data.get("id"),
                data.get("parent"),
                data.get("modified_at"),
                data.get("modified_by"),
            )
        )
        if not isinstance(row.cells, dict) or not isinstance(row.formulas, dict):
            raise TypeError("a row's cells and formulas are objects")
        return row

    @classmethod
    def _from_layout_1(cls, data: dict[str, Any]) -> Row:
        """Layout 1 kept these five keys as metadata; any other key was a column."""
        meta = {LAYOUT_1_METADATA[k]: v for k, v in data.items() if k in LAYOUT_1_METADATA}
        cells = {k: v for k, v in data.items() if k not in LAYOUT_1_METADATA}
        return cls(cells, **meta)


@dataclass
class Sheet:
    """One sheet as read: the folder `snapshots/<sheet_id>/` is made from it.

    `key_columns` empty means rows are keyed by their Smartsheet row id. `version` is
    kept out of the files (it moves without the data changing) and goes to a trailer.
    """

    sheet_id: str
    name: str
    columns: list[Column]
    rows: dict[str, Row]
    key_columns: tuple[str, ...] = ()
    source: str = "file"
    permalink: str | None = None
    version: int | None = None

    def meta(self) -> dict[str, Any]:
        """The content of `sheet.json`."""
        data: dict[str, Any] = {
            "id": self.sheet_id,
            "name": self.name,
            "source": self.source,
            "key": list(self.key_columns) or "_id",
            "layout": LAYOUT,
            "columns": [column.to_json() for column in self.columns],
        }
        if self.permalink:
            data["permalink"] = self.permalink
        return data


@dataclass(frozen=True)
class SheetData:
    meta: dict[str, Any]
    rows: dict[str, Row]
