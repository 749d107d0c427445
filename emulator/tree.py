"""Folders and workspaces: where sheets live, and the listings that find them.

As the API is since offset paging was sunset on its listings (Jun-03-2026): `GET
/workspaces` and the `children` of a folder or a workspace are token paged (`maxItems`,
`lastKey`); `GET /sheets` keeps offset paging; `GET /folders/{id}` and `GET
/workspaces/{id}`, which nested their sheets, are removed. Items have the fields of
Smartsheet's own SDK mock scenarios (smartsheet/smartsheet-sdk-tests,
`mappings/scenarios/`): children carry a `resourceType`, folders have no `accessLevel`,
and `source` (what an item was copied from) only with include=source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from emulator.errors import (
    bad_attribute,
    bad_parameter,
    missing_attribute,
    not_emulated,
    unparsable,
)
from emulator.views import choices, index_page, token_page

# childrenResourceTypes, and the resourceType of their items, in the order the API lists
# them. The emulator holds folders and sheets; it has no reports, dashboards or templates.
CHILD_TYPES = {
    "folders": "folder",
    "sheets": "sheet",
    "sights": "sight",
    "reports": "report",
    "templates": "template",
}
FIELDS = {
    "folder": ("id", "name", "permalink", "createdAt", "modifiedAt"),
    "workspace": ("id", "name", "accessLevel", "permalink", "createdAt", "modifiedAt"),
    "sheet": ("id", "name", "accessLevel", "permalink", "createdAt", "modifiedAt"),
}
LISTED_WORKSPACE = ("id", "name", "accessLevel", "permalink")
LIST_SHEETS_INCLUDES = frozenset({"source", "ownerInfo", "sheetVersion"})
DESTINATIONS = ("home", "folder", "workspace")

Place = tuple[str, int]


def new_container(kind: str, container_id: int, name: str, now: str, access: str) -> dict:
    """A folder or workspace as its metadata shows it."""
    document: dict[str, Any] = {"id": container_id, "name": name}
    if kind == "workspace":
        document["accessLevel"] = access
    document["permalink"] = f"https://app.smartsheet.com/{kind}s/{container_id}"
    document.update(createdAt=now, modifiedAt=now)
    return document


def metadata(kind: str, document: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """GET /folders/{id}/metadata, GET /workspaces/{id}/metadata."""
    return _view(kind, document, choices(query, "include", {"source"}))


def created(document: dict[str, Any]) -> dict[str, Any]:
    """The Result of creating a folder or workspace: its id, name, access and permalink."""
    result = {k: document[k] for k in ("id", "name", "accessLevel", "permalink") if k in document}
    return {"message": "SUCCESS", "resultCode": 0, "result": result}


def name_of(data: Any) -> str:
    if not isinstance(data, dict):
        raise unparsable("expected an object with a name")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise missing_attribute("name")
    return data["name"]


def children(
    places: Mapping[tuple[str, int], Place],
    held: Mapping[str, Mapping[int, dict[str, Any]]],
    parent: Place,
    query: dict[str, str],
    sizes: Sequence[int],
) -> dict[str, Any]:
    """GET /folders/{id}/children, GET /workspaces/{id}/children: the folders, then the
    sheets, directly in `parent`, of the types asked for (all when none are). `held` has
    the emulator's folders and sheets by kind; `places` says where each is."""
    wanted = choices(query, "childrenResourceTypes", CHILD_TYPES) or set(CHILD_TYPES)
    if "templates" in wanted and "sheets" not in wanted:
        # The docs: templates are sheet templates, so sheets must be asked for with them.
        raise bad_parameter("childrenResourceTypes", query["childrenResourceTypes"])
    include = choices(query, "include", {"source", "ownerInfo"})
    if "ownerInfo" in include:
        raise not_emulated("include=ownerInfo")
    items = [
        {**_view(kind, held[kind][item_id], include), "resourceType": kind}
        for plural, kind in CHILD_TYPES.items()
        if plural in wanted and kind in held
        for item_id in _inside(places, parent, kind, held[kind])
    ]
    scope = f"{parent[0]}/{parent[1]}/children?{','.join(sorted(wanted))}"
    return token_page(items, query, scope, sizes)


def workspace_list(
    workspaces: Mapping[int, dict[str, Any]], query: dict[str, str], sizes: Sequence[int]
) -> dict[str, Any]:
    """GET /workspaces: token paged, as the SDK asks for it (paginationType=token)."""
    if query.get("paginationType", "token") != "token":
        raise bad_parameter("paginationType", query["paginationType"])
    listed = [{k: w[k] for k in LISTED_WORKSPACE if k in w} for w in workspaces.values()]
    return token_page(listed, query, "workspaces", sizes)


def sheet_list(sheets: Mapping[int, dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """GET /sheets: every sheet the token can see, by name, offset paged; `modifiedSince`;
    include=source (what a sheet was copied from) and sheetVersion."""
    include = choices(query, "include", LIST_SHEETS_INCLUDES)
    if "ownerInfo" in include:
        raise not_emulated("include=ownerInfo")
    since = _time(query, "modifiedSince")
    found = [s for s in sheets.values() if since is None or _modified(s) >= since]
    found.sort(key=lambda sheet: (sheet["name"].casefold(), sheet["id"]))
    summaries = []
    for sheet in found:
        summary = _view("sheet", sheet, include)
        if "sheetVersion" in include:
            summary["version"] = sheet["version"]
        summaries.append(summary)
    return index_page(summaries, query)


def destination(data: Any) -> tuple[Place | None, str]:
    """Where a copy goes (None: the user's Sheets home) and its name, from a
    ContainerDestination. The docs write destinationType in lower case, Smartsheet's SDK
    scenarios in upper case: both are taken."""
    if not isinstance(data, dict):
        raise unparsable("expected a ContainerDestination object")
    kind = data.get("destinationType")
    if kind is None:
        raise missing_attribute("destinationType")
    if not isinstance(kind, str) or kind.lower() not in DESTINATIONS:
        raise bad_attribute("destinationType", kind)
    if not isinstance(data.get("newName"), str) or not data["newName"]:
        raise missing_attribute("newName")
    if kind.lower() == "home":
        return None, data["newName"]
    if type(data.get("destinationId")) is not int:
        raise missing_attribute("destinationId")
    return (kind.lower(), data["destinationId"]), data["newName"]


def _inside(
    places: Mapping[tuple[str, int], Place], parent: Place, kind: str, held: Mapping[int, Any]
) -> list[int]:
    """The ids of the folders or sheets (`kind`) directly in `parent`, in the order they
    were put there; one deleted from `held` is gone."""
    return [
        item_id
        for (placed, item_id), where in places.items()
        if placed == kind and where == parent and item_id in held
    ]


def _view(kind: str, document: dict[str, Any], include: set[str]) -> dict[str, Any]:
    view = {name: document[name] for name in FIELDS[kind] if name in document}
    if "source" in include and "source" in document:
        view["source"] = document["source"]
    return view


def _time(query: dict[str, str], name: str) -> dt.datetime | None:
    text = query.get(name)
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise bad_parameter(name, text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _modified(sheet: dict[str, Any]) -> dt.datetime:
    text = sheet.get("modifiedAt")
    if not text:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(text)
