"""Which sheets to audit: the listed ones, every sheet in the configured folders and
workspaces (through their sub-folders), and, with `follow_copies`, every copy of one.

Crews copy billing sheets, and a copy nobody listed is billing nobody audits: so the set
follows the business rather than a list of ids. Folders and workspaces are walked with the
`children` endpoints (token pagination: pages may hold fewer items than asked, even none,
and only a missing `lastKey` ends them); copies are found by what they are, the `source`
that `GET /sheets?include=source` names, not by what they are called.

A listed sheet is always audited; a found one only when its name passes the globs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field

from auditor.config import Config
from auditor.errors import SourceError, UsageError
from auditor.smartsheet_client import NotFound, SmartsheetApi

PAGE_ITEMS = 1000
SHEETS_PAGE = 1000
# A folder tree deeper than this is a cycle or damage, not a filing system.
MAX_DEPTH = 50


@dataclass(frozen=True)
class Found:
    """A sheet to audit, and why: its origin, `listed`, `folder:F`, `workspace:W` or
    `copy:S` (as the snapshot's trailer records it)."""

    sheet_id: str
    name: str | None
    origin: str

    @property
    def why(self) -> str:
        return origin_text(self.origin)


def origin_text(origin: str) -> str:
    """An origin as people read it: `folder:12` is `folder 12`, `copy:12` `copy of 12`."""
    kind, _, of = origin.partition(":")
    texts = {"copy": f"copy of {of}", "folder": f"folder {of}", "workspace": f"workspace {of}"}
    return texts.get(kind, "listed")


@dataclass(frozen=True)
class Excluded:
    """A sheet seen in a folder or workspace but left out, and the glob that did it."""

    sheet_id: str
    name: str
    why: str


@dataclass
class Discovery:
    audited: list[Found] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    listing: dict[str, dict] | None = None
    """`GET /sheets` as read to follow copies, when it was: it holds every version too."""

    @property
    def sheet_ids(self) -> list[str]:
        return [found.sheet_id for found in self.audited]


def discover(api: SmartsheetApi, config: Config) -> Discovery:
    """The sheets to audit, each once, listed ones first, then in the order they were found."""
    result = Discovery()
    seen: set[str] = set()
    left_out: set[str] = set()

    def take(sheet_id: str, name: str | None, origin: str) -> None:
        if sheet_id not in seen:
            seen.add(sheet_id)
            result.audited.append(Found(sheet_id, name, origin))

    def consider(sheet_id: str, name: str, origin: str) -> None:
        glob = _excluded_by(name, config)
        if sheet_id == config.audit_sheet_id:
            glob = "it is the audit sheet (AUDIT_SHEET_ID)"
        if glob is None:
            take(sheet_id, name, origin)
        elif sheet_id not in seen and sheet_id not in left_out:
            left_out.add(sheet_id)
            result.excluded.append(Excluded(sheet_id, name, glob))

    for sheet_id in sheet_ids(config.sheets, "SOURCE_SHEET_ID"):
        take(sheet_id, None, "listed")
    for folder in sheet_ids(config.folders, "SOURCE_FOLDER_ID"):
        for sheet_id, name in _sheets_in(api, "folders", folder, f"folder {folder}"):
            consider(sheet_id, name, f"folder:{folder}")
    for space in sheet_ids(config.workspaces, "SOURCE_WORKSPACE_ID"):
        for sheet_id, name in _sheets_in(api, "workspaces", space, f"workspace {space}"):
            consider(sheet_id, name, f"workspace:{space}")
    if config.follow_copies:
        result.listing = sheet_list(api)
        for sheet_id, name, source in _copies(result.listing, set(seen)):
            consider(sheet_id, name, f"copy:{source}")
    return result


def _excluded_by(name: str, config: Config) -> str | None:
    """The glob that leaves `name` out, or None. Globs match the whole name, case-sensitive,
    so `*Archive*` is the way to say "contains"."""
    if config.include_names and not any(
        fnmatch.fnmatchcase(name, glob) for glob in config.include_names
    ):
        return "not in include_names " + ", ".join(config.include_names)
    for glob in config.exclude_names:
        if fnmatch.fnmatchcase(name, glob):
            return f"exclude_names {glob}"
    return None


def _sheets_in(
    api: SmartsheetApi, kind: str, container: str, why: str
) -> Iterator[tuple[str, str]]:
    """(id, name) of every sheet in a folder or workspace and its sub-folders, breadth first."""
    queue = [(kind, container, 0)]
    visited: set[str] = set()
    while queue:
        kind, container, depth = queue.pop(0)
        if container in visited:
            continue
        if depth > MAX_DEPTH:
            raise SourceError(
                f"{why}: folder {container} is {depth} folders deep; a tree deeper than "
                f"{MAX_DEPTH} is not searched, so its sheets would be missed"
            )
        visited.add(container)
        for item in _children(api, kind, container, why):
            item_id, kind_of = _item_id(item, why), str(item.get("resourceType", "")).lower()
            if kind_of == "folder":
                queue.append(("folders", item_id, depth + 1))
            elif kind_of == "sheet":
                yield item_id, str(item.get("name") or "")


def _children(api: SmartsheetApi, kind: str, container: str, why: str) -> Iterator[dict]:
    """Every child of one folder or workspace, page by page, until no `lastKey`."""
    last_key = None
    keys: set[str] = set()
    while True:
        params = {"childrenResourceTypes": "sheets,folders", "maxItems": PAGE_ITEMS}
        if last_key:
            params["lastKey"] = last_key
        try:
            page = api.get(f"/{kind}/{container}/children", f"{why}", **params)
        except NotFound:
            noun = "folder" if kind == "folders" else "workspace"
            setting = "SOURCE_FOLDER_ID" if kind == "folders" else "SOURCE_WORKSPACE_ID"
            raise SourceError(
                f"{noun} {container}: not found or not shared with this token; check {setting}"
            ) from None
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise SourceError(f"{why}: the children response has no data list; not a folder")
        yield from (item for item in data if isinstance(item, dict))
        last_key = page.get("lastKey")
        if not last_key:
            return
        if last_key in keys:
            raise SourceError(f"{why}: the API gave the same lastKey twice; the listing loops")
        keys.add(last_key)


def sheet_list(api: SmartsheetApi, max_pages: int | None = None) -> dict[str, dict]:
    """Every sheet the token can see (`GET /sheets`, offset paged), by id, with its
    `version` and `source`; with `max_pages`, only that many pages (a part of the list).

    A list that looks cut (a page short of its size before the last, fewer sheets than
    `totalCount`, no data list) is refused: a copy missing from it would be recorded as
    having left the audit."""
    found: dict[str, dict] = {}
    page, pages = 1, 1
    while page <= pages and (max_pages is None or page <= max_pages):
        listing = api.get(
            "/sheets",
            "sheet list",
            include="source,sheetVersion",
            pageSize=SHEETS_PAGE,
            page=page,
        )
        data = listing.get("data") if isinstance(listing, dict) else None
        pages, total = _count(listing, "totalPages"), _count(listing, "totalCount")
        if not isinstance(data, list) or pages is None or total is None:
            raise SourceError("sheet list: the answer has no data list, totalPages or totalCount")
        for sheet in data:
            if isinstance(sheet, dict):
                found[_item_id(sheet, "sheet list")] = sheet
        expected = total if page == pages else page * SHEETS_PAGE
        if len(found) != min(expected, total):
            raise SourceError(
                f"sheet list: {len(found)} sheets in {page} of {pages} pages where "
                f"totalCount {total} says {min(expected, total)}; the list is cut or changed "
                "while it was read: run again"
            )
        page += 1
    return found


def _count(listing: object, name: str) -> int | None:
    value = listing.get(name) if isinstance(listing, dict) else None
    return value if type(value) is int and value >= 0 else None


def _copies(listing: dict[str, dict], audited: set[str]) -> Iterator[tuple[str, str, str]]:
    """(id, name, source id) of every listed sheet whose source is audited; a copy of a
    copy is followed too, whatever order the listing gives them in."""
    sources = {
        sheet_id: (str(sheet.get("name") or ""), _item_id(sheet["source"], "sheet list"))
        for sheet_id, sheet in listing.items()
        if isinstance(sheet.get("source"), dict) and sheet["source"].get("type") == "sheet"
    }
    found = set(audited)
    grew = True
    while grew:
        grew = False
        for sheet_id, (name, source) in sources.items():
            if source in found and sheet_id not in found:
                found.add(sheet_id)
                grew = True
                yield sheet_id, name, source


def _item_id(item: dict, why: str) -> str:
    """A listed item's id, which goes into request paths and folder names: a number."""
    value = item.get("id")
    if type(value) is not int or value <= 0:
        raise SourceError(f"{why}: the listing holds an item whose id is not a number: {value!r}")
    return str(value)


def sheet_ids(texts: tuple[str, ...] | list[str], setting: str) -> list[str]:
    """Ids as Smartsheet reads them, each once: `0555` and `555` are one sheet."""
    bad = [text for text in texts if not text.isascii() or not text.isdigit()]
    if bad:
        raise UsageError(f"{bad[0]!r} is not a Smartsheet id, a number ({setting})")
    return list(dict.fromkeys(str(int(text)) for text in texts))
