"""The API's rules for writes: cells, rows, columns and new sheets, checked before anything
is stored, and the cells and columns as the API stores them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from emulator.errors import (
    ApiError,
    bad_attribute,
    missing_attribute,
    not_emulated,
    unparsable,
)

MAX_TEXT = 4000
MAX_NUMBER = 9_007_199_254_740_992
COLUMN_TYPES = frozenset(
    {
        "TEXT_NUMBER",
        "DATE",
        "DATETIME",
        "CONTACT_LIST",
        "CHECKBOX",
        "PICKLIST",
        "DURATION",
        "PREDECESSOR",
        "ABSTRACT_DATETIME",
        "MULTI_CONTACT_LIST",
        "MULTI_PICKLIST",
    }
)
SYSTEM_COLUMN_TYPES = frozenset(
    {"AUTO_NUMBER", "MODIFIED_DATE", "MODIFIED_BY", "CREATED_DATE", "CREATED_BY"}
)
# Column types whose cells carry a displayValue (the API's Cell Reference).
DISPLAYED = frozenset(
    {
        "TEXT_NUMBER",
        "PICKLIST",
        "CONTACT_LIST",
        "DURATION",
        "MULTI_PICKLIST",
        "MULTI_CONTACT_LIST",
        "PREDECESSOR",
    }
)
# Types whose values the emulator can check and store; the others take objectValue or are
# project columns, which it does not emulate.
WRITABLE = frozenset({"TEXT_NUMBER", "DATE", "CONTACT_LIST", "CHECKBOX", "PICKLIST"})
LOCATIONS = ("toTop", "toBottom", "parentId", "siblingId", "above", "indent", "outdent")
# Column attributes kept as sent, when set (the API leaves out those that are false).
COLUMN_ATTRIBUTES = (
    "options",
    "symbol",
    "systemColumnType",
    "autoNumberFormat",
    "description",
    "formula",
    "format",
    "contactOptions",
    "hidden",
    "locked",
)
TARGETS = ("sheetId", "reportId", "sightId")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_json(body: bytes) -> Any:
    if not body:
        raise ApiError(400, 1024, "The HTTP request body is required for this Method.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise unparsable(str(error)) from None


def listed(data: Any, what: str) -> tuple[list[Any], bool]:
    """The items of an optionally-bulk request, and whether a single object was sent."""
    if isinstance(data, dict):
        return [data], True
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return data, False
    raise unparsable(f"expected a {what} object or a non-empty array of them")


def display(column: dict[str, Any], value: Any) -> str | None:
    """The displayValue the API sends for a value of this column, or None for none."""
    if value is None or column.get("type", "TEXT_NUMBER") not in DISPLAYED:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def add_display(column: dict[str, Any], cell: dict[str, Any]) -> None:
    """Give a cell read from a saved sheet the displayValue the API would send with it."""
    shown = display(column, cell.get("value"))
    if shown is not None and "displayValue" not in cell:
        cell["displayValue"] = shown


def new_cell(column: dict[str, Any] | None, cell: dict[str, Any], adding: bool) -> dict[str, Any]:
    """The cell to store for a cell of a row request, or the API's refusal of it."""
    if column is None:
        raise ApiError(400, 1036, f"The columnId {cell.get('columnId')} is invalid.")
    if cell.get("formula") is not None:
        return _formula_cell(column, cell)
    _check_links(cell, adding)
    if cell.get("objectValue") is not None:
        if cell.get("value") is not None:
            raise ApiError(400, 1130, "One of cell.value or objectValue may be set, but not both.")
        raise not_emulated("cell.objectValue")
    if cell.get("image") is not None:
        raise not_emulated("cell.image")
    if column.get("systemColumnType") or column.get("type") == "DATETIME":
        raise ApiError(
            400,
            1046,
            "Cells containing system values cannot be inserted or updated through the API, "
            f"columnId : {column['id']}.",
        )
    value = _checked_value(column, cell.get("value"), cell.get("strict", True) is not False)
    stored: dict[str, Any] = {"columnId": column["id"]}
    if value is not None:
        stored["value"] = value
        shown = display(column, value)
        if shown is not None:
            stored["displayValue"] = shown
    if cell.get("hyperlink") is not None:
        stored["hyperlink"] = {"url": cell["hyperlink"]["url"]}
    if cell.get("format") is not None:
        stored["format"] = cell["format"]
    return stored


