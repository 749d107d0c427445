"""`auditor history`: every snapshot in which a row, or one cell of it, changed."""

from __future__ import annotations

import datetime as dt

from auditor.commands.diff import select_sheets
from auditor.diff.compute import differing
from auditor.diff.index import ChangeIndex, RecordPaths, parse_changes, record_paths
from auditor.diff.model import RowHistory, Version
from auditor.errors import UsageError
from auditor.snapshot import canonical
from auditor.snapshot.canonical import ROWS_FILE, SHEET_FILE, SheetFiles, data_of
from auditor.snapshot.model import Row
from auditor.store.gitstore import SNAPSHOTS, Store
from auditor.store.revisions import resolve


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
        return select_sheets(ids, sheet)[0]
    if len(ids) != 1:
        raise UsageError(f"the snapshots hold {len(ids)} sheets; name one with --sheet")
    return ids[0]
