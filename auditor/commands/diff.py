"""`auditor diff`: two snapshots compared, sheet by sheet."""

from __future__ import annotations

from auditor.audit.model import Violations
from auditor.audit.settings import Settings
from auditor.diff.compute import diff_sheet
from auditor.diff.model import Diff, SheetDiff, Side
from auditor.errors import UsageError
from auditor.snapshot import canonical
from auditor.snapshot.canonical import SHEET_FILE
from auditor.sources.discover import origin_text
from auditor.store.gitstore import Store
from auditor.store.message import left_sheets, sheet_records
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
    ids = select_sheets(sorted(old_trees.keys() | new_trees.keys()), sheet)
    ignored = frozenset(ignored_columns)
    sheets = []
    for sheet_id in ids:
        old_tree, new_tree = old_trees.get(sheet_id), new_trees.get(sheet_id)
        if old_tree == new_tree:
            name = canonical.load(store.read(new_tree, SHEET_FILE))["name"]
            sheets.append(SheetDiff(sheet_id, name, "unchanged"))
            continue
        earlier = store.last_snapshot(old.sha, sheet_id) if old_tree is None else None
        old_tree = old_tree or (earlier[1] if earlier else None)
        old_files = store.sheet_files(old_tree) if old_tree else None
        new_files = store.sheet_files(new_tree) if new_tree else None
        sheet = diff_sheet(sheet_id, old_files, new_files, ignored)
        if earlier and new_tree:
            sheet.status, sheet.reason = "changed", rejoined("")
            sheet.compared_with = earlier[0]
        sheets.append(sheet)
    _reasons(sheets, new.message)
    return Diff(Side(old.sha, old.time), Side(new.sha, new.time), sheets)


def _reasons(sheets: list[SheetDiff], message: str) -> None:
    """Why a sheet joined or left the audit, as the newer snapshot's trailers record it."""
    records, left = sheet_records(message), left_sheets(message)
    for sheet in sheets:
        origin = records.get(sheet.sheet_id)
        if sheet.status == "added" and origin:
            sheet.reason = origin_text(origin.found)
        elif sheet.reason and origin:
            sheet.reason = rejoined(origin_text(origin.found))
        elif sheet.status == "removed":
            sheet.reason = left.get(sheet.sheet_id, "no longer in the snapshot")


def select_sheets(ids: list[str], sheet: str | None) -> list[str]:
    """`ids`, or only `sheet` (--sheet), which must be one of them."""
    if sheet is None:
        return ids
    if sheet not in ids:
        known = ", ".join(ids) or "none"
        raise UsageError(f"no sheet {sheet!r} in these snapshots (sheets: {known})")
    return [sheet]


def rejoined(origin: str) -> str:
    """Why a sheet that had left the audit is compared with its last snapshot before."""
    found = f" ({origin})" if origin else ""
    return f"back in the audit{found}, compared with its last snapshot before it left"


def markdown_of(
    store: Store,
    settings: Settings,
    diff: Diff,
    violations: dict[str, Violations],
    limit: int,
    max_bytes: int,
) -> str:
    """`diff --format markdown`: the pair opened by its answer, the money moved in closed
    weeks and how far the billed weeks differ from their bills at the newer snapshot."""
    from auditor.audit.events import events_of, ruled
    from auditor.audit.weeks import billed_weeks
    from auditor.outputs.markdown import diff_markdown

    events = [e for s in diff.sheets for e in events_of(s, settings, diff.new.time)]
    weeks = billed_weeks(store, settings, diff.new.commit, every_request=False)
    rows = violated_rows(store, diff, violations)
    events = ruled(events, violations)
    return diff_markdown(
        diff, limit, max_bytes, violations, events, settings.config, None, weeks, rows
    )


def violated_rows(
    store: Store, diff: Diff, violations: dict[str, Violations]
) -> dict[str, dict[str, dict]]:
    """The cells of the rows that violations name and the pair did not change, from the
    newer snapshot (the older for a row gone since): their work request and week. A few
    rows are read one by one, more parse the file once."""
    from auditor.audit.evaluate import History
    from auditor.outputs.changes import violation_entries

    history = History(store, diff.new.commit)
    found: dict[str, dict[str, dict]] = {}
    for sheet in diff.sheets:
        audit = violations.get(sheet.sheet_id)
        named = {v.key for _, v in violation_entries(audit)} if audit else set()
        missing = named - sheet.old_rows.keys() - sheet.new_rows.keys()
        sides = [
            history.billed(side.commit, sheet.sheet_id)
            for side in (diff.new, diff.old)
            if history.tree(side.commit, sheet.sheet_id) is not None
        ]
        cells = {}
        for key in sorted(missing):
            row = next((r for r in (side.row(key) for side in sides) if r is not None), None)
            if row is not None:
                cells[key] = row.cells
        found[sheet.sheet_id] = cells
    return found
