"""What reads answer: sheets, rows, cells and index pages in the shape the API sends them.

Rows are stored as they were written; the fields the API works out when it answers
(`rowNumber`, `siblingId`, `expanded`, a `{columnId}` cell for every column never written)
are worked out here, and what the API sends only when asked (`include=writerInfo`,
`include=format`, `include=objectValue` with a high enough `level`, `include=columnType`)
is left out unless asked.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.errors import bad_parameter, not_emulated

DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX_ITEMS = 100
MAX_ITEMS = range(100, 1001, 100)
# Offset paging, which token-paged listings do not have (it was sunset on them in 2026).
OFFSET_PARAMETERS = ("page", "pageSize", "includeAll")
# Column types reported as TEXT_NUMBER (with a display-string value) below this `level`.
LEVELS = {"MULTI_CONTACT_LIST": 1, "MULTI_PICKLIST": 2}
# GET sheet parameters that choose which rows come back: serving every row instead would let
# a test pass on rows the real API would have left out.
ROW_FILTERS = ("rowIds", "rowNumbers", "rowsModifiedSince", "filterId")


@dataclass(frozen=True)
class Shape:
    """What a read asked to see."""

    include: frozenset[str] = frozenset()
    level: int = 0
    all_cells: bool = True

    @classmethod
    def of(cls, query: dict[str, str]) -> Shape:
        return cls(
            frozenset(_listed(query, "include")),
            integer(query, "level", 0, minimum=0),
            "nonexistentCells" not in _listed(query, "exclude"),
        )


def integer(query: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.strip().lstrip("-").isdigit() or int(text) < minimum:
        raise bad_parameter(name, text)
    return int(text)


def flag(query: dict[str, str], name: str) -> bool:
    """The SDK sends Python's `True`; the API takes booleans in any case."""
    return query.get(name, "").lower() == "true"


