"""The billing rules: `RULES`, one table from rule id to what it says and how it is checked.

Evaluation runs every rule of the table; the report's Guide and docs/rules.md describe
them from it. A rule checks each row alone (`row`, found once per row object and shared
between snapshots), the snapshot as a whole (`sheet`), or both. Rule ids are part of the
contract. Each violation is rated like every change (`Settings.severity`): by the money it
moves, one step higher in a closed week.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from auditor.audit.closed_period import closed_period_edit, said
from auditor.audit.facts import (
    Baseline,
    Cells,
    Check,
    Context,
    Invoiced,
    Memo,
    Since,
    Snapshot,
    day,
)
from auditor.audit.model import Violation
from auditor.audit.settings import Settings
from auditor.config import Config
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import to_decimal
from auditor.text import money

FORMULA_SHARE = 0.9
PRICE_TOLERANCE = Decimal("0.02")
PRICE_SHARE = Decimal("0.005")


RowCheck = Callable[[Cells, tuple[str, ...], Settings], Iterator[Check]]
SheetCheck = Callable[[Context], Iterator[Violation]]


@dataclass(frozen=True)
class Rule:
    id: str
    holds: str
    """When it holds; `{name}` fields are the configured columns (see `describe`)."""
    money: str
    """The money a violation moves, which with its week rates it (`Settings.severity`)."""
    action: str
    """What a billing reviewer does about it."""
    row: RowCheck | None = None
    sheet: SheetCheck | None = None

    def describe(self, config: Config, code: Callable[[str], str] = str) -> str:
        """When the rule holds, naming the configured columns, each through `code`
        (backticks in markdown)."""
        return self.holds.format(**_columns(config, code))


def _columns(config: Config, code: Callable[[str], str]) -> dict[str, str]:
    def either(titles: tuple[str, ...]) -> str:
        named = [code(title) for title in titles]
        return " or ".join(named) if len(named) < 3 else ", ".join(named[:-1]) + f" or {named[-1]}"

    return {
        "tracked": ", ".join(map(code, config.tracked_columns)),
        "required": either(config.required_columns),
        "dates": ", ".join(map(code, config.date_columns)),
        "amounts": either(config.amount_columns),
        "price": code(config.price_column),
        "quantity": code(config.quantity_column),
    }


def evaluate(
    snapshot: Snapshot,
    settings: Settings,
    baseline: Baseline,
    memo: Memo | None = None,
    since: Since | None = None,
    invoiced: Invoiced | None = None,
) -> list[Violation]:
    """Every rule of `RULES` on the snapshot. With `since` (the snapshot it was taken on,
    whose violations are stored), the closed-period rule checks only what changed;
    `invoiced` gives the weeks whose invoice marks apply, billed from the snapshots named."""
    memo = memo if memo is not None else new_memo()
    titles = {column["title"] for column in snapshot.meta.get("columns", [])}
    required = tuple(column for column in settings.config.required_columns if column in titles)
    sheet = memo.sheet(snapshot.rows, required, settings)
    context = Context(snapshot, sheet, settings, baseline, memo, required, since, invoiced)
    found = [context.found(rule, key, *rest) for key, (rule, *rest) in sheet.findings]
    for rule in RULES.values():
        if rule.sheet is not None:
            found.extend(rule.sheet(context))
    return found


def row_checks(cells: Cells, required: tuple[str, ...], settings: Settings) -> list[Check]:
    """What every row rule finds in one row."""
    return [check for rule in ROW_RULES for check in rule.row(cells, required, settings)]


def new_memo() -> Memo:
    return Memo(row_checks)


def _missing(cells: Cells, required: tuple[str, ...], settings: Settings) -> Iterator[Check]:
    for column in required:
        if column not in cells:
            yield ("missing-required", column, None, f"{column} is empty", None, None)


def _not_a_date(cells: Cells, required: tuple[str, ...], settings: Settings) -> Iterator[Check]:
    for column in settings.config.date_columns:
        value = cells.get(column)
        if value is not None and (value.__class__ is not str or day(value) is None):
            yield ("invalid-date", column, None, f"{column} {value!r} is not a date", None, None)


def _ahead(context: Context) -> Iterator[Violation]:
    """Dates more than a year after the fetch: only the rows whose latest date is that far
    ahead are looked at (`dated` is sorted latest first)."""
    snapshot, sheet = context.snapshot, context.sheet
    horizon = (snapshot.fetched_at + dt.timedelta(days=365)).date().isoformat()
    for latest, key in sheet.dated:
        if latest <= horizon:
            break
        for column in context.settings.config.date_columns:
            value = sheet.rows[key].cells.get(column)
            if value.__class__ is str and value > horizon and day(value) is not None:
                yield context.found(
                    "invalid-date", key, column, None, f"{column} {value} is more than a year ahead"
                )


def _not_a_number(cells: Cells, required: tuple[str, ...], settings: Settings) -> Iterator[Check]:
    """An amount the totals cannot count: billed weeks would sum it as nothing."""
    for column in settings.config.amount_columns:
        value = cells.get(column)
        if value is not None and value.__class__ is not int and to_decimal(value) is None:
            yield (
                "invalid-amount",
                column,
                None,
                f"{column} {value!r} is not a number; totals count it as nothing",
                None,
                None,
            )


def _negative(cells: Cells, required: tuple[str, ...], settings: Settings) -> Iterator[Check]:
    config = settings.config
    for column in config.amount_columns:
        value = cells.get(column)
        if value is None or (value.__class__ in (int, float) and value >= 0):
            continue
        if value.__class__ is str and "-" not in value and "(" not in value:
            continue
        amount = to_decimal(value)
        if amount is not None and amount < 0:
            moved = amount if column in config.money_columns else None
            yield (
                "negative-amount",
                column,
                moved,
                f"{column} is {said(settings, column, value)}",
                None,
                value,
            )


def _price(cells: Cells, required: tuple[str, ...], settings: Settings) -> Iterator[Check]:
    if not settings.rates:
        return
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
            difference,
            f"{config.price_column} {money(price)} differs from {quantity} x {money(unit)} = "
            f"{money(expected)} by {money(difference)}",
            str(expected),
            cells.get(config.price_column),
        )


def _duplicate_line(context: Context) -> Iterator[Violation]:
    sheet, settings = context.sheet, context.settings
    price_column = settings.config.price_column
    for keys in sheet.duplicates:
        for key in keys:
            others = ", ".join(other for other in keys if other != key)
            price = to_decimal(sheet.rows[key].cells.get(price_column))
            yield context.found(
                "duplicate-line",
                key,
                None,
                price,
                f"same work request, CU, pole, week and quantity as row(s) {others}",
            )


def _formula_overwritten(context: Context) -> Iterator[Violation]:
    snapshot, rows = context.snapshot, context.sheet.rows
    column_formulas = {
        column["title"] for column in snapshot.meta.get("columns", []) if column.get("formula")
    }
    with_formula: dict[str, int] = defaultdict(int)
    for row in rows.values():
        for column in row.formulas:
            with_formula[column] += 1
    for column in column_formulas | set(with_formula):
        by_column = column in column_formulas
        others = sum(1 for row in rows.values() if column in row.cells) - 1
        if not by_column and not (others and with_formula[column] / others >= FORMULA_SHARE):
            continue
        why = (
            "a column formula"
            if by_column
            else f"{with_formula[column]} of {others} other cells hold formulas"
        )
        yield from _constants(context, rows, column, why)


def _constants(
    context: Context, rows: dict[str, Row], column: str, why: str
) -> Iterator[Violation]:
    for key, row in rows.items():
        if column in row.cells and column not in row.formulas:
            message = f"constant {row.cells[column]!r} in {column}, where {why}"
            yield context.found("formula-overwritten", key, column, None, message)


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "closed-period-edit",
            "a row of a closed billing week differs in a tracked column ({tracked}) from "
            "the week's billed baseline, or was added after the week closed, or is in the "
            "baseline and now gone (or moved to another week)",
            "the row's price now minus as billed; always in a closed week",
            "credit or re-bill the difference, or restore the billed value; waive if approved",
            sheet=closed_period_edit,
        ),
        Rule(
            "price-mismatch",
            "{price} differs from {quantity} x the CU's unit price in the rate table by "
            "more than max($0.02, 0.5%); silent without a rate table",
            "the price minus quantity x unit price",
            "correct the price (or the rate table); re-bill the difference if it was invoiced",
            row=_price,
        ),
        Rule(
            "missing-required",
            "{required} is empty",
            "none",
            "fill in the cell on the sheet",
            row=_missing,
        ),
        Rule(
            "duplicate-line",
            "two or more rows share work request, CU, pole, week and quantity; one "
            "violation per row, naming the others",
            "the row's price",
            "delete the duplicate (credit it if it was invoiced), or waive if both are real",
            sheet=_duplicate_line,
        ),
        Rule(
            "invalid-date",
            "a date column ({dates}) holds something that is not a date, or a date more "
            "than a year after the fetch",
            "none",
            "correct the date on the sheet",
            row=_not_a_date,
            sheet=_ahead,
        ),
        Rule(
            "invalid-amount",
            "{amounts} holds something that is not a number (billed totals count it as nothing)",
            "none",
            "correct the number on the sheet",
            row=_not_a_number,
        ),
        Rule(
            "negative-amount",
            "{amounts} below zero",
            "the amount, where it is a money column",
            "correct the sheet, or waive an approved credit",
            row=_negative,
        ),
        Rule(
            "formula-overwritten",
            "a constant in a column that has a column formula, or where at least 90% of the "
            "column's other non-empty cells hold a formula",
            "none",
            "restore the formula on the sheet",
            sheet=_formula_overwritten,
        ),
    )
}
ROW_RULES = tuple(rule for rule in RULES.values() if rule.row is not None)
