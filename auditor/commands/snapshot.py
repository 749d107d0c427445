"""`auditor snapshot`: record every source in one commit on the snapshots branch.

All sources are read and encoded before anything is written, and the branch moves in a
single compare-and-swap at the end, so a failing source leaves the branch as it was. A
writer that loses the race to another re-makes its commit on the new tip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from auditor.audit.evaluate import (
    open_counts,
    pending_violations,
    violations_file,
    violations_path,
)
from auditor.audit.settings import Settings
from auditor.audit.weeks import WEEKS_FOLDER, week_files, weeks_folder
from auditor.commands.diff import rejoined
from auditor.commands.read import FileSource, Read, read_sources
from auditor.config import Config
from auditor.diff.compute import diff_sheet
from auditor.diff.index import changed_rows_file, changes_file, record_paths
from auditor.diff.model import SheetDiff
from auditor.errors import GitError, SourceError, UsageError
from auditor.snapshot import canonical
from auditor.snapshot.canonical import ROWS_FILE, SHEET_FILE, SUMMARY_FILE, SheetFiles
from auditor.snapshot.model import Sheet
from auditor.sources.discover import origin_text
from auditor.store.gitstore import Store, check_folder_name, folder_id
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


@dataclass(frozen=True)
class _Audited:
    """A sheet's stored violations file and its open violations by rule (for the trailers)."""

    file: bytes
    open: tuple[tuple[str, int], ...]


