"""What changed between two snapshots of a sheet, in the contract's terms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from auditor.snapshot.model import Row


@dataclass(frozen=True)
class RowChange:
    key: str
    row: Row


@dataclass(frozen=True)
class CellChange:
    """A cell (or, in `formulas_changed`, a cell's formula); None is an empty side."""

    key: str
    column: str
    old: Any
    new: Any


@dataclass
class SheetDiff:
    sheet_id: str
    name: str
    status: str
    rows_added: list[RowChange] = field(default_factory=list)
    rows_removed: list[RowChange] = field(default_factory=list)
    cells_changed: list[CellChange] = field(default_factory=list)
    formulas_changed: list[CellChange] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    columns_renamed: list[tuple[str, str]] = field(default_factory=list)
    old_rows: dict[str, Row] = field(default_factory=dict, repr=False)
    """The changed rows as they were (metadata included, renames applied): for events."""
    new_rows: dict[str, Row] = field(default_factory=dict, repr=False)
    rows: int = 0
    """For a sheet that joined or left the audit (status added or removed): the rows it
    held. Its rows are not listed: they are its baseline, or its history."""
    reason: str = ""
    """Why it joined (`folder 12`) or left (`deleted or no longer shared`)."""
    compared_with: str | None = None
    """For a sheet back in the audit: the snapshot it is compared with, its last before it
    left (the older side of the pair does not hold it)."""
    renamed_from: str | None = None
    """The sheet's name in the older snapshot, where it was renamed since."""

    @property
    def changed(self) -> bool:
        return self.status in ("added", "removed") or any(
            (
                self.renamed_from is not None,
                self.rows_added,
                self.rows_removed,
                self.cells_changed,
                self.formulas_changed,
                self.columns_added,
                self.columns_removed,
                self.columns_renamed,
            )
        )


@dataclass(frozen=True)
class Side:
    commit: str
    time: dt.datetime


@dataclass
class Diff:
    old: Side
    new: Side
    sheets: list[SheetDiff]

    @property
    def changed(self) -> bool:
        return any(sheet.changed for sheet in self.sheets)


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
