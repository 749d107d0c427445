"""The billing rules: each is a condition on one snapshot (two of them with a baseline).

Rule ids are part of the contract. Severities: money rules take the money thresholds
(high over $1,000, medium over $100 by default); `closed-period-edit`, `duplicate-line` and
`negative-amount` are at least medium, `formula-overwritten` and `invalid-date` are
medium, `missing-required` is low.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from auditor.audit.model import Violation, worst
from auditor.audit.settings import Settings
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import ISO_DATE, to_decimal

RULES = (
    "closed-period-edit",
    "price-mismatch",
    "missing-required",
    "duplicate-line",
    "invalid-date",
    "negative-amount",
    "formula-overwritten",
)
FORMULA_SHARE = 0.9
PRICE_TOLERANCE = Decimal("0.02")
PRICE_SHARE = Decimal("0.005")


@dataclass
class Snapshot:
    """One sheet in one snapshot, with every row parsed (metadata included)."""

    sheet_id: str
    meta: dict[str, Any]
    rows: dict[str, Row]
    fetched_at: dt.datetime


Baseline = Callable[[dt.datetime], dict[str, Row] | None]
"""Given a week's close time, the rows of that week's billed baseline snapshot."""


def evaluate(snapshot: Snapshot, settings: Settings, baseline: Baseline) -> list[Violation]:
    parents = {row["_parent"] for row in snapshot.rows.values() if "_parent" in row}
    rows = {
        key: row
        for key, row in snapshot.rows.items()
        if row.get("_id") not in parents or not parents
    }
    found: list[Violation] = []
    for rule in (
        _missing_required,
        _invalid_date,
        _negative_amount,
        _price_mismatch,
        _duplicate_line,
        _formula_overwritten,
    ):
        found.extend(rule(snapshot, rows, settings))
    found.extend(_closed_period_edit(snapshot, rows, settings, baseline))
    return found


def week_of(row: Row, settings: Settings) -> dt.date | None:
    value = row.get(settings.config.week_column)
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def close_time(week: dt.date, settings: Settings) -> dt.datetime:
    """The end of the week-ending date in the configured zone, plus the grace days."""
    end = dt.datetime.combine(week + dt.timedelta(days=1), dt.time(), tzinfo=settings.zone)
    return (end + dt.timedelta(days=settings.config.close_grace_days)).astimezone(dt.UTC)


def _v(snapshot: Snapshot, rule: str, key: str, column: str | None, severity: str, message: str):
    return Violation(snapshot.sheet_id, rule, key, column, severity, message)


def _missing_required(
    snapshot: Snapshot, rows: dict[str, Row], settings: Settings
) -> Iterator[Violation]:
    titles = {column["title"] for column in snapshot.meta.get("columns", [])}
    required = [column for column in settings.config.required_columns if column in titles]
    for key, row in rows.items():
        for column in required:
            if column not in row:
                yield _v(snapshot, "missing-required", key, column, "low", f"{column} is empty")


def _invalid_date(
    snapshot: Snapshot, rows: dict[str, Row], settings: Settings
) -> Iterator[Violation]:
    horizon = (snapshot.fetched_at + dt.timedelta(days=365)).date().isoformat()
    columns = settings.config.date_columns
    for key, row in rows.items():
        for column in columns:
            value = row.get(column)
            if value is None:
                continue
            if not (isinstance(value, str) and ISO_DATE.fullmatch(value) and _is_date(value)):
                yield _v(
                    snapshot,
                    "invalid-date",
                    key,
                    column,
                    "medium",
                    f"{column} {value!r} is not a date",
                )
            elif value > horizon:
                yield _v(
                    snapshot,
                    "invalid-date",
                    key,
                    column,
                    "medium",
                    f"{column} {value} is more than a year ahead",
                )


def _negative_amount(
    snapshot: Snapshot, rows: dict[str, Row], settings: Settings
) -> Iterator[Violation]:
    money = set(settings.config.money_columns)
    for key, row in rows.items():
        for column in settings.config.amount_columns:
            amount = to_decimal(row.get(column)) if column in row else None
            if amount is not None and amount < 0:
                severity = worst(
                    "medium", settings.money_severity(amount if column in money else None)
                )
                yield _v(
                    snapshot, "negative-amount", key, column, severity, f"{column} is {amount}"
                )


def _price_mismatch(
    snapshot: Snapshot, rows: dict[str, Row], settings: Settings
) -> Iterator[Violation]:
    if not settings.rates:
        return
    config = settings.config
    for key, row in rows.items():
        unit = settings.rates.get(str(row.get(config.cu_column, "")))
        quantity = to_decimal(row.get(config.quantity_column))
        price = to_decimal(row.get(config.price_column))
        if unit is None or quantity is None or price is None:
            continue
        expected = quantity * unit
        difference = price - expected
        if abs(difference) > max(PRICE_TOLERANCE, abs(expected) * PRICE_SHARE):
            yield _v(
                snapshot,
                "price-mismatch",
                key,
                config.price_column,
                settings.money_severity(difference),
                f"{config.price_column} {price} differs from {quantity} x {unit} = {expected} "
                f"by {difference}",
            )


def _duplicate_line(
    snapshot: Snapshot, rows: dict[str, Row], settings: Settings
) -> Iterator[Violation]:
    config = settings.config
    identity = (
        config.work_request_column,
        config.cu_column,
        config.pole_column,
        config.week_column,
        config.quantity_column,
    )
    groups: dict[tuple, list[str]] = defaultdict(list)
    for key, row in rows.items():
        line = tuple(_hashable(row.get(column)) for column in identity)
        if line[0] is not None:
            groups[line].append(key)
    for keys in groups.values():
        if len(keys) < 2:
            continue
        for key in keys:
            others = ", ".join(other for other in keys if other != key)
            price = to_decimal(rows[key].get(config.price_column))
            yield _v(
                snapshot,
                "duplicate-line",
                key,
                None,
                worst("medium", settings.money_severity(price)),
                f"same work request, CU, pole, week and quantity as row(s) {others}",
            )


def _formula_overwritten(
    snapshot: Snapshot, rows: dict[str, Row], settings: Settings
) -> Iterator[Violation]:
    column_formulas = {
        column["title"]: column["formula"]
        for column in snapshot.meta.get("columns", [])
        if column.get("formula")
    }
    filled: dict[str, int] = defaultdict(int)
    with_formula: dict[str, int] = defaultdict(int)
    for row in rows.values():
        formulas = row.get("_formulas", {})
        for column in row:
            if column[0] != "_":
                filled[column] += 1
                with_formula[column] += column in formulas
    for column, count in filled.items():
        by_column = column in column_formulas
        if not by_column and with_formula[column] == 0:
            continue
        for key, row in rows.items():
            if column not in row or column in row.get("_formulas", {}):
                continue
            others = count - 1
            if by_column or (others and with_formula[column] / others >= FORMULA_SHARE):
                why = (
                    "a column formula"
                    if by_column
                    else f"{with_formula[column]} of {others} other cells hold formulas"
                )
                yield _v(
                    snapshot,
                    "formula-overwritten",
                    key,
                    column,
                    "medium",
                    f"constant {row[column]!r} in {column}, where {why}",
                )


def _closed_period_edit(
    snapshot: Snapshot, rows: dict[str, Row], settings: Settings, baseline: Baseline
) -> Iterator[Violation]:
    weeks: dict[dt.date, list[str]] = defaultdict(list)
    for key, row in rows.items():
        week = week_of(row, settings)
        if week is not None:
            weeks[week].append(key)
    bases: dict[int, tuple[dict[str, Row], set[dt.date]]] = {}
    for week in sorted(weeks):
        _assign(week, settings, snapshot, baseline, bases)
    for base, _ in list(bases.values()):
        for week in {week_of(row, settings) for row in base.values()} - set(weeks) - {None}:
            _assign(week, settings, snapshot, baseline, bases)
    for base, base_weeks in bases.values():
        for week in sorted(base_weeks):
            yield from _week_edits(snapshot, rows, base, week, weeks.get(week, []), settings)
        yield from _removed(snapshot, rows, base, base_weeks, settings)


def _assign(
    week: dt.date | None,
    settings: Settings,
    snapshot: Snapshot,
    baseline: Baseline,
    bases: dict[int, tuple[dict[str, Row], set[dt.date]]],
) -> None:
    """Put a closed week under the baseline it was billed from."""
    if week is None:
        return
    close = close_time(week, settings)
    if close >= snapshot.fetched_at:
        return
    base = baseline(close)
    if base is not None:
        if id(base) not in bases:
            bases[id(base)] = (_without_parents(base), set())
        bases[id(base)][1].add(week)


def _week_edits(
    snapshot: Snapshot,
    rows: dict[str, Row],
    base: dict[str, Row],
    week: dt.date,
    keys: list[str],
    settings: Settings,
) -> Iterator[Violation]:
    config = settings.config
    for key in keys:
        row, before = rows[key], base.get(key)
        if before is None:
            price = to_decimal(row.get(config.price_column))
            yield _v(
                snapshot,
                "closed-period-edit",
                key,
                None,
                worst("medium", settings.money_severity(price)),
                f"row added after week ending {week} was closed",
            )
            continue
        impact = _impact(before, row, config.price_column)
        for column in config.tracked_columns:
            if before.get(column) != row.get(column) or type(before.get(column)) is not type(
                row.get(column)
            ):
                yield _v(
                    snapshot,
                    "closed-period-edit",
                    key,
                    column,
                    worst("medium", settings.money_severity(impact)),
                    f"{column} is {row.get(column)!r}, billed as {before.get(column)!r} "
                    f"in the closed week ending {week}",
                )


def _removed(
    snapshot: Snapshot,
    rows: dict[str, Row],
    base: dict[str, Row],
    weeks: set[dt.date],
    settings: Settings,
) -> Iterator[Violation]:
    config = settings.config
    for key, before in base.items():
        week = week_of(before, settings)
        if week not in weeks or (key in rows and week_of(rows[key], settings) == week):
            continue
        price = to_decimal(before.get(config.price_column))
        if key not in rows:
            message = f"row billed in the closed week ending {week} was removed"
            column = None
        else:
            message = f"row moved out of the closed week ending {week}"
            column = config.week_column
        yield _v(
            snapshot,
            "closed-period-edit",
            key,
            column,
            worst("medium", settings.money_severity(price)),
            message,
        )


def _impact(before: Row, after: Row, column: str) -> Decimal | None:
    old, new = to_decimal(before.get(column)), to_decimal(after.get(column))
    if old is None or new is None:
        return new if old is None else -old if new is None else None
    return new - old


def _without_parents(rows: dict[str, Row]) -> dict[str, Row]:
    """Rules skip parent rows (rows that have children) of hierarchical sheets."""
    parents = {row["_parent"] for row in rows.values() if "_parent" in row}
    if not parents:
        return rows
    return {key: row for key, row in rows.items() if row.get("_id") not in parents}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
