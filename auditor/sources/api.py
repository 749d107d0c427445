"""Reading a sheet through the API: the version first, then every page, checked whole."""

from __future__ import annotations

import math

from auditor.errors import SourceError
from auditor.smartsheet_client import SmartsheetApi

PAGE_SIZE = 5000
READ_ATTEMPTS = 3


def read_sheet(
    api: SmartsheetApi, sheet_id: str, known_version: int | None, version: int | None = None
) -> dict | None:
    """The sheet as `GET /sheets/{id}` gives it, every page joined; None if the version is
    `known_version` (nothing changed since the last snapshot). `version` is the sheet's
    version where a listing gave it; without it, it is asked for."""
    what = f"sheet {sheet_id}"
    if version is None:
        version = api.get(f"/sheets/{sheet_id}/version", what).get("version")
    if known_version is not None and version == known_version:
        return None
    for _ in range(READ_ATTEMPTS):
        data = _read_pages(api, sheet_id, what)
        if data is not None:
            return data
    raise SourceError(f"{what}: it kept changing while being read; try again")


def _read_pages(api: SmartsheetApi, sheet_id: str, what: str) -> dict | None:
    """All pages, or None when the sheet changed between pages (a torn read). Rows name
    who last changed them (`modifiedBy`) only with include=writerInfo."""
    params = {"include": "objectValue,writerInfo", "level": 2, "pageSize": PAGE_SIZE}
    first = api.get(f"/sheets/{sheet_id}", what, page=1, **params)
    total = first.get("totalRowCount")
    if not isinstance(total, int) or "rows" not in first:
        raise SourceError(f"{what}: the response has no rows or totalRowCount; not a sheet")
    rows = list(first["rows"])
    for page in range(2, math.ceil(total / PAGE_SIZE) + 1):
        data = api.get(f"/sheets/{sheet_id}", what, page=page, **params)
        if data.get("version") != first.get("version"):
            return None
        rows.extend(data.get("rows", []))
    if len(rows) != total or len({row.get("id") for row in rows}) != total:
        raise SourceError(
            f"{what}: incomplete read, {len(rows)} distinct rows of {total}; nothing was recorded"
        )
    first["rows"] = rows
    return first
