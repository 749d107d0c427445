"""The record of what changed in a snapshot, stored with it in `changes/`.

`auditor history` follows one row through hundreds of snapshots. Reading that from the
rows files means reading every version of a 15 MB file (git's own `log -G` does the same:
about 40 ms a version here), so each snapshot commit also records, against its parent,
which rows were added and removed and which cells and formulas changed
(`changes/<sheet_id>/record.json`, a few KB), and the added and changed rows as they now
are (`changes/<sheet_id>/rows.json`, in the lines of `rows.json`). History reads the small
records and, where they name the row, its line in the second file. A record names the
folder trees it was made between, so a record that does not belong to its commit (a hand
edit of the branch) is recognised and not trusted.

Layout 1 kept the two files beside each other as `changes/<sheet_id>.json` and
`changes/<sheet_id>.rows.json`, which a sheet folder named `x.rows` could collide with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from auditor.diff.model import SheetDiff
from auditor.errors import DamagedSnapshot
from auditor.snapshot.canonical import load, rows_json
from auditor.snapshot.model import LAYOUT

CHANGES_FOLDER = "changes"
RECORD_FILE = "record.json"
CHANGED_ROWS_FILE = "rows.json"


@dataclass(frozen=True)
class RecordPaths:
    record: str
    rows: str
    layout: int


def record_paths(sheet_id: str) -> list[RecordPaths]:
    """Where a sheet's change records are, in each layout, newest first."""
    return [
        RecordPaths(
            f"{CHANGES_FOLDER}/{sheet_id}/{RECORD_FILE}",
            f"{CHANGES_FOLDER}/{sheet_id}/{CHANGED_ROWS_FILE}",
            LAYOUT,
        ),
        RecordPaths(
            f"{CHANGES_FOLDER}/{sheet_id}.json", f"{CHANGES_FOLDER}/{sheet_id}.rows.json", 1
        ),
    ]


@dataclass
class ChangeIndex:
    old_tree: str
    new_tree: str
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    cells: dict[str, list[str]] = field(default_factory=dict)
    formulas: dict[str, list[str]] = field(default_factory=dict)

    def touches(self, key: str) -> bool:
        return key in self.added or key in self.removed or bool(self.columns(key))

    def columns(self, key: str) -> list[str]:
        """The columns of the row whose value or formula changed."""
        return list(dict.fromkeys(self.cells.get(key, []) + self.formulas.get(key, [])))


def changed_rows_file(diff: SheetDiff) -> bytes:
    """The added and changed rows, metadata included, in the lines of `rows.json`."""
    touched = {c.key for c in (*diff.rows_added, *diff.cells_changed, *diff.formulas_changed)}
    return rows_json({key: diff.new_rows[key] for key in touched if key in diff.new_rows})


def changes_file(diff: SheetDiff, old_tree: str, new_tree: str) -> bytes:
    cells: dict[str, list[str]] = {}
    for change in diff.cells_changed:
        cells.setdefault(change.key, []).append(change.column)
    formulas: dict[str, list[str]] = {}
    for change in diff.formulas_changed:
        formulas.setdefault(change.key, []).append(change.column)
    document = {
        "from": old_tree,
        "to": new_tree,
        "added": sorted(change.key for change in diff.rows_added),
        "removed": sorted(change.key for change in diff.rows_removed),
        "cells": cells,
        "formulas": formulas,
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS) + b"\n"


def parse_changes(data: bytes, where: str) -> ChangeIndex:
    document = load(data, where)
    try:
        return ChangeIndex(
            document["from"],
            document["to"],
            set(document["added"]),
            set(document["removed"]),
            dict(document["cells"]),
            dict(document["formulas"]),
        )
    except (KeyError, TypeError) as error:
        raise DamagedSnapshot(f"{where}: not a change record ({error!r})") from None
