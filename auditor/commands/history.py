"""`auditor diff`, `log`, `show` and `history`: reading snapshots back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from auditor.diff.compute import diff_sheet, differing
from auditor.diff.index import ChangeIndex, RecordPaths, parse_changes, record_paths
from auditor.diff.model import Diff, SheetDiff, Side
from auditor.errors import UsageError
from auditor.snapshot import canonical
from auditor.snapshot.canonical import ROWS_FILE, SHEET_FILE, SheetFiles, data_of
from auditor.snapshot.model import Row
from auditor.store.gitstore import SNAPSHOTS, Store
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
            store.sheet_files(trees[sheet_id]).all_rows(),
        )
        for sheet_id in _selected(sorted(trees), sheet)
    ]
    return Side(commit.sha, commit.time), sheets


@dataclass(frozen=True)
class Version:
    """One snapshot in a row's history: the row as it was after the change (before it, for
    a removal), metadata included, and the columns that changed."""

    commit: str
    time: dt.datetime
    change: str
    columns: list[str]
    row: Row


@dataclass
class RowHistory:
    sheet_id: str
    key: str
    column: str | None
    versions: list[Version]


def row_history(
    store: Store,
    key: str,
    *,
    sheet: str | None = None,
    column: str | None = None,
    since: str | None = None,
    ignored_columns: tuple[str, ...] = (),
) -> RowHistory:
    """Every snapshot, oldest first, in which the row (or its `column`) changed.

    Commits are found by comparing trees in git; in each, the small change record says
    whether the row changed, and the record's changed rows give its line, parsed alone.
    Commits without a record that belongs to them (a sheet's first snapshot, snapshots
    taken before records existed, hand edits of the branch) are read from the whole rows
    file.
    """
    tip = resolve(store, "HEAD")
    sheet_id = _only_sheet(store, tip, sheet)
    folder = f"{SNAPSHOTS}/{sheet_id}"
    rows_path = f"{folder}/{ROWS_FILE}"
    layouts = record_paths(sheet_id)
    start = resolve(store, since) if since else None
    tree = store.sheet_trees(start).get(sheet_id) if start else None
    last = _row_of(store, tree, key)
    versions = []
    ignored = frozenset(ignored_columns)
    paths = [folder, *(path for paths in layouts for path in (paths.record, paths.rows))]
    for commit in store.path_log(tip, paths, start):
        objects = commit.objects
        if folder not in objects:
            continue  # the sheet's data did not change here
        previous, tree = tree, objects[folder]
        record = _record(store, objects, layouts, previous, tree)
        if record is not None:
            index, changed_rows = record
            if not index.touches(key):
                continue
            columns = index.columns(key)
            row = None if key in index.removed else changed_rows.row(key)
        else:
            if tree is not None and rows_path not in objects:
                continue  # the rows file is as it was
            row = _row_of(store, tree, key)
            columns = _changed_columns(last, row, ignored) if last and row else []
        version = _version(commit.sha, commit.time, last, row, columns, column)
        if version is not None:
            versions.append(version)
        last = row
    if not versions and last is None:
        raise UsageError(f"row {key!r} is in no snapshot of sheet {sheet_id} on {store.branch!r}")
    if column is not None and not any(column in v.row.cells for v in versions):
        _check_column(store, store.sheet_trees(tip)[sheet_id], column)
    return RowHistory(sheet_id, key, column, versions)


def _check_column(store: Store, tree: str, column: str) -> None:
    """A column the row never held a value in must at least be one of the sheet's now."""
    meta = canonical.load(store.read(tree, SHEET_FILE), SHEET_FILE)
    titles = [item["title"] for item in meta["columns"]]
    if column not in titles:
        shown = ", ".join(map(repr, titles[:20])) + (" ..." if len(titles) > 20 else "")
        raise UsageError(f"no column {column!r} in sheet {meta['id']}; its columns are {shown}")


def _record(
    store: Store,
    objects: dict[str, str | None],
    layouts: list[RecordPaths],
    old_tree: str | None,
    new_tree: str | None,
) -> tuple[ChangeIndex, SheetFiles] | None:
    """The commit's change record and its changed rows, if it wrote them between exactly
    these two folder trees; else None, and the caller reads the rows file itself."""
    for paths in layouts:
        record, rows = objects.get(paths.record), objects.get(paths.rows)
        if record and rows:
            index = parse_changes(store.blob(record), paths.record)
            if (index.old_tree, index.new_tree) == (old_tree, new_tree):
                changed = SheetFiles({"layout": paths.layout}, store.blob(rows), where=paths.rows)
                return index, changed
    return None


def _version(
    commit: str,
    time: dt.datetime,
    old: Row | None,
    new: Row | None,
    columns: list[str],
    column: str | None,
) -> Version | None:
    if old is None and new is None:
        return None
    if old is None:
        return Version(commit, time, "added", [], new)
    if new is None:
        return Version(commit, time, "removed", [], old)
    if not columns or (column is not None and column not in columns):
        return None
    return Version(commit, time, "changed", columns, new)


def _changed_columns(old: Row, new: Row, ignored: frozenset[str]) -> list[str]:
    """For commits without a change record: the columns whose value or formula differ."""
    values = differing(data_of(old, ignored), data_of(new, ignored))
    formulas = differing(old.formulas, new.formulas)
    return sorted({*values, *(title for title in formulas if title not in ignored)})


def _row_of(store: Store, tree: str | None, key: str) -> Row | None:
    """The row in a snapshot folder (None where the folder is gone)."""
    return store.sheet_files(tree).row(key) if tree else None


def _only_sheet(store: Store, tip: str, sheet: str | None) -> str:
    ids = sorted(store.sheet_trees(tip))
    if sheet is not None:
        return _selected(ids, sheet)[0]
    if len(ids) != 1:
        raise UsageError(f"the snapshots hold {len(ids)} sheets; name one with --sheet")
    return ids[0]
