"""`auditor snapshot`: record every source in one commit on the snapshots branch.

All sources are read and encoded before anything is written, and the branch moves in a
single compare-and-swap at the end, so a failing source leaves the branch as it was. A
writer that loses the race to another re-makes its commit on the new tip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from auditor.audit.evaluate import (
    VIOLATIONS_FOLDER,
    open_counts,
    pending_violations,
    violations_file,
)
from auditor.audit.settings import Settings
from auditor.config import Config
from auditor.diff.compute import diff_sheet
from auditor.diff.index import (
    CHANGED_ROWS_FILE,
    CHANGES_FOLDER,
    RECORD_FILE,
    changed_rows_file,
    changes_file,
)
from auditor.diff.model import SheetDiff
from auditor.errors import GitError, SourceError, UsageError
from auditor.smartsheet_client import SmartsheetApi
from auditor.snapshot import canonical
from auditor.snapshot.canonical import ROWS_FILE, SHEET_FILE, SUMMARY_FILE, SheetFiles
from auditor.snapshot.model import Sheet
from auditor.sources.api import read_sheet
from auditor.sources.smartsheet_rows import sheet_from_api
from auditor.store.gitstore import (
    BLOB_MODE,
    SNAPSHOTS,
    TREE_MODE,
    Store,
    check_folder_name,
    object_id,
    tree_bytes,
)
from auditor.store.message import SheetRecord, compose, sheet_records
from auditor.store.readme import ReadmeSheet, render
from auditor.text import iso, one_line, plural

MAX_ATTEMPTS = 20


@dataclass
class SnapshotResult:
    commit: str | None
    parent: str | None
    diffs: list[SheetDiff]

    @property
    def baseline(self) -> bool:
        return self.commit is not None and self.parent is None


@dataclass
class _Encoded:
    sheet: Sheet
    files: dict[str, bytes]
    tree: str
    meta: dict

    def as_files(self) -> SheetFiles:
        return SheetFiles(self.meta, self.files[ROWS_FILE], self.sheet.rows)


def take_snapshot(
    store: Store,
    sheets: list[Sheet],
    *,
    money_columns: tuple[str, ...] = (),
    ignored_columns: tuple[str, ...] = (),
    author: tuple[str, str],
    fetched_at: dt.datetime | None = None,
    run_url: str | None = None,
    settings: Settings | None = None,
    allow_mass_removal: bool = False,
    before_update: Callable[[int], None] | None = None,
) -> SnapshotResult:
    """Commit `sheets` to the branch unless their data equals the tip's.

    `before_update` is called with the attempt number between making the commit and
    moving the branch; tests use it to lose a race on purpose. With `settings`, the rules
    are evaluated on the new snapshot and its open violations go into the trailers. A read
    that removes more than half of a sheet's rows is refused unless `allow_mass_removal`.
    """
    ids = [sheet.sheet_id for sheet in sheets]
    for sheet_id in ids:
        check_folder_name(sheet_id)
    if len(set(ids)) != len(ids):
        raise UsageError(f"two sources share a snapshot folder: {sorted(ids)}; give each an --id")
    fetched_at = (fetched_at or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    encoded = [_encode(sheet, money_columns) for sheet in sheets]
    ignored = frozenset(ignored_columns)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        expected = store.local_tip()
        parent = store.tip()
        trees = store.sheet_trees(parent)
        _check_case_collisions(ids, trees)
        diffs, changed = _compare(store, encoded, trees, ignored)
        if not allow_mass_removal:
            _check_removals(store, diffs, trees)
        if not changed:
            return SnapshotResult(None, parent, diffs)
        records = sheet_records(store.info(parent).message) if parent else {}
        # Compressing a 15 MB rows.json releases the GIL: it overlaps with the rules.
        with ThreadPoolExecutor(max_workers=1) as writer:
            written = {
                item.sheet.sheet_id: writer.submit(_write_folder, store, item)
                for item in encoded
                if item.sheet.sheet_id in changed
            }
            violations = _audit(store, parent, encoded, fetched_at, settings)
            folders = {sheet_id: future.result() for sheet_id, future in written.items()}
        commit = _commit(
            store,
            parent,
            trees,
            {**trees, **folders},
            encoded,
            changed,
            diffs,
            records,
            violations,
            fetched_at,
            author,
            run_url,
        )
        if before_update:
            before_update(attempt)
        if store.compare_and_swap(commit, expected):
            store.pack()
            return SnapshotResult(commit, parent, diffs)
    lock = store.lock_file()
    if lock is not None:
        raise GitError(
            f"branch {store.branch!r} stayed locked by {lock} through {MAX_ATTEMPTS} attempts; "
            "if no other auditor or git is running, a killed one left it: delete it"
        )
    raise GitError(
        f"branch {store.branch!r} kept moving under {MAX_ATTEMPTS} attempts to commit; try again"
    )


def _key(key: object) -> str:
    return (
        "row id"
        if key == "_id"
        else ", ".join(map(repr, key))
        if isinstance(key, list)
        else repr(key)
    )


def _check_removals(store: Store, diffs: list[SheetDiff], trees: dict[str, str]) -> None:
    """A read that suddenly loses most of a sheet is more often a truncated export, a CSV
    with only its header or a filtered view than a mass deletion: refused, not recorded."""
    for diff in diffs:
        if not diff.rows_removed:
            continue
        before = len(store.sheet_files(trees[diff.sheet_id]).lines)
        removed = len(diff.rows_removed)
        if removed * 2 > before:
            raise SourceError(
                f"{one_line(diff.name, NAME_SHOWN)} ({diff.sheet_id}): this read would remove "
                f"{removed:,} of the sheet's {before:,} rows; a read that loses more than half "
                "of a sheet (a cut export, a filter, a header-only file) is not recorded. If "
                "the rows really were deleted, run again with --allow-mass-removal"
            )


def _check_case_collisions(ids: list[str], trees: dict[str, str]) -> None:
    """Folders whose names differ only in case are one folder on Windows and macOS."""
    seen: dict[str, str] = {}
    for name in [*ids, *trees]:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise UsageError(
                f"snapshot folders {other!r} and {name!r} differ only in case, which a "
                "Windows or macOS checkout cannot hold; rename one with --id"
            )


def check_fetch_time(store: Store, fetched_at: dt.datetime | None) -> None:
    """A fetch time given by hand (`--fetched-at`) may not go back before the last
    snapshot's: baselines and `@DATE` find snapshots by their fetch times, in branch order."""
    tip = store.tip()
    if fetched_at is None or tip is None:
        return
    last = store.info(tip).time
    if fetched_at < last:
        raise UsageError(
            f"--fetched-at {iso(fetched_at)} is before the last snapshot's fetch time "
            f"{iso(last)}; snapshots are recorded in the order they were fetched"
        )


