"""A diff flattened into one entry per change, in the contract's order.

Every human rendering (terminal table, markdown) lists changes the same way, so they
share this flattening and only differ in how they print an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from auditor.audit.events import closed_moved
from auditor.audit.model import Event, Violation, Violations
from auditor.audit.weeks import BilledWeeks
from auditor.config import Config
from auditor.diff.model import SheetDiff
from auditor.snapshot.normalize import to_decimal
from auditor.text import money, plural, shorten


@dataclass(frozen=True)
class Entry:
    kind: str
    key: str
    column: str
    old: Any
    new: Any


def entries(diff: SheetDiff) -> Iterator[Entry]:
    for title in diff.columns_added:
        yield Entry("column added", "", title, None, None)
    for title in diff.columns_removed:
        yield Entry("column removed", "", title, None, None)
    for old, new in diff.columns_renamed:
        yield Entry("column renamed", "", new, old, new)
    for change in diff.rows_added:
        yield Entry("row added", change.key, "", None, change.row)
    for change in diff.rows_removed:
        yield Entry("row removed", change.key, "", change.row, None)
    for cell in diff.cells_changed:
        yield Entry("cell", cell.key, cell.column, cell.old, cell.new)
    for cell in diff.formulas_changed:
        yield Entry("formula", cell.key, cell.column, cell.old, cell.new)


def count(diff: SheetDiff) -> int:
    return (
        len(diff.columns_added)
        + len(diff.columns_removed)
        + len(diff.columns_renamed)
        + len(diff.rows_added)
        + len(diff.rows_removed)
        + len(diff.cells_changed)
        + len(diff.formulas_changed)
    )


def headline(diff: SheetDiff) -> str:
    """`+3 rows, -1 row, 7 cells changed` and whatever else changed."""
    if diff.status == "unchanged":
        return "unchanged"
    if diff.status == "added":
        return f"joined the audit ({diff.reason}) with {plural(diff.rows, 'row')}, its baseline"
    if diff.status == "removed":
        return (
            f"left the audit ({diff.reason}) with {plural(diff.rows, 'row')}; its history "
            "stays on the branch"
        )
    parts = [
        f"+{plural(len(diff.rows_added), 'row')}",
        f"-{plural(len(diff.rows_removed), 'row')}",
        f"{plural(len(diff.cells_changed), 'cell')} changed",
    ]
    if diff.reason:  # a sheet back in the audit
        parts.insert(0, diff.reason)
    if diff.renamed_from is not None:
        parts.insert(0, f"renamed from {shorten(repr(diff.renamed_from), ROW_TEXT)}")
    if diff.formulas_changed:
        parts.append(f"{plural(len(diff.formulas_changed), 'formula')} changed")
    schema = len(diff.columns_added) + len(diff.columns_removed) + len(diff.columns_renamed)
    if schema:
        parts.append(f"{plural(schema, 'column change')}")
    return ", ".join(parts)


ROW_TEXT = 80


def shown(value: Any, limit: int = ROW_TEXT) -> str:
    """A value as a person reads it: text bare, lists as JSON, rows as a `col=value` list
    cut at `limit` characters.

    A whole row does not fit a table cell; the JSON output has it in full.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        text = ", ".join(f"{title}={shown(cell)}" for title, cell in value.items())
        return text if len(text) <= limit else text[: limit - 1] + "…"
    return orjson.dumps(value).decode()


def billing_line(row: dict[str, Any], config: Config) -> str:
    """`WR-240120 · P40-2 x4 · $7,400.00`: an added or removed row as the line it bills
    (work request, CU and quantity, price), the parts it lacks left out."""
    cu, quantity = row.get(config.cu_column), row.get(config.quantity_column)
    unit = " x".join(shown(part) for part in (cu, quantity) if part is not None)
    prices = [to_decimal(row.get(column)) for column in config.money_columns]
    price = (
        sum((p for p in prices if p is not None), Decimal(0))
        if any(p is not None for p in prices)
        else None
    )
    parts = [
        shown(row.get(config.work_request_column)),
        unit,
        money(price) if price is not None else "",
    ]
    return " · ".join(part for part in parts if part)


def value_text(value: Any, column: str, config: Config) -> str:
    """A cell as the tables show it: money as `$1,234.56`, a whole row as its billing line."""
    if isinstance(value, dict):
        return billing_line(value, config)
    amount = to_decimal(value) if column in config.money_columns else None
    return money(amount) if amount is not None else shown(value)


def answer(
    events: list[Event], code: Callable[[str], str] = str, weeks: BilledWeeks | None = None
) -> str:
    """The pair in one line, what a billing reviewer asks first: the money its changes moved
    in weeks already closed (or invoiced), gross and net, and on which work requests (each
    through `code`, escaped in markdown); then, with `weeks`, how far the weeks closed or
    invoiced now differ from what was billed. The markdown opens with it, the Summary
    leads with it."""
    moved = closed_moved(events)
    if not moved.changes:
        text = "No money moved in closed weeks."
    else:
        requests = ", ".join(code(request) for request in moved.work_requests)
        text = (
            f"{money(moved.gross)} moved in closed weeks (net {money(moved.net)}) by "
            f"{plural(moved.changes, 'change')} on {requests or 'no work request'}."
        )
    return f"{text} {billed_text(weeks)}" if weeks is not None else text


def billed_text(weeks: BilledWeeks) -> str:
    """`$3,021.35 moved in 3 billed weeks (1 invoiced, 2 closed; 4 work requests) since
    they were billed.`: the weeks whose money differs from their bill now, counted as
    `auditor weeks` counts them, whatever pair is shown."""
    moved = weeks.moved
    if not moved:
        return "Every closed or invoiced week holds the money billed."
    invoiced = sum(week.baseline.kind == "invoice" for week in moved)
    kinds = f"{invoiced} invoiced, {len(moved) - invoiced} closed"
    requests = plural(len(weeks.moved_requests), "work request")
    return (
        f"{money(weeks.delta)} moved in {plural(len(moved), 'billed week')} ({kinds}; "
        f"{requests}) since they were billed."
    )


def violation_entries(audit: Violations) -> list[tuple[str, Violation]]:
    """New first, then resolved, waived and ongoing: what a reviewer acts on comes first."""
    return [
        (status, violation)
        for status in ("new", "resolved", "waived", "ongoing")
        for violation in getattr(audit, status)
    ]