@dataclass
class _Attempt:
    """One attempt at a commit: what was compared against the tip read, and what was written."""

    parent: str | None
    old_trees: dict[str, str]
    encoded: list[_Encoded]
    diffs: list[SheetDiff]
    changed: set[str]
    left: dict[str, str]
    origins: dict[str, str]
    new_trees: dict[str, str] = field(default_factory=dict)
    audited: dict[str, _Audited] = field(default_factory=dict)
    weeks: dict[str, bytes | str] = field(default_factory=dict)

    @property
    def folders(self) -> dict[str, str]:
        """Every sheet's folder in the new commit: read, carried, and not those that left."""
        folders = {**self.old_trees, **self.new_trees}
        return {key: tree for key, tree in folders.items() if key not in self.left}


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
    origins: dict[str, str] | None = None,
    left: dict[str, str] | None = None,
    before_update: Callable[[int], None] | None = None,
) -> SnapshotResult:
    """Commit `sheets` to the branch unless their data equals the tip's. `before_update`
    gets the attempt number between making the commit and moving the branch (tests lose a
    race with it). With `settings`, the new snapshot's open violations go into the trailers.
    A read that removes most of a sheet's rows, or of the audited sheets, is refused unless
    `allow_mass_removal`. `origins`: why each sheet is audited (`folder:12`; default
    `listed`); `left`: the sheets on the branch that leave the audit, and why."""
    origins = origins or {}
    ids = _checked_ids(sheets)
    fetched_at = (fetched_at or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    encoded = [_encode(sheet, money_columns) for sheet in sheets]
    ignored = frozenset(ignored_columns)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        expected = store.local_tip()
        parent = store.tip()
        trees = store.sheet_trees(parent)
        _check_case_collisions(ids, trees)
        diffs, changed, earlier = _compare(store, parent, encoded, trees, ignored, origins)
        if not allow_mass_removal:
            _check_removals(store, diffs, {**earlier, **trees})
        leaving = {key: why for key, why in (left or {}).items() if key in trees}
        if not allow_mass_removal:
            _check_leaving(leaving, trees, origins, [s for s in ids if s not in trees])
        diffs += _leaving_diffs(store, leaving, trees)
        changed |= leaving.keys()
        if not changed:
            return SnapshotResult(None, parent, diffs)
        work = _Attempt(parent, trees, encoded, diffs, changed, leaving, origins)
        # Compressing a 15 MB rows.json releases the GIL: it overlaps with the rules.
        with ThreadPoolExecutor(max_workers=1) as writer:
            written = {
                item.sheet.sheet_id: writer.submit(store.write_folder, item.files)
                for item in encoded
                if item.sheet.sheet_id in changed
            }
            work.audited = _audit(store, parent, encoded, fetched_at, settings, leaving)
            work.weeks = _weeks(store, work, settings)
            work.new_trees = {key: future.result() for key, future in written.items()}
        commit = _commit(store, work, fetched_at, author, run_url)
        if before_update:
            before_update(attempt)
        if store.compare_and_swap(commit, expected):
            store.pack()
            return SnapshotResult(commit, parent, diffs)
    raise _gave_up(store)


def _checked_ids(sheets: list[Sheet]) -> list[str]:
    ids = [sheet.sheet_id for sheet in sheets]
    for sheet_id in ids:
        check_folder_name(sheet_id)
    if len(set(ids)) != len(ids):
        raise UsageError(f"two sources share a snapshot folder: {sorted(ids)}; give each an --id")
    return ids


def _leaving_diffs(store: Store, leaving: dict[str, str], trees: dict[str, str]) -> list[SheetDiff]:
    """A diff for each sheet leaving the audit: no rows listed, what it held and why."""
    return [
        replace(diff_sheet(sheet_id, store.sheet_files(trees[sheet_id]), None), reason=why)
        for sheet_id, why in sorted(leaving.items())
    ]


def _gave_up(store: Store) -> GitError:
    lock = store.lock_file()
    if lock is not None:
        return GitError(
            f"branch {store.branch!r} stayed locked by {lock} through {MAX_ATTEMPTS} attempts; "
            "if no other auditor or git is running, a killed one left it: delete it"
        )
    return GitError(
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


def _check_leaving(
    leaving: dict[str, str], trees: dict[str, str], origins: dict[str, str], joining: list[str]
) -> None:
    """Most of a run's sheets leaving at once is more often a listing gone wrong (a folder
    moved, a token that lost a share) than the business: refused, as a mass row removal.
    Only the sheets this run answers for count (another job's do not), and those joining
    in the same read (a year's sheet archived as the next one starts)."""
    if not leaving:
        return
    audited = len(trees.keys() & origins.keys() | leaving.keys())
    if len(leaving) * 2 > audited + len(joining):
        sheet_id, why = next(iter(sorted(leaving.items())))
        more = f" and {len(leaving) - 1} more" if len(leaving) > 1 else ""
        raise SourceError(
            f"sheet {sheet_id}: {one_line(why, NAME_SHOWN)}{more}; this read would take "
            f"{len(leaving)} of the {audited} sheets it audits out of the audit, and a read "
            "that loses more than half of them is not recorded. If they really left, run "
            "again with --allow-mass-removal; if another job audits them, give each job "
            "folders of its own"
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
    read: Read,
    fetched_at: dt.datetime | None = None,
    allow_mass_removal: bool = False,
) -> SnapshotResult:
    """`take_snapshot` of what was read, with the configured columns, author and run URL;
    with no sheet read and none leaving (every version unchanged), no commit and no work."""
    if not read.sheets and not read.left:
        return SnapshotResult(None, store.tip(), [])
    result = take_snapshot(
        store,
        read.sheets,
        origins=read.origins,
        left=read.left,
        money_columns=config.money_columns,
        ignored_columns=config.ignored_columns,
        author=(config.author_name, config.author_email),
        fetched_at=fetched_at,
        run_url=config.run_url,
        settings=settings,
        allow_mass_removal=allow_mass_removal,
    )
    seen = {key: version for key, version in read.versions.items() if version is not None}
    if result.commit is None and result.parent is not None and seen:
        author = (config.author_name, config.author_email)
        now = fetched_at or dt.datetime.now(dt.UTC)
        store.note_versions(store.sheet_trees(result.parent), seen, author, now)
    return result


def snapshot_sources(
    store: Store,
    config: Config,
    settings: Settings,
    *,
    sheet_ids: list[str] | None = None,
    file: FileSource | None = None,
    fetched_at: dt.datetime | None = None,
    allow_mass_removal: bool = False,
) -> tuple[Read, SnapshotResult]:
    """`auditor snapshot`: the given sheets (by default the configured ones and those the
    configured folders and workspaces hold, unless a file is given) and the file, in one
    commit."""
    searching = config.sheets or config.folders or config.workspaces
    if not sheet_ids and file is None and not searching:
        raise UsageError(
            "nothing to snapshot: give --sheet ID, set SOURCE_SHEET_ID or SOURCE_FOLDER_ID, "
            "or --file PATH --key COLUMN"
        )
    check_fetch_time(store, fetched_at)
    read, _ = read_sources(store, config, sheet_ids, file)
    result = snapshot_with(store, config, settings, read, fetched_at, allow_mass_removal)
    return read, result


def _encode(sheet: Sheet, money_columns: tuple[str, ...]) -> _Encoded:
    files = {
        SHEET_FILE: canonical.sheet_json(sheet),
        ROWS_FILE: canonical.rows_json(sheet.rows),
        SUMMARY_FILE: canonical.summary_json(sheet.rows, money_columns),
    }
    return _Encoded(sheet, files, folder_id(files), canonical.load(files[SHEET_FILE]))


def _compare(
    store: Store,
    parent: str | None,
    encoded: list[_Encoded],
    trees: dict[str, str],
    ignored: frozenset[str],
    origins: dict[str, str],
) -> tuple[list[SheetDiff], set[str], dict[str, str]]:
    """Each read sheet's diff against the tip; the ids to commit; and the earlier folders
    of sheets that come back to the audit, which they are compared with."""
    diffs: list[SheetDiff] = []
    changed: set[str] = set()
    earlier: dict[str, str] = {}
    for item in encoded:
        sheet_id = item.sheet.sheet_id
        old_tree = trees.get(sheet_id)
        last = store.last_snapshot(parent, sheet_id) if old_tree is None and parent else None
        if last is not None:
            old_tree = earlier[sheet_id] = last[1]
            changed.add(sheet_id)
        if old_tree == item.tree and sheet_id not in earlier:
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
        origin = origin_text(origins.get(sheet_id, "listed"))
        if old is None:
            diff.reason = origin
        elif last is not None:
            diff.status, diff.reason = "changed", rejoined(origin)
            diff.compared_with = last[0]
        diffs.append(diff)
        if old is None or diff.changed or old.meta != item.meta:
            changed.add(sheet_id)
    return diffs, changed, earlier


def _commit(
    store: Store,
    attempt: _Attempt,
    fetched_at: dt.datetime,
    author: tuple[str, str],
    run_url: str | None,
) -> str:
    folders = attempt.folders
    when = iso(fetched_at)
    records, names = _records(store, attempt, when)
    readme = [
        ReadmeSheet(key, names[key], record.rows, record.cells, record.last_change)
        for key, record in records.items()
    ]
    files: dict[str, bytes | str] = {"README.md": render(readme, when)}
    files |= {violations_path(key): audited.file for key, audited in attempt.audited.items()}
    files |= attempt.weeks
    for diff in attempt.diffs:
        sheet_id = diff.sheet_id
        if sheet_id in attempt.changed and sheet_id in attempt.old_trees and sheet_id in folders:
            paths = record_paths(sheet_id)[0]
            files[paths.record] = changes_file(diff, attempt.old_trees[sheet_id], folders[sheet_id])
            files[paths.rows] = changed_rows_file(diff)
    message = _message(attempt, records, fetched_at, run_url)
    return store.write_snapshot(attempt.parent, folders, files, message, author, fetched_at)


def _records(
    store: Store, attempt: _Attempt, when: str
) -> tuple[dict[str, SheetRecord], dict[str, str]]:
    """Each sheet's trailer record and name: from this read, or carried from the parent."""
    previous = sheet_records(store.info(attempt.parent).message) if attempt.parent else {}
    records: dict[str, SheetRecord] = {}
    names: dict[str, str] = {}
    diffs = {diff.sheet_id: diff for diff in attempt.diffs}
    for item in attempt.encoded:
        sheet_id = item.sheet.sheet_id
        diff = diffs[sheet_id]
        names[sheet_id] = item.sheet.name
        summary = canonical.load(item.files[SUMMARY_FILE])
        before = previous.get(sheet_id)
        audited = attempt.audited.get(sheet_id)
        records[sheet_id] = SheetRecord(
            sheet_id,
            item.sheet.version,
            summary["rows"],
            summary["cells"],
            len(diff.rows_added),
            len(diff.rows_removed),
            len(diff.cells_changed),
            when if sheet_id in attempt.changed or before is None else before.last_change,
            audited.open if audited else (),
            attempt.origins.get(sheet_id) or (before.found if before else "listed"),
        )
    folders = attempt.folders
    for sheet_id in folders.keys() - records.keys():
        names[sheet_id] = canonical.load(store.read(folders[sheet_id], SHEET_FILE))["name"]
        carried = _carried(store, folders[sheet_id], previous.get(sheet_id))
        if sheet_id in attempt.origins:  # found again, maybe elsewhere, without a new version
            carried = replace(carried, found=attempt.origins[sheet_id])
        if sheet_id in attempt.audited:
            carried = replace(carried, open=attempt.audited[sheet_id].open)
        records[sheet_id] = carried
    return records, names


def _message(
    attempt: _Attempt,
    records: dict[str, SheetRecord],
    fetched_at: dt.datetime,
    run_url: str | None,
) -> str:
    """Changed sheets first; one line per sheet, then one per change, then the trailers."""
    diffs = attempt.diffs
    ordered = sorted(diffs, key=lambda diff: diff.sheet_id not in attempt.changed)
    versions = {item.sheet.sheet_id: item.sheet.version for item in attempt.encoded}
    summaries = [summary_line(diff, versions.get(diff.sheet_id)) for diff in ordered]
    changes = [line for diff in ordered for line in change_lines(diff, len(diffs) > 1)]
    trailers = [records[key] for key in sorted(records)]
    subject = subject_line([diff for diff in ordered if diff.sheet_id in attempt.changed])
    return compose(summaries, changes, fetched_at, trailers, run_url, attempt.left, subject)


def _audit(
    store: Store,
    parent: str | None,
    encoded: list[_Encoded],
    fetched_at: dt.datetime,
    settings: Settings | None,
    leaving: dict[str, str],
) -> dict[str, _Audited]:
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
        sheet_id: _Audited(
            violations_file(sheet.violations, sheet.fingerprint, trees[sheet_id]),
            tuple(open_counts(sheet.violations, settings, fetched_at.date()).items()),
        )
        for sheet_id, sheet in found.items()
        if sheet_id not in leaving
    }


def _weeks(store: Store, attempt: _Attempt, settings: Settings | None) -> dict[str, bytes | str]:
    """Each sheet's week files (`weeks/<sheet_id>/`), by path: found from the rows of the
    sheets read and changed, carried from the parent (a tree id) for the others, whose
    rows are the parent's."""
    if settings is None:
        return {}
    files: dict[str, bytes | str] = {}
    for item in attempt.encoded:
        sheet_id = item.sheet.sheet_id
        if sheet_id in attempt.changed:
            found = week_files(item.sheet.rows, settings, item.tree)
            files |= {f"{weeks_folder(sheet_id)}/{name}": data for name, data in found.items()}
    kept = store.folder(attempt.parent, WEEKS_FOLDER) if attempt.parent else None
    for sheet_id, (_, tree) in (kept or {}).items():
        if sheet_id in attempt.old_trees and sheet_id not in attempt.changed:
            files[weeks_folder(sheet_id)] = tree
    return files


def _carried(store: Store, tree: str, previous: SheetRecord | None) -> SheetRecord:
    """The record of a sheet not read this time: same figures, no changes."""
    if previous is not None:
        return replace(previous, added=0, removed=0, changed=0)
    summary = canonical.load(store.read(tree, SUMMARY_FILE))
    sheet_id = canonical.load(store.read(tree, SHEET_FILE))["id"]
    return SheetRecord(sheet_id, None, summary["rows"], summary["cells"])


NAME_SHOWN = 120
TEXT_SHOWN = 80


def summary_line(diff: SheetDiff, version: int | None) -> str:
    """`Billing 2026 (v142): +3 rows, -1 row, 7 cells`."""
    label = one_line(diff.name, NAME_SHOWN) + (f" (v{version})" if version is not None else "")
    if diff.status == "added":
        joined = f", {diff.reason}" if diff.reason not in ("", "listed") else ""
        return f"{label}: {plural(diff.rows, 'row')} (first snapshot{joined})"
    if diff.status == "removed":
        why = one_line(diff.reason, NAME_SHOWN)
        return f"{label}: left the audit, {why} ({plural(diff.rows, 'row')} kept)"
    if diff.status == "unchanged":
        return f"{label}: unchanged"
    parts = _row_counts([diff])
    if diff.reason:  # back in the audit
        parts.insert(0, one_line(diff.reason, NAME_SHOWN))
    if diff.renamed_from is not None:
        parts.insert(0, f"renamed from {one_line(repr(diff.renamed_from), NAME_SHOWN)}")
    extras = [
        (diff.formulas_changed, "formula"),
        (diff.columns_added, "column added"),
        (diff.columns_removed, "column removed"),
        (diff.columns_renamed, "column renamed"),
    ]
    parts += [_count(len(items), noun) for items, noun in extras if items]
    return f"{label}: " + ", ".join(parts)


def subject_line(changed: list[SheetDiff]) -> str | None:
    """`3 sheets: +1 row, -1 row, 0 cells, 1 joined, 1 back, 1 left`, where more than one sheet
    changed; None for one, whose own line says it all."""
    if len(changed) < 2:
        return None
    edited = [diff for diff in changed if diff.status not in ("added", "removed")]
    parts = _row_counts(edited) if edited else []
    counts = {
        "joined": sum(diff.status == "added" for diff in changed),
        "back": sum(diff.compared_with is not None for diff in changed),
        "left": sum(diff.status == "removed" for diff in changed),
    }
    parts += [f"{count} {word}" for word, count in counts.items() if count]
    return f"{plural(len(changed), 'sheet')}: " + ", ".join(parts)


def _row_counts(diffs: list[SheetDiff]) -> list[str]:
    """`+3 rows`, `-1 row`, `7 cells`: the rows and cells the sheets' diffs changed."""
    return [
        f"+{plural(sum(len(d.rows_added) for d in diffs), 'row')}",
        f"-{plural(sum(len(d.rows_removed) for d in diffs), 'row')}",
        plural(sum(len(d.cells_changed) for d in diffs), "cell"),
    ]


def _count(count: int, noun: str) -> str:
    head, _, tail = noun.partition(" ")
    return f"{plural(count, head)} {tail}".strip()


def change_lines(diff: SheetDiff, with_name: bool) -> list[str]:
    """One line per change, for the commit message; the baseline lists none. Sheet text is
    shown inert and cut short: a commit message stays a few KB whatever a cell holds."""
    if diff.status in ("added", "removed"):
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
