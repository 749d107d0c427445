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
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
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

Cells = dict[str, Any]

Check = tuple[str, str | None, str, str]
"""(rule, column, severity, message) of a violation found in one row alone."""


@dataclass(slots=True)
class Facts:
    """What the rules need of one row, found once per row object."""

    row: Row
    required: tuple[str, ...]
    checks: list[Check]
    week: dt.date | None
    line: tuple
    latest: str


@dataclass
class SheetFacts:
    """What the rules need of a whole snapshot's rows, found once per rows object."""

    rows: dict[str, Row]
    facts: dict[str, Facts]
    weeks: dict[dt.date, list[str]]
    findings: list[tuple[str, Check]]
    dated: list[tuple[str, str]]
    """(latest date text, key), latest first: rows that may hold a date far ahead."""
    duplicates: list[list[str]]


@dataclass
class Memo:
    """Facts shared by the snapshots evaluated with it.

    Rows that are byte-equal in two snapshots are parsed into one object (see
    auditor.audit.evaluate.History), so a row unchanged between the two sides of a pair is
    examined once, and a snapshot that is also the other's baseline is examined once. Entries
    keep their objects alive, so an id is never reused while cached.
    """

    facts: dict[int, Facts] = field(default_factory=dict)
    sheets: dict[int, tuple[dict[str, Row], tuple[str, ...], SheetFacts]] = field(
        default_factory=dict
    )

    def of(self, row: Row, required: tuple[str, ...], settings: Settings) -> Facts:
        facts = self.facts.get(id(row))
        if facts is None or facts.row is not row or facts.required != required:
            facts = _facts(row, required, settings)
            self.facts[id(row)] = facts
        return facts

    def sheet(
        self, rows: dict[str, Row], required: tuple[str, ...], settings: Settings
    ) -> SheetFacts:
        cached = self.sheets.get(id(rows))
        if cached is not None and cached[0] is rows and cached[1] == required:
            return cached[2]
        kept = _without_parents(rows)
        facts = {key: self.of(row, required, settings) for key, row in kept.items()}
        weeks: dict[dt.date, list[str]] = defaultdict(list)
        groups: dict[tuple, list[str]] = defaultdict(list)
        findings: list[tuple[str, Check]] = []
        dated: list[tuple[str, str]] = []
        for key, fact in facts.items():
            if fact.week is not None:
                weeks[fact.week].append(key)
            if fact.line[0] is not None:
                groups[fact.line].append(key)
            findings.extend((key, check) for check in fact.checks)
            if fact.latest:
                dated.append((fact.latest, key))
        dated.sort(reverse=True)
        duplicates = [keys for keys in groups.values() if len(keys) > 1]
        result = SheetFacts(kept, facts, dict(weeks), findings, dated, duplicates)
        self.sheets[id(rows)] = (rows, required, result)
        return result


def evaluate(
    snapshot: Snapshot, settings: Settings, baseline: Baseline, memo: Memo | None = None
) -> list[Violation]:
    memo = memo if memo is not None else Memo()
    titles = {column["title"] for column in snapshot.meta.get("columns", [])}
    required = tuple(column for column in settings.config.required_columns if column in titles)
    sheet = memo.sheet(snapshot.rows, required, settings)
    horizon = (snapshot.fetched_at + dt.timedelta(days=365)).date().isoformat()
    found = [
        Violation(snapshot.sheet_id, rule, key, column, severity, message)
        for key, (rule, column, severity, message) in sheet.findings
    ]
    for latest, key in sheet.dated:
        if latest <= horizon:
            break
        found.extend(_ahead(snapshot, key, sheet.rows[key], horizon, settings))
    found.extend(_duplicate_line(snapshot, sheet, settings))
    found.extend(_formula_overwritten(snapshot, sheet.rows))
    found.extend(_closed_period_edit(snapshot, sheet, settings, baseline, memo, required))
    return found


def _facts(row: Row, required: tuple[str, ...], settings: Settings) -> Facts:
    config = settings.config
    get = row.cells.get
    line = (
        get(config.work_request_column),
        get(config.cu_column),
        get(config.pole_column),
        get(config.week_column),
        get(config.quantity_column),
    )
    try:
        hash(line)
    except TypeError:
        line = tuple(map(_hashable, line))
    latest = ""
    for column in config.date_columns:
        value = get(column)
        if value.__class__ is str and value > latest:
            latest = value
    week = get(config.week_column)
    return Facts(
        row,
        required,
        _row_checks(row.cells, required, settings),
        _day(week) if week.__class__ is str else None,
        line,
        latest,
    )


