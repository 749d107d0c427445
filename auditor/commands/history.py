"""`auditor diff`, `auditor log` and `auditor show`: reading snapshots back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from auditor.diff.compute import diff_sheet
from auditor.diff.model import Diff, SheetDiff, Side
from auditor.errors import UsageError
from auditor.snapshot import canonical
from auditor.snapshot.canonical import ROWS_FILE, SHEET_FILE
from auditor.snapshot.model import Row
from auditor.store.gitstore import Store
from auditor.store.message import sheet_records
from auditor.store.revisions import resolve


def diff_revisions(
    store: Store,
    old_revision: str = "HEAD~1",
    new_revision: str = "HEAD",
    *,
    sheet: str | None = None,
    ignored_columns: tuple[str, ...] = (),
) -> Diff:
    old = store.info(resolve(store, old_revision))
    new = store.info(resolve(store, new_revision))
    old_trees = store.sheet_trees(old.sha)
    new_trees = store.sheet_trees(new.sha)
    ids = _selected(sorted(old_trees.keys() | new_trees.keys()), sheet)
    ignored = frozenset(ignored_columns)
    sheets = []
    for sheet_id in ids:
        old_tree, new_tree = old_trees.get(sheet_id), new_trees.get(sheet_id)
        if old_tree == new_tree:
            name = canonical.load(store.read(new_tree, SHEET_FILE))["name"]
            sheets.append(SheetDiff(sheet_id, name, "unchanged"))
            continue
        old_files = store.sheet_files(old_tree) if old_tree else None
        new_files = store.sheet_files(new_tree) if new_tree else None
        sheets.append(diff_sheet(sheet_id, old_files, new_files, ignored))
    return Diff(Side(old.sha, old.time), Side(new.sha, new.time), sheets)


def _selected(ids: list[str], sheet: str | None) -> list[str]:
    if sheet is None:
        return ids
    if sheet not in ids:
        known = ", ".join(ids) or "none"
        raise UsageError(f"no sheet {sheet!r} in these snapshots (sheets: {known})")
    return [sheet]


@dataclass(frozen=True)
class LogEntry:
    commit: str
    time: dt.datetime
    subject: str
    rows_added: int
    rows_removed: int
    cells_changed: int
    rows: int


def log_entries(store: Store, limit: int | None = None) -> list[LogEntry]:
    """The snapshots, newest first, with counts read from their trailers."""
    tip = resolve(store, "HEAD")
    entries = []
    for commit in store.first_parents(tip, limit):
        records = sheet_records(commit.message).values()
        entries.append(
            LogEntry(
                commit=commit.sha,
                time=commit.time,
                subject=commit.message.split("\n", 1)[0],
                rows_added=sum(record.added for record in records),
                rows_removed=sum(record.removed for record in records),
                cells_changed=sum(record.changed for record in records),
                rows=sum(record.rows for record in records),
            )
        )
    return entries


@dataclass(frozen=True)
class SheetData:
    meta: dict[str, Any]
    rows: dict[str, Row]


def show_snapshot(
    store: Store, revision: str = "HEAD", sheet: str | None = None
) -> tuple[Side, list[SheetData]]:
    commit = store.info(resolve(store, revision))
    trees = store.sheet_trees(commit.sha)
    sheets = [
        SheetData(
            canonical.load(store.read(trees[sheet_id], SHEET_FILE)),
            canonical.parse_rows(store.read(trees[sheet_id], ROWS_FILE)),
        )
        for sheet_id in _selected(sorted(trees), sheet)
    ]
    return Side(commit.sha, commit.time), sheets
