"""Violations and events, the audit's vocabulary."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

SEVERITIES = ("low", "medium", "high")
"""Lowest first; what each means is `Settings.severity`, the one place it is decided."""


@dataclass(frozen=True)
class Violation:
    """A rule that holds for a row (and column) of a snapshot; identity is (sheet, rule, key,
    column), so the same problem found in two snapshots is one violation."""

    sheet_id: str
    rule: str
    key: str
    column: str | None
    severity: str
    message: str
    billed: Any = field(default=None, compare=False)
    """What was billed (the closed week's baseline value, or the price on the sheet), where
    the rule compares two values; with `now`, not part of the violation's identity."""
    now: Any = field(default=None, compare=False)

    @property
    def identity(self) -> tuple[str, str, str, str | None]:
        return (self.sheet_id, self.rule, self.key, self.column)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "key": self.key,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            **({"billed": self.billed} if self.billed is not None else {}),
            **({"now": self.now} if self.now is not None else {}),
        }


@dataclass
class Violations:
    """A sheet's violations in a pair of snapshots, by status."""

    new: list[Violation]
    resolved: list[Violation]
    ongoing: list[Violation]
    waived: list[Violation]

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        return {
            status: [violation.to_json() for violation in getattr(self, status)]
            for status in ("new", "resolved", "ongoing", "waived")
        }


@dataclass(frozen=True)
class Event:
    """One change between two snapshots, with what a billing reviewer needs beside it.

    `modified_by`/`modified_at` are the row's last modifier and time (Smartsheet's row
    metadata), not necessarily the cell's, unless `attribution` is "cell": then they come
    from the cell's own history.
    """

    sheet_id: str
    kind: str
    key: str
    column: str | None
    old: Any
    new: Any
    delta: Decimal | None
    money_impact: Decimal | None
    severity: str
    work_request: Any
    week_ending: dt.date | None
    modified_by: str | None
    modified_at: str | None
    attribution: str = "row"
    closed: bool = False
    """Whether the row's week was closed (or invoiced) when the change was seen."""
    cu: Any = None
    pole: Any = None


def worst(*severities: str) -> str:
    return max(severities, key=SEVERITIES.index)
