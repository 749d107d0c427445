"""`closed-period-edit`: a row of a closed billing week that differs from what was billed.

A week's billed baseline is the snapshot its invoice mark names, or else the snapshot
current when the calendar closed the week (see `Context.billed`). Found whole, the
rule compares every closed week of the sheet with its baseline: on a branch of years that
is a hundred baselines read and parsed for each snapshot. So a snapshot taken on top of a
parent whose violations are stored (`Since`) is checked only where it differs from the
parent: the rows added, removed or changed since are compared with their weeks'
baselines, read a row at a time, and the parent's violations of the other rows carry
over, since their rows and baselines are the parent's too. Weeks that close between the
two snapshots take the parent itself as baseline, so an unchanged row breaks none of
them. Where either of those does not hold (a fetch time before the parent's, a baseline
of a newly closed week other than the parent) the rule is found whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from auditor.audit.facts import (
    Billed,
    Context,
    Facts,
    SheetFacts,
    Since,
    Snapshot,
    day,
    week_of,
)
from auditor.audit.model import Violation
from auditor.audit.settings import Settings
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import to_decimal
from auditor.text import money

RULE = "closed-period-edit"
WEEK_NAMED = re.compile(r"week ending ([0-9]{4}-[0-9]{2}-[0-9]{2})")
"""Every message of this rule names the week it is about."""


def closed_period_edit(context: Context) -> Iterator[Violation]:
    since, settings = context.since, context.settings
    if since is None or not _carries(context, since):
        yield from _whole(context)
        return
    named: dict[str, list[Violation]] = defaultdict(list)
    for violation in since.violations:
        if violation.rule != RULE:
            continue
        if violation.key in since.changed:
            named[violation.key].append(violation)
        else:
            yield violation
    for key in sorted(since.changed):
        before = since.rows.row(key)
        weeks = {week_of(before.cells, settings) if before else None, _week(context, key)}
        weeks |= {
            day(match[1])
            for violation in named.get(key, [])
            for match in WEEK_NAMED.finditer(violation.message)
        }
        for week in sorted(week for week in weeks if week is not None):
            yield from _key_in_week(context, key, week)


def _carries(context: Context, since: Since) -> bool:
    """Whether the parent's violations carry over: fetched no later than this snapshot,
    and the baseline of every week closed since is the parent itself."""
    fetched_at = context.snapshot.fetched_at
    if fetched_at < since.fetched_at:
        return False
    weeks = set(context.sheet.weeks)
    for key in since.changed:
        before = since.rows.row(key)
        weeks.add(week_of(before.cells, context.settings) if before else None)
    for week in weeks:
        close = context.close(week) if week else None
        newly_closed = close is not None and since.fetched_at <= close < fetched_at
        if newly_closed and week and context.billed(week) is not since.rows:
            return False
    return True


def _week(context: Context, key: str) -> dt.date | None:
    facts = context.sheet.facts.get(key)
    return facts.week if facts else None


def _key_in_week(context: Context, key: str, week: dt.date) -> Iterator[Violation]:
    """The row against its billed version in one closed week: edited or added after the
    week closed, or billed then and now gone from the week."""
    snapshot, settings = context.snapshot, context.settings
    base = context.billed(week)
    if base is None:
        return
    before = base.row(key)
    now = context.sheet.facts.get(key)
    if now is not None and now.week == week:
        yield from _edits(snapshot, settings, key, now.row, before, week)
    billed_here = before is not None and week_of(before.cells, settings) == week
    if billed_here and (now is None or now.week != week):
        yield _gone(snapshot, settings, key, before, week, moved=now is not None)


def _whole(context: Context) -> Iterator[Violation]:
    """Every closed week of the sheet (and of the baselines found) against its baseline."""
    snapshot, sheet, settings = context.snapshot, context.sheet, context.settings
    bases: dict[Billed, tuple[SheetFacts, set[dt.date]]] = {}

    def assign(week: dt.date) -> None:
        """Put a closed week under the baseline it was billed from."""
        base = context.billed(week)
        if base is None:
            return
        if base not in bases:
            facts = context.memo.sheet(base.whole(), context.required, settings)
            bases[base] = (facts, set())
        bases[base][1].add(week)

    for week in sorted(sheet.weeks):
        assign(week)
    for base, _ in list(bases.values()):
        for week in set(base.weeks) - set(sheet.weeks):
            assign(week)
    for base, base_weeks in bases.values():
        for week in sorted(base_weeks):
            for key in sheet.weeks.get(week, []):
                row, before = sheet.rows[key], base.rows.get(key)
                if before is not row:
                    yield from _edits(snapshot, settings, key, row, before, week)
        yield from _removed(snapshot, settings, sheet.facts, base.facts, base_weeks)


def _edits(
    snapshot: Snapshot,
    settings: Settings,
    key: str,
    row: Row,
    before: Row | None,
    week: dt.date,
) -> Iterator[Violation]:
    config = settings.config
    if before is None:
        price = to_decimal(row.cells.get(config.price_column))
        message = f"row added after week ending {week} was closed"
        cell = row.cells.get(config.price_column)
        yield _violation(snapshot, settings, key, None, price, message, None, cell)
        return
    impact = None
    for column in config.tracked_columns:
        old, new = before.cells.get(column), row.cells.get(column)
        if old != new or type(old) is not type(new):
            impact = impact if impact is not None else _impact(before, row, config.price_column)
            message = (
                f"{column} is {said(settings, column, new)}, billed as "
                f"{said(settings, column, old)} in the closed week ending {week}"
            )
            yield _violation(snapshot, settings, key, column, impact, message, old, new)


def _violation(
    snapshot: Snapshot,
    settings: Settings,
    key: str,
    column: str | None,
    amount: Decimal | None,
    message: str,
    billed: Any,
    now: Any,
) -> Violation:
    """A closed week's row that differs from its bill, rated by the money it moves in a
    closed week (`Settings.severity`)."""
    severity = settings.severity(amount, closed=True)
    return Violation(snapshot.sheet_id, RULE, key, column, severity, message, billed, now)


def said(settings: Settings, column: str, value: Any) -> str:
    """A cell value in a message: an amount of a money column as money, else as written."""
    amount = to_decimal(value) if column in settings.config.money_columns else None
    return money(amount) if amount is not None else repr(value)


def _removed(
    snapshot: Snapshot,
    settings: Settings,
    facts: dict[str, Facts],
    base: dict[str, Facts],
    weeks: set[dt.date],
) -> Iterator[Violation]:
    for key, before in base.items():
        now = facts.get(key)
        if (
            now is before
            or before.week not in weeks
            or (now is not None and now.week == before.week)
        ):
            continue
        assert before.week is not None
        yield _gone(snapshot, settings, key, before.row, before.week, moved=now is not None)


def _gone(
    snapshot: Snapshot, settings: Settings, key: str, before: Row, week: dt.date, moved: bool
) -> Violation:
    config = settings.config
    price = to_decimal(before.cells.get(config.price_column))
    if moved:
        message = f"row moved out of the closed week ending {week}"
        column = config.week_column
    else:
        message = f"row billed in the closed week ending {week} was removed"
        column = None
    billed = None if moved else before.cells.get(config.price_column)
    return _violation(snapshot, settings, key, column, price, message, billed, None)


def _impact(before: Row, after: Row, column: str) -> Decimal | None:
    old, new = to_decimal(before.cells.get(column)), to_decimal(after.cells.get(column))
    if old is None or new is None:
        return new if old is None else -old if new is None else None
    return new - old