def snapshot_with(
    store: Store,
    config: Config,
    settings: Settings,
    sheets: list[Sheet],
    fetched_at: dt.datetime | None = None,
    allow_mass_removal: bool = False,
) -> SnapshotResult:
    """`take_snapshot` with the configured columns, author and run URL; with no sheet read
    (every version unchanged), no commit and no work."""
    if not sheets:
        return SnapshotResult(None, store.tip(), [])
    return take_snapshot(
        store,
        sheets,
        money_columns=config.money_columns,
        ignored_columns=config.ignored_columns,
        author=(config.author_name, config.author_email),
        fetched_at=fetched_at,
        run_url=config.run_url,
        settings=settings,
        allow_mass_removal=allow_mass_removal,
    )


def _encode(sheet: Sheet, money_columns: tuple[str, ...]) -> _Encoded:
    files = {
        SHEET_FILE: canonical.sheet_json(sheet),
        ROWS_FILE: canonical.rows_json(sheet.rows),
        SUMMARY_FILE: canonical.summary_json(sheet.rows, money_columns),
    }
    entries = {name: (BLOB_MODE, object_id("blob", data)) for name, data in files.items()}
    tree = object_id("tree", tree_bytes(entries))
    return _Encoded(sheet, files, tree, canonical.load(files[SHEET_FILE]))


def _compare(
    store: Store, encoded: list[_Encoded], trees: dict[str, str], ignored: frozenset[str]
) -> tuple[list[SheetDiff], set[str]]:
    diffs: list[SheetDiff] = []
    changed: set[str] = set()
    for item in encoded:
        sheet_id = item.sheet.sheet_id
        old_tree = trees.get(sheet_id)
        if old_tree == item.tree:
            diffs.append(SheetDiff(sheet_id, item.sheet.name, "unchanged"))
            continue
        old = store.sheet_files(old_tree) if old_tree else None
        if old is not None and old.meta.get("key") != item.meta["key"]:
            raise UsageError(
                f"{one_line(item.sheet.name, NAME_SHOWN)} ({sheet_id}) was keyed by "
                f"{_key(old.meta.get('key'))} and would now be keyed by {_key(item.meta['key'])}: "
                "every row would read as removed and added again; keep the key, or record the "
                "sheet under a new --id"
            )
        diff = diff_sheet(sheet_id, old, item.as_files(), ignored)
        diffs.append(diff)
        if old is None or diff.changed or old.meta != item.meta:
            changed.add(sheet_id)
    return diffs, changed


