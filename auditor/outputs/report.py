"""What a report of a pair shows, gathered once: the workbook and the audit sheet both
render it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from auditor.audit.attribution import Attribution
from auditor.audit.model import Event, Violations
from auditor.audit.settings import Settings
from auditor.audit.weeks import BilledWeeks, WeekShift
from auditor.diff.model import Diff


@dataclass(frozen=True)
class TrendPoint:
    commit: str
    time: dt.datetime
    rows: int
    billed: Decimal | None
    changes: int
    open_violations: int


@dataclass(frozen=True)
class SheetVersions:
    sheet_id: str
    name: str
    old: int | None
    new: int | None


@dataclass
class Report:
    diff: Diff
    violations: dict[str, Violations]
    events: list[Event]
    sheets: list[SheetVersions]
    trend: list[TrendPoint]
    settings: Settings
    attribution: Attribution | None = None
    violated_rows: dict[str, dict[str, dict]] = field(default_factory=dict)
    """Per sheet, the cells of the rows violations name that the pair did not change."""
    weeks: BilledWeeks | None = None
    """The weeks closed or invoiced at the newer snapshot, billed against it."""
    week_shifts: list[WeekShift] = field(default_factory=list)
    """The weeks whose billed difference changed in the pair."""