def sheet_view(sheet: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """GET /sheets/{id}: paging, include, exclude, level, columnIds and ifVersionAfter. A
    copy's `source` shows only with include=source, as the API sends it."""
    for name in ROW_FILTERS:
        if name in query:
            raise not_emulated(f"the {name} parameter of GET /sheets/{{id}}")
    after = query.get("ifVersionAfter")
    if after is not None and sheet["version"] <= integer(query, "ifVersionAfter", 0, minimum=0):
        return {"version": sheet["version"]}
    shape = Shape.of(query)
    wanted = {_column_id(text) for text in _listed(query, "columnIds")}
    columns = [column for column in sheet["columns"] if not wanted or column["id"] in wanted]
    rows, start = _page(sheet["rows"], query)
    siblings = sibling_ids(sheet["rows"])[start : start + len(rows)]
    hidden = {"rows", "columns"} | ({"source"} - shape.include)
    view = {key: value for key, value in sheet.items() if key not in hidden}
    view["totalRowCount"] = len(sheet["rows"])
    view["columns"] = columns_view(columns, shape.level)
    cells = Cells(columns, shape, complete=not wanted and len(columns) == len(sheet["columns"]))
    view["rows"] = [row_view(row, start + n + 1, siblings[n], cells) for n, row in enumerate(rows)]
    return view


def columns_view(columns: Sequence[dict[str, Any]], level: int) -> list[dict[str, Any]]:
    return [
        {**column, "type": "TEXT_NUMBER"} if _flattened(column, level) else column
        for column in columns
    ]


def sibling_ids(rows: Sequence[dict[str, Any]]) -> list[int | None]:
    """Each row's sibling: the nearest row above it with the same parent."""
    last: dict[Any, int] = {}
    found = []
    for row in rows:
        parent = row.get("parentId")
        found.append(last.get(parent))
        last[parent] = row["id"]
    return found


def row_view(row: dict[str, Any], number: int, sibling: int | None, cells: Cells) -> dict[str, Any]:
    view: dict[str, Any] = {"id": row["id"], "rowNumber": number}
    if sibling is not None:
        view["siblingId"] = sibling
    if row.get("parentId") is not None:
        view["parentId"] = row["parentId"]
    view["expanded"] = row.get("expanded", True)
    for name in ("createdAt", "modifiedAt", "locked"):
        if name in row:
            view[name] = row[name]
    if "writerInfo" in cells.shape.include:
        for name in ("createdBy", "modifiedBy"):
            if name in row:
                view[name] = row[name]
    if "format" in row and "format" in cells.shape.include:
        view["format"] = row["format"]
    view["cells"] = cells.of(row.get("cells", ()))
    return view


class Cells:
    """A row's cells as a read shows them: one per shown column, in column order."""

    def __init__(
        self, columns: Sequence[dict[str, Any]], shape: Shape, complete: bool = True
    ) -> None:
        self.shape = shape
        self.ids = [column["id"] for column in columns]
        self.columns = {column["id"]: column for column in columns}
        self.flattened = {column["id"] for column in columns if _flattened(column, shape.level)}
        # When every column is shown, a row written with a cell for each (the usual case)
        # is used as it is stored: a 500,000-cell sheet is read in one request.
        self.complete = complete
        self.objects = "objectValue" in shape.include
        self.formats = "format" in shape.include
        self.types = "columnType" in shape.include

    def of(self, cells: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.complete and len(cells) == len(self.ids):
            return [self._cell(cell) for cell in cells]
        stored = {cell["columnId"]: cell for cell in cells}
        shown = []
        for column_id in self.ids:
            cell = stored.get(column_id)
            if cell is not None:
                shown.append(self._cell(cell))
            elif self.shape.all_cells:
                shown.append({"columnId": column_id})
        return shown

    def _cell(self, cell: dict[str, Any]) -> dict[str, Any]:
        hidden_object = "objectValue" in cell and (
            not self.objects or cell["columnId"] in self.flattened
        )
        hidden_format = "format" in cell and not self.formats
        if not (hidden_object or hidden_format or self.types):
            return cell
        view = dict(cell)
        if hidden_object:
            del view["objectValue"]
        if hidden_format:
            del view["format"]
        if self.types and cell["columnId"] in self.columns:
            view["columnType"] = self.columns[cell["columnId"]].get("type")
        return view


def index_page(items: Sequence[Any], query: dict[str, str]) -> dict[str, Any]:
    """An IndexResult: `includeAll=true` overrides page and pageSize; a page past the end is
    the last page, as the docs' paging parameters say."""
    if flag(query, "includeAll"):
        size, page = max(1, len(items)), 1
    else:
        size = integer(query, "pageSize", DEFAULT_PAGE_SIZE)
        page = integer(query, "page", 1)
    pages = max(1, math.ceil(len(items) / size))
    page = min(page, pages)
    return {
        "pageNumber": page,
        "pageSize": size,
        "totalPages": pages,
        "totalCount": len(items),
        "data": list(items[(page - 1) * size : page * size]),
    }


def token_page(
    items: Sequence[dict[str, Any]], query: dict[str, str], scope: str, sizes: Sequence[int] = ()
) -> dict[str, Any]:
    """A token-paged listing: up to `maxItems` items from where `lastKey` left off, and a
    `lastKey` only while more remain. `sizes` are the lengths of successive pages (cycled,
    each at most maxItems), for pages shorter than maxItems, even empty, as the API may
    send them. A key names the last item it served, so a listing that changes between
    pages goes on after that item; it is refused on another listing (`scope`)."""
    for name in OFFSET_PARAMETERS:
        if name in query:
            raise bad_parameter(name, query[name])
    limit = _max_items(query)
    start, page = _resume(query.get("lastKey"), scope, items)
    size = min(limit, sizes[page % len(sizes)]) if sizes else limit
    served = list(items[start : start + size])
    answer: dict[str, Any] = {"data": served}
    if start + len(served) < len(items):
        last = _item_key(served[-1]) if served else None
        answer["lastKey"] = _token(scope, start + len(served), page + 1, last)
    return answer


def _max_items(query: dict[str, str]) -> int:
    """100 to 1000 in steps of 100, as the docs give them; 100 when not given."""
    text = query.get("maxItems")
    if text is None:
        return DEFAULT_MAX_ITEMS
    if not text.isdigit() or int(text) not in MAX_ITEMS:
        raise bad_parameter("maxItems", text)
    return int(text)


def _token(scope: str, position: int, page: int, last: list[Any] | None) -> str:
    document = {"scope": scope, "at": position, "page": page, "after": last}
    return base64.urlsafe_b64encode(orjson.dumps(document)).decode().rstrip("=")


def _resume(key: str | None, scope: str, items: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Where a page starts, and its number, from the key of the page before: after the item
    it names while that is still listed, else at the position it was in."""
    if key is None:
        return 0, 0
    try:
        document = orjson.loads(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))
        position, page, after = int(document["at"]), int(document["page"]), document["after"]
        fits = document["scope"] == scope and position >= 0 and page >= 0
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        fits = False
    if not fits:
        raise bad_parameter("lastKey", key)
    if after is not None:
        for index, item in enumerate(items):
            if _item_key(item) == after:
                return index + 1, page
    return min(position, len(items)), page


def _item_key(item: dict[str, Any]) -> list[Any]:
    return [item.get("resourceType"), item["id"]]


def _page(rows: list[dict[str, Any]], query: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """The rows of the page asked for, and the position of the first. Without page or
    pageSize every row comes back; a page past the end is the last page, not an empty one."""
    if "page" not in query and "pageSize" not in query:
        return rows, 0
    size = integer(query, "pageSize", DEFAULT_PAGE_SIZE)
    last = max(1, math.ceil(len(rows) / size))
    start = (min(integer(query, "page", 1), last) - 1) * size
    return rows[start : start + size], start


def _flattened(column: dict[str, Any], level: int) -> bool:
    return LEVELS.get(column.get("type", ""), 0) > level


def choices(query: dict[str, str], name: str, allowed: Collection[str]) -> set[str]:
    """The values of a comma-separated parameter that takes only those the docs list."""
    given = set(_listed(query, name))
    unknown = sorted(given - set(allowed))
    if unknown:
        raise bad_parameter(name, unknown[0])
    return given


def _listed(query: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()]


def _column_id(text: str) -> int:
    if not text.isdigit():
        raise bad_parameter("columnIds", text)
    return int(text)