def _commit(
    store: Store,
    parent: str | None,
    old_trees: dict[str, str],
    trees: dict[str, str],
    encoded: list[_Encoded],
    changed: set[str],
    diffs: list[SheetDiff],
    records: dict[str, SheetRecord],
    violations: dict[str, tuple[bytes, tuple[tuple[str, int], ...]]],
    fetched_at: dt.datetime,
    author: tuple[str, str],
    run_url: str | None,
) -> str:
    when = iso(fetched_at)
    folders = dict(trees)
    names: dict[str, str] = {}
    new_records: dict[str, SheetRecord] = {}
    for item, diff in zip(encoded, diffs, strict=True):
        sheet_id = item.sheet.sheet_id
        names[sheet_id] = item.sheet.name
        previous = records.get(sheet_id)
        summary = canonical.load(item.files[SUMMARY_FILE])
        new_records[sheet_id] = SheetRecord(
            sheet_id,
            item.sheet.version,
            summary["rows"],
            summary["cells"],
            len(diff.rows_added),
            len(diff.rows_removed),
            len(diff.cells_changed),
            when if sheet_id in changed or previous is None else previous.last_change,
            violations[sheet_id][1] if sheet_id in violations else (),
        )
    for sheet_id in folders.keys() - new_records.keys():
        names[sheet_id] = canonical.load(store.read(folders[sheet_id], SHEET_FILE))["name"]
        carried = _carried(store, folders[sheet_id], records.get(sheet_id))
        if sheet_id in violations:
            carried = replace(carried, open=violations[sheet_id][1])
        new_records[sheet_id] = carried
    snapshots = store.write_tree({key: (TREE_MODE, tree) for key, tree in folders.items()})
    readme = [
        ReadmeSheet(key, names[key], record.rows, record.cells, record.last_change)
        for key, record in new_records.items()
    ]
    entries = {
        "README.md": (BLOB_MODE, store.write_blob(render(readme, when))),
        SNAPSHOTS: (TREE_MODE, snapshots),
    }
    if violations:
        files = {
            f"{key}.json": (BLOB_MODE, store.write_blob(v[0])) for key, v in violations.items()
        }
        entries[VIOLATIONS_FOLDER] = (TREE_MODE, store.write_tree(files))
    indexed = {}
    for diff in diffs:
        sheet_id = diff.sheet_id
        if sheet_id in changed and sheet_id in old_trees:
            record = changes_file(diff, old_trees[sheet_id], folders[sheet_id])
            rows = changed_rows_file(diff)
            files = {
                RECORD_FILE: (BLOB_MODE, store.write_blob(record)),
                CHANGED_ROWS_FILE: (BLOB_MODE, store.write_blob(rows)),
            }
            indexed[sheet_id] = (TREE_MODE, store.write_tree(files))
    if indexed:
        entries[CHANGES_FOLDER] = (TREE_MODE, store.write_tree(indexed))
    root = store.write_tree(entries)
    ordered = sorted(diffs, key=lambda diff: diff.sheet_id not in changed)
    versions = {item.sheet.sheet_id: item.sheet.version for item in encoded}
    summaries = [summary_line(diff, versions[diff.sheet_id]) for diff in ordered]
    changes = [line for diff in ordered for line in change_lines(diff, len(diffs) > 1)]
    ordered_records = [new_records[key] for key in sorted(new_records)]
    message = compose(summaries, changes, fetched_at, ordered_records, run_url)
    return store.write_commit(root, parent, message, author, fetched_at)


def _write_folder(store: Store, item: _Encoded) -> str:
    return store.write_tree(
        {name: (BLOB_MODE, store.write_blob(data)) for name, data in item.files.items()}
    )


def _audit(
    store: Store,
    parent: str | None,
    encoded: list[_Encoded],
    fetched_at: dt.datetime,
    settings: Settings | None,
) -> dict[str, tuple[bytes, tuple[tuple[str, int], ...]]]:
    """Each sheet's violations file (`audit/<sheet_id>.json`) and open counts by rule.

    Stored with the snapshot, so that `auditor diff` and `auditor report` read two small
    files instead of evaluating every row of both snapshots again.
    """
    if settings is None:
        return {}
    read = {item.sheet.sheet_id: item.as_files() for item in encoded}
    found = pending_violations(store, parent, fetched_at, read, settings)
    trees = {**store.sheet_trees(parent), **{item.sheet.sheet_id: item.tree for item in encoded}}
    return {
        sheet_id: (
            violations_file(violations, settings.fingerprint, trees[sheet_id]),
            tuple(open_counts(violations, settings, fetched_at.date()).items()),
        )
        for sheet_id, violations in found.items()
    }


