"""`auditor history`: every snapshot in which a row, or one cell of it, changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson

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
from auditor.store.walks import PathCommit


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
    The records of the whole walk are read by one git call while another walks. Commits
    without a record that belongs to them (a sheet's first snapshot, snapshots taken
    before records existed, hand edits of the branch) are read from the whole rows file.
    """
    sheet_id, tip = _sheet_and_tip(store, resolve(store, "HEAD"), sheet)
    folder = f"{SNAPSHOTS}/{sheet_id}"
    rows_path = f"{folder}/{ROWS_FILE}"
    start = resolve(store, since) if since else None
    tree = store.sheet_trees(start).get(sheet_id) if start else None
    last = _row_of(store, tree, key)
    versions = []
    ignored = frozenset(ignored_columns)
    needle = orjson.dumps(key)
    for commit, records in _walk(store, tip, start, folder, record_paths(sheet_id)):
        if commit.objects[folder] is None and tree is not None:
            continue  # the sheet left the audit here: its rows were not removed
        previous, tree = tree, commit.objects[folder]
        record = next((r for r in records if r.trees == (previous, tree)), None)
        if record is not None and not record.may_name(needle):
            continue  # the record says the row did not change
        changed = record and record.changed_rows(store, commit.sha, key)
        if changed is not None:
            index, changed_rows = changed
            if not index.touches(key):
                continue
            columns = index.columns(key)
            row = changed_rows.row(key) if changed_rows else None
        else:
            if tree is not None and rows_path not in commit.objects:
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


@dataclass(frozen=True)
class _Record:
    """A commit's change record as stored, parsed whole only where it may name the row."""

    paths: RecordPaths
    text: bytes
    trees: tuple[str | None, str | None]
    """The folder trees it was made between (`from`, `to`)."""

    def may_name(self, needle: bytes) -> bool:
        """Whether the record may name the row: `needle` is its key as JSON, and a record
        without it, and without any escape that could spell it otherwise, does not."""
        return needle in self.text or b"\\" in self.text

    def changed_rows(
        self, store: Store, commit: str, key: str
    ) -> tuple[ChangeIndex, SheetFiles | None] | None:
        """The record and the row's line in its changed rows (None for a removed row, or
        where the record does not name it); None where the commit lacks the changed rows
        file, so the record is not trusted."""
        index = parse_changes(self.text, self.paths.record)
        if not index.touches(key) or key in index.removed:
            return index, None
        rows = store.read_path(commit, self.paths.rows)
        if rows is None:
            return None
        return index, SheetFiles({"layout": self.paths.layout}, rows, where=self.paths.rows)


def _walk(
    store: Store, tip: str, start: str | None, folder: str, layouts: list[RecordPaths]
) -> list[tuple[PathCommit, list[_Record]]]:
    """The commits that changed the sheet's data, each with its change records, read by
    one git call while another walks the branch."""
    commits, wanted = [], []
    with store.reader() as reader:
        for commit in store.path_log(tip, [folder, *(paths.record for paths in layouts)], start):
            if folder not in commit.objects:
                continue
            commits.append((commit, []))
            for paths in layouts:
                record = commit.objects.get(paths.record)
                if record:
                    reader.ask(record)
                    wanted.append((commits[-1][1], paths))
        texts = reader.contents()
    for (records, paths), text in zip(wanted, texts, strict=True):
        records.append(_Record(paths, text, _trees(text, paths.record)))
    return commits


def _trees(text: bytes, where: str) -> tuple[str | None, str | None]:
    """A record's `from` and `to`, read without the rest; a damaged record is refused as
    `parse_changes` refuses it."""
    try:
        document = orjson.loads(text)
        return document["from"], document["to"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        index = parse_changes(text, where)
        return index.old_tree, index.new_tree


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


def _sheet_and_tip(store: Store, tip: str, sheet: str | None) -> tuple[str, str]:
    """The sheet whose row is asked for, and the newest snapshot that holds it: for a
    sheet that left the audit, its last snapshot before it left (its history stays)."""
    ids = sorted(store.sheet_trees(tip))
    if sheet is not None and sheet not in ids:
        last = store.last_snapshot(tip, sheet)
        if last is not None:
            return sheet, last[0]
    if sheet is not None:
        return select_sheets(ids, sheet)[0], tip
    if len(ids) != 1:
        raise UsageError(f"the snapshots hold {len(ids)} sheets; name one with --sheet")
    return ids[0], tip
