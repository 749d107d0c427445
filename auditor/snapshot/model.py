"""What a snapshot of one sheet is, independent of where it was read from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
"""Column title -> normalized value, plus metadata under keys that start with `_`."""

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
            "columns": [column.to_json() for column in self.columns],
        }
        if self.permalink:
            data["permalink"] = self.permalink
        return data
