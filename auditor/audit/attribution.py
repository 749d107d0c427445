"""Who changed a cell: Smartsheet's cell history, for the changed cells only.

A row's metadata names its last modifier, who may have changed another cell. Smartsheet's
cell history says exactly who set a value, but one call costs 10 of the 300 requests a
minute a token may make, and sweeping a sheet would take a day. So only the changed cells
of tracked columns are asked, newest rows first, at most `attribution_budget` a run; the
edit taken is the newest one made between the two snapshots' fetch times that set the new
value (times are whole seconds on both sides, so an edit in the second of a fetch counts).
Cells not asked, or whose history does not show that edit, keep the row's last modifier
and are marked row-level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from auditor.audit.model import Event
from auditor.audit.settings import Settings
from auditor.errors import SourceError
from auditor.snapshot.normalize import to_decimal
from auditor.text import iso


@dataclass(frozen=True)
class CellEdit:
    value: Any
    at: dt.datetime
    by: str | None


# (sheet id, row id, column id) -> the cell's edits, newest first.
CellHistory = Callable[[str, int, int], list[CellEdit]]


@dataclass(frozen=True)
class Attribution:
    """How many changed tracked cells there were, how many were asked, how many found."""

    candidates: int
    asked: int
    attributed: int
    problem: str | None = None


def attribute(
    events: list[Event],
    settings: Settings,
    cell_ids: Callable[[Event], tuple[int, int] | None],
    history: CellHistory,
    between: tuple[dt.datetime, dt.datetime],
) -> tuple[list[Event], Attribution]:
    tracked = set(settings.config.tracked_columns)
    candidates = [
        event
        for event in events
        if event.kind == "cell changed" and event.column in tracked and cell_ids(event)
    ]
    candidates.sort(key=lambda event: event.modified_at or "", reverse=True)
    found: dict[int, Event] = {}
    asked, problem = 0, None
    for event in candidates[: settings.config.attribution_budget]:
        try:
            edits = history(event.sheet_id, *cell_ids(event))
        except SourceError as error:
            problem = str(error)
            break
        asked += 1
        edit = _the_edit(edits, event.new, between)
        if edit is not None:
            found[id(event)] = replace(
                event, modified_by=edit.by, modified_at=iso(edit.at), attribution="cell"
            )
    attributed = [found.get(id(event), event) for event in events]
    return attributed, Attribution(len(candidates), asked, len(found), problem)


def _the_edit(
    edits: list[CellEdit], value: Any, between: tuple[dt.datetime, dt.datetime]
) -> CellEdit | None:
    after, until = between
    for edit in edits:
        if edit.at > until:
            continue
        if edit.at < after or not _same(edit.value, value):
            return None
        return edit
    return None


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    left, right = to_decimal(a), to_decimal(b)
    return left is not None and left == right
