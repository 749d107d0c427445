"""Audit rows on a Smartsheet audit sheet, each posted exactly once.

Every row carries an audit id made from content: the git tree ids of the sheet's folder in
the two snapshots, and the event's identity. A snapshot re-made on a new parent keeps its
tree, so its rows keep their ids. Before posting, only the audit-id column is read, and only
rows whose id is missing are posted, at most 500 a request. A run that dies after some
requests leaves rows that the next run finds and skips; a request whose answer was lost (a
timeout, a 5xx) is followed by a fresh read of the ids instead of a blind resend.

The target must be an audit sheet: one with an Audit ID column, or one without rows (which
gets the audit columns added). A sheet with rows but no Audit ID column is refused before
anything is written: either its Audit ID column was renamed or removed, and posting would
repeat every row, or it is not an audit sheet at all (a billing sheet, say). Columns of
the user's own beside the audit columns (a reviewer's checkbox) are left alone.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from auditor.audit.events import SHEET_EVENTS
from auditor.audit.model import Event, Violation
from auditor.audit.weeks import WeekShift
from auditor.errors import SourceError
from auditor.outputs.changes import shown, violation_entries
from auditor.outputs.report import Report
from auditor.smartsheet_client import Backoff, SmartsheetApi, UnsureWrite
from auditor.text import inert, minutes, money, shorten

log = logging.getLogger("auditor")
T = TypeVar("T")

AUDIT_ID = "Audit ID"
PAIR = "Snapshots"
COLUMNS = (
    ("Time (UTC)", "TEXT_NUMBER"),
    (PAIR, "TEXT_NUMBER"),
    ("Sheet", "TEXT_NUMBER"),
    ("Row key", "TEXT_NUMBER"),
    ("Work request", "TEXT_NUMBER"),
    ("Event or rule", "TEXT_NUMBER"),
    ("Status", "TEXT_NUMBER"),
    ("Column", "TEXT_NUMBER"),
    ("Old", "TEXT_NUMBER"),
    ("New", "TEXT_NUMBER"),
    ("Delta", "TEXT_NUMBER"),
    ("Money impact (USD)", "TEXT_NUMBER"),
    ("Severity", "TEXT_NUMBER"),
    ("Week ending", "DATE"),
    ("Changed by", "TEXT_NUMBER"),
    ("Changed at (UTC)", "TEXT_NUMBER"),
    ("Attribution", "TEXT_NUMBER"),
    ("Details", "TEXT_NUMBER"),
    (AUDIT_ID, "TEXT_NUMBER"),
)
# Statuses posted: ongoing violations were posted when they were new.
POSTED = ("new", "resolved", "waived")
ROWS_PER_REQUEST = 500
SHEET_ROWS = 20_000
SHEET_CELLS = 500_000
WARN_AT = 0.8
READ_PAGE = 5000
CELL_TEXT = 4000
MAX_ATTACHMENT = 30 * 1024 * 1024
SAFE_INTEGER = 2**53
# Background colours by severity, looked up in GET /serverinfo's palette (indexes may move).
COLOURS = {"high": "#FFCCD2", "medium": "#FFE1AF", "low": "#E7F5E9"}
BACKGROUND = 9
FORMAT_FIELDS = 17
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class AuditRow:
    audit_id: str
    colour: str | None
    values: dict[str, Any]


@dataclass(frozen=True)
class Held:
    """What an audit sheet already holds: the audit ids on it, the pairs (`old..new`, as in
    the Snapshots column) those audit rows came from, its row count, and the names of its
    attachments (a pair's report is attached last, once all its rows are posted)."""

    ids: set[str]
    pairs: set[str]
    rows: int
    attached: set[str] = field(default_factory=set)


@dataclass
class Published:
    posted: int
    already: int
    rows_on_sheet: int
    attached: str | None


def audit_rows(report: Report, trees: dict[str, tuple[str | None, str | None]]) -> list[AuditRow]:
    """One row per change event and per violation new, resolved or waived in the pair.

    `trees` maps each sheet id to its folder's tree id in the older and newer snapshot.
    """
    diff = report.diff
    common = {
        "Time (UTC)": minutes(diff.new.time),
        PAIR: pair_label(diff.old.commit, diff.new.commit),
    }
    names = {sheet.sheet_id: sheet.name for sheet in diff.sheets}
    rows = []
    for event in report.events:
        identity = (event.kind, event.key, event.column or "")
        if event.kind in SHEET_EVENTS:  # it may join or leave again with the same data
            identity += (diff.new.commit,)
        coloured = event.money_impact is not None and event.money_impact != 0
        rows.append(
            AuditRow(
                _audit_id(trees.get(event.sheet_id), event.sheet_id, identity),
                event.severity if coloured else None,
                {**common, "Sheet": names.get(event.sheet_id), **_event_cells(event)},
            )
        )
    for shift in report.week_shifts:
        rows.append(
            AuditRow(
                _audit_id(trees.get(shift.sheet_id), shift.sheet_id, _week_identity(shift)),
                report.settings.severity(shift.change, closed=True),
                {**common, "Sheet": names.get(shift.sheet_id), **_week_cells(shift, report)},
            )
        )
    for sheet_id, audit in report.violations.items():
        for status, violation in violation_entries(audit):
            if status not in POSTED:
                continue
            identity = ("violation", status, violation.rule, violation.key, violation.column or "")
            rows.append(
                AuditRow(
                    _audit_id(trees.get(sheet_id), sheet_id, identity),
                    violation.severity if status == "new" else None,
                    {**common, "Sheet": names.get(sheet_id), **_violation_cells(status, violation)},
                )
            )
    return rows


def pair_label(old: str, new: str) -> str:
    """How the Snapshots column names a pair of snapshot commits."""
    return f"{old[:10]}..{new[:10]}"


def held(api: SmartsheetApi, sheet_id: str) -> Held:
    """What the audit sheet holds; nothing for a sheet without rows or audit columns yet.
    Refuses a sheet that is not an audit sheet (see the module's docstring)."""
    what = f"audit sheet {sheet_id}"
    columns = _columns(api, sheet_id, what)
    if AUDIT_ID not in columns:
        return Held(set(), set(), 0)
    found = _read_held(api, sheet_id, columns, what)
    return replace(found, attached=set(_attachments(api, sheet_id, what)))


def publish(
    api: SmartsheetApi,
    sheet_id: str,
    rows: Sequence[AuditRow],
    report_file: Callable[[], Path],
    report_name: str,
) -> Published:
    """Post the rows the sheet lacks, then attach the report unless a file of that name is
    already there. `report_file` is called only when the attachment is missing."""
    what = f"audit sheet {sheet_id}"
    columns = _until_done(api, what, lambda: _ensure_columns(api, sheet_id, what))
    formats = _formats(api, what)
    result = Published(0, 0, 0, None)

    def post_missing() -> None:
        present = _read_held(api, sheet_id, columns, what)
        on_sheet = present.rows
        missing = [row for row in rows if row.audit_id not in present.ids]
        result.already = len(rows) - len(missing)
        _check_room(what, on_sheet, len(missing), len(columns))
        for batch in _chunks(missing, ROWS_PER_REQUEST):
            body = [_request_row(row, columns, formats) for row in batch]
            api.post(
                f"/sheets/{sheet_id}/rows",
                f"{what}: adding {len(batch)} audit rows",
                body,
                replay=False,
            )
            result.posted += len(batch)
            on_sheet += len(batch)
        result.rows_on_sheet = on_sheet

    _until_done(api, what, post_missing)
    result.attached = _until_done(
        api, what, lambda: _attach(api, sheet_id, what, report_name, report_file)
    )
    return result


def _until_done(api: SmartsheetApi, what: str, step: Callable[[], T]) -> T:
    """Run `step`, which looks at the sheet and writes what is missing, until it finishes;
    after a write that may or may not have landed, it looks again."""
    backoff = Backoff(api.retry_budget, what)
    while True:
        try:
            return step()
        except UnsureWrite as error:
            backoff.wait(str(error).removeprefix(f"{what}: "))


def _columns(api: SmartsheetApi, sheet_id: str, what: str) -> dict[str, int]:
    """Column title -> id, refusing a sheet with rows but no Audit ID column: without it the
    sheet cannot say which audit rows it holds, so everything would be posted again."""
    found = api.get(f"/sheets/{sheet_id}/columns", what, includeAll="true").get("data", [])
    titles = {column["title"]: column["id"] for column in found}
    if AUDIT_ID not in titles and _has_rows(api, sheet_id, what):
        raise SourceError(
            f"{what} holds rows but no {AUDIT_ID!r} column: it was renamed or removed, or this "
            f"is not an audit sheet; nothing was posted. Rename the column back to {AUDIT_ID!r}, "
            "or set AUDIT_SHEET_ID to the audit sheet (a new one: an empty sheet)"
        )
    return titles


def _has_rows(api: SmartsheetApi, sheet_id: str, what: str) -> bool:
    return bool(api.get(f"/sheets/{sheet_id}", what, pageSize=1, page=1).get("totalRowCount"))


def _ensure_columns(api: SmartsheetApi, sheet_id: str, what: str) -> dict[str, int]:
    """Column title -> id, after adding the audit columns the sheet lacks (at its end).

    Every column of one add-columns request must give the same index (the API refuses the
    request otherwise, errorCode 1135) and goes in from there in request order."""
    titles = _columns(api, sheet_id, what)
    wanted = [(title, kind) for title, kind in COLUMNS if title not in titles]
    if wanted:
        body = [{"title": title, "type": kind, "index": len(titles)} for title, kind in wanted]
        added = api.post(
            f"/sheets/{sheet_id}/columns", f"{what}: adding columns", body, replay=False
        )
        titles.update({column["title"]: column["id"] for column in added.get("result", [])})
    missing = [title for title, _ in COLUMNS if title not in titles]
    if missing:
        raise SourceError(f"{what}: columns {missing} could not be added")
    return titles


def _formats(api: SmartsheetApi, what: str) -> dict[str, str]:
    """Severity -> a row format string with that background, from the server's palette."""
    palette = api.get("/serverinfo", f"{what}: colour palette").get("formats", {}).get("color", [])
    upper = [str(colour).upper() for colour in palette]
    formats = {}
    for severity, colour in COLOURS.items():
        if colour in upper:
            fields = [""] * FORMAT_FIELDS
            fields[BACKGROUND] = str(upper.index(colour))
            formats[severity] = ",".join(fields)
    return formats


def _read_held(api: SmartsheetApi, sheet_id: str, columns: dict[str, int], what: str) -> Held:
    """The audit ids and pairs on the sheet, reading only those two columns."""
    audit_id, pair = columns[AUDIT_ID], columns.get(PAIR)
    wanted = ",".join(str(column) for column in (audit_id, pair) if column is not None)
    path, ids, pairs = f"/sheets/{sheet_id}", set(), set()
    first = api.get(path, what, columnIds=wanted, pageSize=READ_PAGE, page=1)
    total = int(first.get("totalRowCount", 0))
    pages = [first] + [
        api.get(path, what, columnIds=wanted, pageSize=READ_PAGE, page=page)
        for page in range(2, math.ceil(total / READ_PAGE) + 1)
    ]
    for page in pages:
        for row in page.get("rows", []):
            values = {cell.get("columnId"): cell.get("value") for cell in row.get("cells", [])}
            if values.get(audit_id) is not None:
                ids.add(str(values[audit_id]))
                if values.get(pair) is not None:
                    pairs.add(str(values[pair]))
    return Held(ids, pairs, total)


def _attachments(api: SmartsheetApi, sheet_id: str, what: str) -> list[str]:
    listed = api.get(f"/sheets/{sheet_id}/attachments", what, includeAll="true")
    return [str(item.get("name")) for item in listed.get("data", [])]


def _check_room(what: str, on_sheet: int, adding: int, columns: int) -> None:
    after, room = on_sheet + adding, _room(columns)
    limit = f"Smartsheet's {room:,}"
    if room < SHEET_ROWS:
        limit = (
            f"the {room:,} that Smartsheet's {SHEET_CELLS:,}-cell limit leaves {columns} columns"
        )
    if after > room:
        raise SourceError(
            f"{what} holds {on_sheet:,} rows and this pair adds {adding:,}: more than {limit} "
            "rows, so nothing was posted; make a new audit sheet (Save as New without rows) and "
            "set AUDIT_SHEET_ID to it"
        )
    if adding and after >= WARN_AT * room:
        log.warning(
            "%s holds %s of %s rows; start a new audit sheet soon", what, f"{after:,}", limit
        )


def _room(columns: int) -> int:
    """The rows a sheet of this many columns can hold: 20,000, or fewer where its cells
    (rows times columns, empty ones too) would pass 500,000."""
    return min(SHEET_ROWS, SHEET_CELLS // max(columns, 1))


def _attach(
    api: SmartsheetApi, sheet_id: str, what: str, name: str, report_file: Callable[[], Path]
) -> str | None:
    if name in _attachments(api, sheet_id, what):
        return None
    path = report_file()
    size = path.stat().st_size
    if size > MAX_ATTACHMENT:
        log.warning("%s: the report is %s MB, over Smartsheet's 30 MB: not attached", what, size)
        return None
    with path.open("rb") as handle:
        api.call(
            "POST",
            f"/sheets/{sheet_id}/attachments",
            f"{what}: attaching {name}",
            replay=False,
            files={"file": (name, handle.read(), XLSX)},
        )
    return name


def _request_row(row: AuditRow, columns: dict[str, int], formats: dict[str, str]) -> dict:
    cells = [
        {"columnId": columns[title], "value": _value(value)}
        for title, value in {**row.values, AUDIT_ID: row.audit_id}.items()
        if value is not None and value != ""
    ]
    request: dict[str, Any] = {"toBottom": True, "cells": cells}
    if row.colour in formats:
        request["format"] = formats[row.colour]
    return request


def _event_cells(event: Event) -> dict[str, Any]:
    rows = event.kind in ("row added", "row removed")
    return {
        "Row key": event.key or None,
        "Work request": event.work_request,
        "Event or rule": event.kind,
        "Status": "change",
        "Column": event.column,
        "Old": None if rows else event.old,
        "New": None if rows else event.new,
        "Delta": event.delta,
        "Money impact (USD)": event.money_impact,
        "Severity": event.severity,
        "Week ending": event.week_ending.isoformat() if event.week_ending else None,
        "Changed by": event.modified_by,
        "Changed at (UTC)": event.modified_at,
        "Attribution": event.attribution,
        "Details": shown(event.new or event.old, CELL_TEXT) if rows else None,
    }


WEEK_EVENT = "billed week changed"


def _week_identity(shift: WeekShift) -> tuple[str, ...]:
    return (WEEK_EVENT, shift.week_ending.isoformat(), shift.baseline.commit)


def _week_cells(shift: WeekShift, report: Report) -> dict[str, Any]:
    """A week whose difference from its bill changed: from what, to what, against which
    baseline."""
    base = shift.baseline
    against = f"invoice mark {base.tag}" if base.tag else f"the {base.kind} baseline"
    was = money(shift.before) if shift.before is not None else "not yet closed"
    return {
        "Event or rule": WEEK_EVENT,
        "Status": "change",
        "Old": shift.before,
        "New": shift.after,
        "Delta": shift.change,
        "Money impact (USD)": shift.change,
        "Severity": report.settings.severity(shift.change, closed=True),
        "Week ending": shift.week_ending.isoformat(),
        "Details": f"now {money(shift.after)} from what was billed ({against}); was {was}",
    }


def _violation_cells(status: str, violation: Violation) -> dict[str, Any]:
    return {
        "Row key": violation.key or None,
        "Event or rule": violation.rule,
        "Status": status,
        "Column": violation.column,
        "Severity": violation.severity,
        "Details": violation.message,
    }


def _value(value: Any) -> Any:
    """A cell value the API takes as it is: numbers within its range, and text, inert (see
    auditor.text) and within 4,000 characters, for everything else."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite():
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int | float) and math.isfinite(value) and abs(value) < SAFE_INTEGER:
        return value
    text = value if isinstance(value, str) else shown(value, CELL_TEXT)
    return shorten(inert(text), CELL_TEXT)


def _audit_id(trees: tuple[str | None, str | None] | None, sheet_id: str, identity: tuple) -> str:
    old, new = trees or (None, None)
    parts = [old or "-", new or "-", sheet_id, *identity]
    # A letter first: an id of digits only would be stored by Smartsheet as a number.
    return "a" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:19]


def _chunks(rows: Sequence[AuditRow], size: int) -> Iterator[Sequence[AuditRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