def _formula_cell(column: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    """Formulas are kept as written and not evaluated: the cell has no value."""
    others = ("value", "objectValue", "image", "hyperlink", "linkInFromCell")
    if any(cell.get(name) is not None for name in others):
        raise ApiError(
            400,
            1163,
            "If cell.formula is specified, then value, objectValue, image, hyperlink, and "
            "linkInFromCell must not be specified.",
        )
    if not isinstance(cell["formula"], str) or not cell["formula"].startswith("="):
        raise ApiError(400, 1162, "A formula must always start with an equal sign (=).")
    return {"columnId": column["id"], "formula": cell["formula"]}


def _check_links(cell: dict[str, Any], adding: bool) -> None:
    link, hyperlink = cell.get("linkInFromCell"), cell.get("hyperlink")
    if link is not None and hyperlink is not None:
        raise ApiError(
            400, 1109, "Only one of cell.hyperlink or cell.linkInFromCell may be non-null."
        )
    if link is not None:
        if cell.get("value") is not None:
            raise ApiError(400, 1110, "cell.value must be null if cell.linkInFromCell is non-null.")
        if adding:
            raise ApiError(
                400,
                1032,
                "The attribute(s) cell.linkInFromCell are not allowed for this operation.",
            )
        raise not_emulated("cell links (cell.linkInFromCell)")
    if hyperlink is not None:
        _check_hyperlink(hyperlink, cell.get("value"))


def _check_hyperlink(hyperlink: Any, value: Any) -> None:
    if not isinstance(hyperlink, dict):
        raise bad_attribute("cell.hyperlink", hyperlink)
    targets = [name for name in TARGETS if hyperlink.get(name) is not None]
    if len(targets) > 1:
        raise ApiError(
            400,
            1111,
            "Only one of cell.hyperlink.sheetId and cell.hyperlink.reportId may be non-null.",
        )
    if targets and hyperlink.get("url") is not None:
        raise ApiError(
            400, 1112, "hyperlink.url must be null for sheet, report, or Sight hyperlinks."
        )
    if not targets and hyperlink.get("url") is None:
        raise ApiError(
            400,
            1117,
            "One of the following cell.hyperlink fields must be non-null: url, sheetId, or "
            "reportId.",
        )
    if value is not None and not isinstance(value, str):
        raise ApiError(400, 1113, "cell.value must be a string when the cell is a hyperlink.")
    if targets:
        raise not_emulated(f"hyperlinks to a {targets[0][:-2]}")


def _checked_value(column: dict[str, Any], value: Any, strict: bool) -> Any:
    """The value to store (None for an empty cell), after the API's checks: its JSON type,
    its size, and under strict parsing (the default) the column's type."""
    if isinstance(value, dict | list):
        raise ApiError(400, 1038, "Invalid Cell value. Must be numeric or a string.")
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise ApiError(
            400, 1148, f"Numeric cell values must be between -{MAX_NUMBER} and {MAX_NUMBER}."
        )
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ApiError(
            400,
            1041,
            f"The value for cell.value must be {MAX_TEXT} characters in length or less, "
            f"but was {len(value)}.",
        )
    kind = column.get("type", "TEXT_NUMBER")
    if value == "" or value is None:
        return False if kind == "CHECKBOX" and value == "" else None
    if kind not in WRITABLE:
        raise not_emulated(f"values for {kind} columns")
    if strict and not _fits(column, value):
        raise ApiError(
            400,
            1042,
            f"The value for cell in column {column['id']}, {value}, did not conform to the "
            f"strict requirements for type {kind}.",
        )
    return value


def _fits(column: dict[str, Any], value: Any) -> bool:
    kind = column.get("type", "TEXT_NUMBER")
    if kind == "TEXT_NUMBER":
        return True
    if kind == "CHECKBOX":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "DATE":
        return isinstance(value, str) and _is_date(value)
    if kind == "CONTACT_LIST":
        return isinstance(value, str) and "@" in value
    options = column.get("options")
    return not options or str(value) in {str(option) for option in options}


def _is_date(text: str) -> bool:
    if not ISO_DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def row_cells(
    columns: dict[int, dict[str, Any]], item: dict[str, Any], adding: bool
) -> list[dict[str, Any]]:
    """The stored cells of one row request, or the refusal of the first bad cell."""
    cells = item.get("cells", [])
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise unparsable("row.cells must be an array of cell objects")
    seen: set[Any] = set()
    stored = []
    for cell in cells:
        if cell.get("columnId") is None:
            raise missing_attribute("cell.columnId")
        if cell["columnId"] in seen:
            raise ApiError(
                400,
                1037,
                f"The columnId {cell['columnId']} is included more than once in a single row.",
            )
        seen.add(cell["columnId"])
        stored.append(new_cell(columns.get(cell["columnId"]), cell, adding))
    return stored


def placement(item: dict[str, Any]) -> str | None:
    """Where a row request puts its row: "top", "bottom", or None when it says nothing."""
    given = [name for name in LOCATIONS if item.get(name) not in (None, False)]
    if not given:
        return None
    if set(given) - {"toTop", "toBottom"}:
        raise not_emulated(f"row locations other than toTop and toBottom ({given[0]})")
    if len(given) > 1:
        raise ApiError(400, 1062, "Invalid row location.")
    return "top" if given == ["toTop"] else "bottom"


def one_placement(places: Sequence[str | None]) -> None:
    if len(set(places)) > 1:
        raise ApiError(
            400,
            1123,
            "Specifying multiple row locations is not yet supported. Each row must use the same "
            "row location attribute and value (toBottom, toTop, parentId, siblingId, above).",
        )


def new_columns(
    existing: Sequence[dict[str, Any]], items: Sequence[dict[str, Any]], new_id: Callable[[], int]
) -> tuple[int, list[dict[str, Any]]]:
    """Where the columns of an add-columns request go, and the columns to insert there in
    request order: every column of one request must give the same index."""
    index = _index_of(items[0], len(existing))
    for item in items[1:]:
        if item.get("index") != index:
            raise ApiError(
                400,
                1135,
                f"Input column index {item.get('index')} is different from the first input column "
                f"index {index}.",
            )
    titles = [_title_and_type(item)[0] for item in items]
    if len(set(titles)) != len(titles):
        raise ApiError(400, 1133, "Column titles are not unique among input columns.")
    if set(titles) & {column["title"] for column in existing}:
        raise ApiError(400, 1056, "Column titles must be unique.")
    if any(item.get("primary") for item in items):
        raise ApiError(
            400, 1032, "The attribute(s) column.primary are not allowed for this operation."
        )
    return index, [stored_column(item, new_id()) for item in items]


def sheet_columns(data: Any, new_id: Callable[[], int]) -> list[dict[str, Any]]:
    """The columns of a create-sheet request, checked as the API checks them."""
    if not isinstance(data, dict):
        raise unparsable("expected a sheet object")
    if data.get("fromId") is not None:
        raise not_emulated("creating a sheet from a template (fromId)")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise missing_attribute("sheet.name")
    items = data.get("columns")
    if not items:
        raise ApiError(400, 1054, "The new sheet requires either a fromId or columns.")
    items, _ = listed(items, "column")
    primaries = [item for item in items if item.get("primary")]
    if len(primaries) != 1:
        raise ApiError(400, 1055, "One and only one column must be primary.")
    titles = [_title_and_type(item)[0] for item in items]
    if len(set(titles)) != len(titles):
        raise ApiError(400, 1056, "Column titles must be unique.")
    if primaries[0]["type"] != "TEXT_NUMBER":
        raise ApiError(400, 1057, "Primary columns must be of type TEXT_NUMBER.")
    columns = [stored_column(item, new_id()) for item in items]
    for number, column in enumerate(columns):
        column["index"] = number
    return columns


def stored_column(item: dict[str, Any], column_id: int) -> dict[str, Any]:
    """A new column as the API keeps and returns it: validation and width default to false
    and 150, and attributes that are false are left out."""
    title, kind = _title_and_type(item)
    column: dict[str, Any] = {"id": column_id, "index": item.get("index", 0), "title": title}
    column["type"] = kind
    if item.get("primary"):
        column["primary"] = True
    for name in COLUMN_ATTRIBUTES:
        if item.get(name) not in (None, False):
            column[name] = item[name]
    if column.get("systemColumnType", "AUTO_NUMBER") not in SYSTEM_COLUMN_TYPES:
        raise bad_attribute("column.systemColumnType", column["systemColumnType"])
    column["validation"] = bool(item.get("validation", False))
    column["width"] = item.get("width", 150)
    return column


def _title_and_type(item: dict[str, Any]) -> tuple[str, str]:
    title, kind = item.get("title"), item.get("type")
    if not isinstance(title, str) or not title:
        raise missing_attribute("column.title")
    if kind is None:
        raise missing_attribute("column.type")
    if kind not in COLUMN_TYPES:
        raise bad_attribute("column.type", kind)
    return title, kind


def _index_of(item: dict[str, Any], count: int) -> int:
    index = item.get("index")
    if index is None:
        raise missing_attribute("column.index")
    if type(index) is not int or not 0 <= index <= count:
        raise bad_attribute("column.index", index)
    return index