def _carried(store: Store, tree: str, previous: SheetRecord | None) -> SheetRecord:
    """The record of a sheet not read this time: same figures, no changes."""
    if previous is not None:
        return SheetRecord(
            previous.sheet_id,
            previous.version,
            previous.rows,
            previous.cells,
            last_change=previous.last_change,
            open=previous.open,
        )
    summary = canonical.load(store.read(tree, SUMMARY_FILE))
    sheet_id = canonical.load(store.read(tree, SHEET_FILE))["id"]
    return SheetRecord(sheet_id, None, summary["rows"], summary["cells"])


NAME_SHOWN = 120
TEXT_SHOWN = 80


def summary_line(diff: SheetDiff, version: int | None) -> str:
    """`Billing 2026 (v142): +3 rows, -1 row, 7 cells`."""
    label = one_line(diff.name, NAME_SHOWN) + (f" (v{version})" if version is not None else "")
    if diff.status == "added":
        return f"{label}: {plural(len(diff.rows_added), 'row')} (first snapshot)"
    if diff.status == "unchanged":
        return f"{label}: unchanged"
    parts = [
        f"+{plural(len(diff.rows_added), 'row')}",
        f"-{plural(len(diff.rows_removed), 'row')}",
        plural(len(diff.cells_changed), "cell"),
    ]
    extras = [
        (diff.formulas_changed, "formula"),
        (diff.columns_added, "column added"),
        (diff.columns_removed, "column removed"),
        (diff.columns_renamed, "column renamed"),
    ]
    parts += [_count(len(items), noun) for items, noun in extras if items]
    return f"{label}: " + ", ".join(parts)


def _count(count: int, noun: str) -> str:
    head, _, tail = noun.partition(" ")
    return f"{plural(count, head)} {tail}".strip()


def change_lines(diff: SheetDiff, with_name: bool) -> list[str]:
    """One line per change, for the commit message; the baseline lists none. Sheet text is
    shown inert and cut short: a commit message stays a few KB whatever a cell holds."""
    if diff.status == "added":
        return []
    prefix = f"{one_line(diff.name, NAME_SHOWN)}: " if with_name else ""
    lines = [f"{prefix}column {_quoted(title)} added" for title in diff.columns_added]
    lines += [f"{prefix}column {_quoted(title)} removed" for title in diff.columns_removed]
    lines += [
        f"{prefix}column {_quoted(old)} renamed to {_quoted(new)}"
        for old, new in diff.columns_renamed
    ]
    lines += [f"{prefix}+ row {_shown(change.key)}" for change in diff.rows_added]
    lines += [f"{prefix}- row {_shown(change.key)}" for change in diff.rows_removed]
    lines += [
        f"{prefix}row {_shown(c.key)} {_shown(c.column)}: {_shown(c.old)} -> {_shown(c.new)}"
        for c in diff.cells_changed
    ]
    lines += [
        f"{prefix}row {_shown(c.key)} {_shown(c.column)} formula: "
        f"{_shown(c.old)} -> {_shown(c.new)}"
        for c in diff.formulas_changed
    ]
    return lines


def _quoted(title: str) -> str:
    return f"'{one_line(title, TEXT_SHOWN)}'"


def _shown(value: object) -> str:
    return "(empty)" if value is None else one_line(str(value), TEXT_SHOWN)


def read_smartsheet(
    store: Store, api: SmartsheetApi, sheet_ids: list[str], config: Config
) -> tuple[list[Sheet], list[str]]:
    """The sheets whose version moved since the last snapshot, and the ids of the others.

    A sheet whose version equals the one recorded with the tip is not read at all: the
    version check is one small request, the full read of a large sheet is 40 MB.
    """
    bad = [sheet_id for sheet_id in sheet_ids if not sheet_id.isascii() or not sheet_id.isdigit()]
    if bad:
        raise UsageError(f"sheet id {bad[0]!r} is not a number (SOURCE_SHEET_ID, --sheet)")
    # `0555` and `555` are one sheet to Smartsheet, so one folder here.
    sheet_ids = list(dict.fromkeys(str(int(sheet_id)) for sheet_id in sheet_ids))
    tip = store.tip()
    records = sheet_records(store.info(tip).message) if tip else {}
    sheets, skipped = [], []
    for sheet_id in sheet_ids:
        known = records.get(sheet_id)
        data = read_sheet(api, sheet_id, known.version if known else None)
        if data is None:
            skipped.append(sheet_id)
            continue
        sheets.append(
            sheet_from_api(
                data,
                sheet_id=sheet_id,
                key_columns=config.key_columns,
                money_columns=config.money_columns,
            )
        )
    return sheets, skipped
