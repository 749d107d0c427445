"""Change events: the diff, one event per change, with the billing context of its row.

Money impact is counted on the money columns only (`Units Total Price` by default): a
changed price by its difference, an added row by its price, a removed row by minus its
price. A quantity change alone has no money impact of its own; the price cell beside it
carries it when the price moved too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from auditor.audit.facts import close_time, week_of
from auditor.audit.model import Event
from auditor.audit.settings import Settings
from auditor.diff.model import SheetDiff
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import to_decimal
from auditor.text import plural


def events_of(diff: SheetDiff, settings: Settings, when: dt.datetime) -> list[Event]:
    """One event per change, in the diff's order: columns, rows, cells, formulas. A sheet
    that joined or left the audit (at `when`) is one event, whatever it holds."""
    money = set(settings.config.money_columns)
    event = partial(_event, diff, settings)
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
        events.append(event("cell changed", cell.key, cell.column, cell.old, cell.new, impact, row))
    events += [
        event("formula changed", c.key, c.column, c.old, c.new, None, diff.new_rows.get(c.key))
        for c in diff.formulas_changed
    ]
    return events


def _event(
    diff: SheetDiff,
    settings: Settings,
    kind: str,
    key: str,
    column: str | None,
    old: Any = None,
    new: Any = None,
    impact: Decimal | None = None,
    row: Row | None = None,
) -> Event:
    cells = row.cells if row else {}
    return Event(
        sheet_id=diff.sheet_id,
        kind=kind,
        key=key,
        column=column,
        old=old,
        new=new,
        delta=_delta(old, new),
        money_impact=impact,
        severity=settings.money_severity(impact),
        work_request=cells.get(settings.config.work_request_column),
        week_ending=week_of(cells, settings),
        modified_by=row.modified_by if row else None,
        modified_at=row.modified_at if row else None,
    )


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