def _ahead(
    snapshot: Snapshot, key: str, row: Row, horizon: str, settings: Settings
) -> Iterator[Violation]:
    for column in settings.config.date_columns:
        value = row.cells.get(column)
        if value.__class__ is str and value > horizon and _day(value) is not None:
            yield _v(
                snapshot,
                "invalid-date",
                key,
                column,
                "medium",
                f"{column} {value} is more than a year ahead",
            )


@lru_cache(maxsize=4096)
def _day(value: str) -> dt.date | None:
    if not ISO_DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def week_of(cells: Cells, settings: Settings) -> dt.date | None:
    value = cells.get(settings.config.week_column)
    return _day(value) if value.__class__ is str else None


def close_time(week: dt.date, settings: Settings) -> dt.datetime | None:
    """The end of the week-ending date in the configured zone, plus the grace days; None for
    a week that never closes (a placeholder such as 9999-12-31, past the calendar's end)."""
    try:
        end = dt.datetime.combine(week + dt.timedelta(days=1), dt.time(), tzinfo=settings.zone)
        return (end + dt.timedelta(days=settings.config.close_grace_days)).astimezone(dt.UTC)
    except OverflowError:
        return None


def _v(snapshot: Snapshot, rule: str, key: str, column: str | None, severity: str, message: str):
    return Violation(snapshot.sheet_id, rule, key, column, severity, message)


def _row_checks(cells: Cells, required: tuple[str, ...], settings: Settings) -> list[Check]:
    """missing-required, invalid-date (not a date), negative-amount and price-mismatch."""
    config = settings.config
    checks: list[Check] = []
    if not settings.rates and _plainly_clean(cells, required, config):
        return checks
    for column in required:
        if column not in cells:
            checks.append(("missing-required", column, "low", f"{column} is empty"))
    for column in config.date_columns:
        value = cells.get(column)
        if value is not None and (value.__class__ is not str or _day(value) is None):
            checks.append(("invalid-date", column, "medium", f"{column} {value!r} is not a date"))
    for column in config.amount_columns:
        value = cells.get(column)
        if value is None or (value.__class__ in (int, float) and value >= 0):
            continue
        if value.__class__ is str and "-" not in value and "(" not in value:
            continue
        amount = to_decimal(value)
        if amount is not None and amount < 0:
            money = settings.money_severity(amount) if column in config.money_columns else "low"
            checks.append(
                ("negative-amount", column, worst("medium", money), f"{column} is {amount}")
            )
    if settings.rates:
        checks.extend(_price_check(cells, settings))
    return checks


def _plainly_clean(cells: Cells, required: tuple[str, ...], config: Any) -> bool:
    """The common case, checked fast: required cells present, dates are dates, amounts are
    non-negative numbers."""
    for column in required:
        if column not in cells:
            return False
    for column in config.date_columns:
        value = cells.get(column)
        if value is not None and (value.__class__ is not str or _day(value) is None):
            return False
    for column in config.amount_columns:
        value = cells.get(column)
        if value is None or (value.__class__ in (int, float) and value >= 0):
            continue
        if value.__class__ is not str or "-" in value or "(" in value:
            return False
    return True


def _price_check(cells: Cells, settings: Settings) -> Iterator[Check]:
    config = settings.config
    unit = settings.rates.get(str(cells.get(config.cu_column, "")))
    quantity = to_decimal(cells.get(config.quantity_column))
    price = to_decimal(cells.get(config.price_column))
    if unit is None or quantity is None or price is None:
        return
    expected = quantity * unit
    difference = price - expected
    if abs(difference) > max(PRICE_TOLERANCE, abs(expected) * PRICE_SHARE):
        yield (
            "price-mismatch",
            config.price_column,
            settings.money_severity(difference),
            f"{config.price_column} {price} differs from {quantity} x {unit} = {expected} "
            f"by {difference}",
        )


def _duplicate_line(
    snapshot: Snapshot, sheet: SheetFacts, settings: Settings
) -> Iterator[Violation]:
    price_column = settings.config.price_column
    for keys in sheet.duplicates:
        for key in keys:
            others = ", ".join(other for other in keys if other != key)
            price = to_decimal(sheet.rows[key].cells.get(price_column))
            yield _v(
                snapshot,
                "duplicate-line",
                key,
                None,
                worst("medium", settings.money_severity(price)),
                f"same work request, CU, pole, week and quantity as row(s) {others}",
            )


