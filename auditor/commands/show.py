"""`auditor show`: the data of one snapshot."""

from __future__ import annotations

from auditor.commands.diff import select_sheets
from auditor.diff.model import Side
from auditor.snapshot import canonical
from auditor.snapshot.canonical import SHEET_FILE
from auditor.snapshot.model import SheetData
from auditor.store.gitstore import Store
from auditor.store.revisions import resolve


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
        for sheet_id in select_sheets(sorted(trees), sheet)
    ]
    return Side(commit.sha, commit.time), sheets
