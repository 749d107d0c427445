"""Change events: the diff, one event per change, with the billing context of its row.

Money impact is counted on the money columns only (`Units Total Price` by default): a
changed price by its difference, an added row by its price, a removed row by minus its
price. A quantity change alone has no money impact of its own; the price cell beside it
carries it when the price moved too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import Any

from auditor.audit.facts import close_time, week_of
from auditor.audit.model import SEVERITIES, Event, Violations, worst
from auditor.audit.settings import Settings
from auditor.diff.model import SheetDiff
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import to_decimal
from auditor.text import plural


def events_of(diff: SheetDiff, settings: Settings, when: dt.datetime) -> list[Event]:
    """One event per change, in the diff's order: columns, rows, cells, formulas. A sheet
    that joined or left the audit (at `when`) is one event, whatever it holds."""
    money = set(settings.config.money_columns)
    event = partial(_event, diff, settings, when)
    if diff.status == "added":
        return [event("sheet added", "", None, None, f"{plural(diff.rows, 'row')}; {diff.reason}")]
    if diff.status == "removed":
        closed = _closed_money(diff, settings, when)
        held = f"{plural(diff.rows, 'row')}; {diff.reason}"
        return [event("sheet left", "", None, held, None, -closed)]
    events = [event("column added", "", title) for title in diff.columns_added]
    events += [event("column removed", "", title) for title in diff.columns_removed]
    events += [event("column renamed", "", new, old, new) for old, new in diff.columns_renamed]
    for change in diff.rows_added:
        price = _sum(change.row, money)
        row = diff.new_rows[change.key]
        events.append(event("row added", change.key, None, None, change.row, price, row))
    for change in diff.rows_removed:
        price = _sum(change.row, money)
        impact = -price if price is not None else None
        row = diff.old_rows[change.key]
        events.append(event("row removed", change.key, None, change.row, None, impact, row))
    for cell in diff.cells_changed:
        impact = _delta(cell.old, cell.new, empty_is_zero=True) if cell.column in money else None
        row = diff.new_rows.get(cell.key) or diff.old_rows.get(cell.key)
        moved = _row_moved(diff, cell.key, money)
        events.append(
            event("cell changed", cell.key, cell.column, cell.old, cell.new, impact, row, moved)
        )
    events += [
        event(
            "formula changed",
            c.key,
            c.column,
            c.old,
            c.new,
            None,
            diff.new_rows.get(c.key),
            _row_moved(diff, c.key, money),
        )
        for c in diff.formulas_changed
    ]
    return events


def _event(
    diff: SheetDiff,
    settings: Settings,
    when: dt.datetime,
    kind: str,
    key: str,
    column: str | None,
    old: Any = None,
    new: Any = None,
    impact: Decimal | None = None,
    row: Row | None = None,
    moved: Decimal | None = None,
) -> Event:
    """`moved` is the money the change moved on its row (its price cell's change, for the
    row's other cells too), which rates it with its week (`Settings.severity`); the money
    impact itself stays on the money cells alone, so sums count it once."""
    cells = row.cells if row else {}
    config = settings.config
    week = week_of(cells, settings)
    closes = close_time(week, settings) if week else None
    closed = closes is not None and closes < when
    return Event(
        sheet_id=diff.sheet_id,
        kind=kind,
        key=key,
        column=column,
        old=old,
        new=new,
        delta=_delta(old, new),
        money_impact=impact,
        severity=settings.severity(impact if moved is None else moved, closed),
        work_request=cells.get(config.work_request_column),
        week_ending=week,
        modified_by=row.modified_by if row else None,
        modified_at=row.modified_at if row else None,
        closed=closed,
        cu=cells.get(config.cu_column),
        pole=cells.get(config.pole_column),
    )


def _row_moved(diff: SheetDiff, key: str, money: set[str]) -> Decimal | None:
    """The money a row's change moved: its money cells' sum now minus before."""
    old, new = diff.old_rows.get(key), diff.new_rows.get(key)
    before = _sum(old.cells, money) if old else None
    after = _sum(new.cells, money) if new else None
    if before is None and after is None:
        return None
    return (after or Decimal(0)) - (before or Decimal(0))


def _number(value: Any, empty_is_zero: bool = False) -> Decimal | None:
    if value is None and empty_is_zero:
        return Decimal(0)
    if isinstance(value, bool):
        return None
    return to_decimal(value)


def _delta(old: Any, new: Any, empty_is_zero: bool = False) -> Decimal | None:
    before, after = _number(old, empty_is_zero), _number(new, empty_is_zero)
    if before is None or after is None or (old is None and new is None):
        return None
    return after - before


def _closed_money(diff: SheetDiff, settings: Settings, when: dt.datetime) -> Decimal:
    """What a leaving sheet billed in weeks closed by `when`: the money that leaves the
    audit with it, and what its event's severity is rated by."""
    money = set(settings.config.money_columns)
    total = Decimal(0)
    for row in diff.old_rows.values():
        week = week_of(row.cells, settings)
        closes = close_time(week, settings) if week else None
        if closes is not None and closes <= when:
            total += _sum(row.cells, money) or 0
    return total


def _sum(cells: dict[str, Any], money: set[str]) -> Decimal | None:
    amounts = [to_decimal(cells[column]) for column in money if column in cells]
    known = [amount for amount in amounts if amount is not None]
    return sum(known, Decimal(0)) if known else None


SHEET_EVENTS = frozenset({"sheet added", "sheet left"})


def net_impact(events: list[Event]) -> Decimal:
    """Money moved by edits; a sheet joining or leaving the audit moves none (its event says
    what it held)."""
    return sum(
        (
            event.money_impact
            for event in events
            if event.money_impact is not None and event.kind not in SHEET_EVENTS
        ),
        Decimal(0),
    )


@dataclass(frozen=True)
class Moved:
    """The money the changes of a pair moved in weeks already closed (or invoiced): what a
    billing reviewer must credit or re-bill. `gross` adds the size of every move, `net`
    their sum; `work_requests` are the rows' work requests, in order of first change."""

    gross: Decimal
    net: Decimal
    work_requests: tuple[str, ...]
    changes: int


def closed_moved(events: list[Event]) -> Moved:
    """What the pair's edits moved in closed weeks (sheets joining or leaving move none)."""
    moved = [
        event
        for event in events
        if event.closed and event.money_impact and event.kind not in SHEET_EVENTS
    ]
    requests = dict.fromkeys(str(e.work_request) for e in moved if e.work_request is not None)
    return Moved(
        gross=sum((abs(event.money_impact or 0) for event in moved), Decimal(0)),
        net=sum((event.money_impact or Decimal(0) for event in moved), Decimal(0)),
        work_requests=tuple(requests),
        changes=len(moved),
    )


def ruled(events: list[Event], violations: dict[str, Violations]) -> list[Event]:
    """The events, each with the severity of the open violation it makes (same sheet, row
    and column; the worst where several), so that one finding reads the same in every
    sheet of the report, on the audit sheet and in `--fail-on`. The two can differ where
    the pair's earlier snapshot is not the week's billed baseline."""
    found: dict[tuple[str, str, str | None], str] = {}
    for sheet_id, audit in violations.items():
        for violation in (*audit.new, *audit.ongoing):
            place = (sheet_id, violation.key, violation.column)
            found[place] = worst(violation.severity, found.get(place, SEVERITIES[0]))
    return [
        replace(event, severity=found[place])
        if (place := (event.sheet_id, event.key, event.column)) in found
        else event
        for event in events
    ]