def _formula_overwritten(snapshot: Snapshot, rows: dict[str, Row]) -> Iterator[Violation]:
    column_formulas = {
        column["title"] for column in snapshot.meta.get("columns", []) if column.get("formula")
    }
    with_formula: dict[str, int] = defaultdict(int)
    for row in rows.values():
        for column in row.formulas:
            with_formula[column] += 1
    for column in column_formulas | set(with_formula):
        by_column = column in column_formulas
        filled = sum(1 for row in rows.values() if column in row.cells)
        others = filled - 1
        if not by_column and not (others and with_formula[column] / others >= FORMULA_SHARE):
            continue
        why = (
            "a column formula"
            if by_column
            else f"{with_formula[column]} of {others} other cells hold formulas"
        )
        for key, row in rows.items():
            if column in row.cells and column not in row.formulas:
                yield _v(
                    snapshot,
                    "formula-overwritten",
                    key,
                    column,
                    "medium",
                    f"constant {row.cells[column]!r} in {column}, where {why}",
                )


def _closed_period_edit(
    snapshot: Snapshot,
    sheet: SheetFacts,
    settings: Settings,
    baseline: Baseline,
    memo: Memo,
    required: tuple[str, ...],
) -> Iterator[Violation]:
    bases: dict[int, tuple[SheetFacts, set[dt.date]]] = {}

    def assign(week: dt.date) -> None:
        """Put a closed week under the baseline it was billed from."""
        close = close_time(week, settings)
        if close is None or close >= snapshot.fetched_at:
            return
        base = baseline(close)
        if base is None:
            return
        if id(base) not in bases:
            bases[id(base)] = (memo.sheet(base, required, settings), set())
        bases[id(base)][1].add(week)

    for week in sorted(sheet.weeks):
        assign(week)
    for base, _ in list(bases.values()):
        for week in set(base.weeks) - set(sheet.weeks):
            assign(week)
    for base, base_weeks in bases.values():
        for week in sorted(base_weeks):
            keys = sheet.weeks.get(week, [])
            yield from _week_edits(snapshot, sheet.rows, base.rows, week, keys, settings)
        yield from _removed(snapshot, sheet.facts, base.facts, base_weeks, settings)


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
        if before is row:
            continue
        if before is None:
            price = to_decimal(row.cells.get(config.price_column))
            yield _v(
                snapshot,
                "closed-period-edit",
                key,
                None,
                worst("medium", settings.money_severity(price)),
                f"row added after week ending {week} was closed",
            )
            continue
        impact = None
        for column in config.tracked_columns:
            old, new = before.cells.get(column), row.cells.get(column)
            if old != new or type(old) is not type(new):
                impact = impact if impact is not None else _impact(before, row, config.price_column)
                yield _v(
                    snapshot,
                    "closed-period-edit",
                    key,
                    column,
                    worst("medium", settings.money_severity(impact)),
                    f"{column} is {new!r}, billed as {old!r} in the closed week ending {week}",
                )


def _removed(
    snapshot: Snapshot,
    facts: dict[str, Facts],
    base: dict[str, Facts],
    weeks: set[dt.date],
    settings: Settings,
) -> Iterator[Violation]:
    config = settings.config
    for key, before in base.items():
        now = facts.get(key)
        if (
            now is before
            or before.week not in weeks
            or (now is not None and now.week == before.week)
        ):
            continue
        price = to_decimal(before.row.cells.get(config.price_column))
        if now is None:
            message = f"row billed in the closed week ending {before.week} was removed"
            column = None
        else:
            message = f"row moved out of the closed week ending {before.week}"
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
    old, new = to_decimal(before.cells.get(column)), to_decimal(after.cells.get(column))
    if old is None or new is None:
        return new if old is None else -old if new is None else None
    return new - old


def _without_parents(rows: dict[str, Row]) -> dict[str, Row]:
    """Rules skip parent rows (rows that have children) of hierarchical sheets."""
    parents = {row.parent for row in rows.values() if row.parent is not None}
    if not parents:
        return rows
    return {key: row for key, row in rows.items() if row.id not in parents}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
