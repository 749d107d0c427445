"""What the rules know of a snapshot's rows, found once per row and shared between snapshots.

Rows that are byte-equal in two snapshots are parsed into one object (see
auditor.audit.evaluate.History), so a row unchanged between the two sides of a pair is
examined once, and a snapshot that is also the other's baseline is examined once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from auditor.audit.model import Violation
from auditor.audit.settings import Settings
from auditor.snapshot.canonical import SheetFiles
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import ISO_DATE

Cells = dict[str, Any]

Check = tuple[str, str | None, Decimal | None, str, Any, Any]
"""(rule, column, money, message, billed, now) of a violation found in one row alone; its
severity is rated where the snapshot is known (`Context.rate`)."""

RowChecks = Callable[[Cells, tuple[str, ...], Settings], list[Check]]
BY_KEY = 4
"""Rows of a baseline read one by one before it is parsed whole: finding one row's line
in a 20,000-row file (15 MB) costs 5-10 ms, parsing the file about 150 ms."""


@dataclass
class Snapshot:
    """One sheet in one snapshot, with every row parsed (metadata included)."""

    sheet_id: str
    meta: dict[str, Any]
    rows: dict[str, Row]
    fetched_at: dt.datetime


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
    """The rows the rules check: parent rows of hierarchical sheets left out."""
    facts: dict[str, Facts]
    weeks: dict[dt.date, list[str]]
    findings: list[tuple[str, Check]]
    dated: list[tuple[str, str]]
    """(latest date text, key), latest first: rows that may hold a date far ahead."""
    duplicates: list[list[str]]


@dataclass
class Memo:
    """Facts shared by the snapshots evaluated with it. Entries keep their objects alive,
    so an id is never reused while cached."""

    checks: RowChecks
    facts: dict[int, Facts] = field(default_factory=dict)
    sheets: dict[int, tuple[dict[str, Row], tuple[str, ...], SheetFacts]] = field(
        default_factory=dict
    )

    def of(self, row: Row, required: tuple[str, ...], settings: Settings) -> Facts:
        facts = self.facts.get(id(row))
        if facts is None or facts.row is not row or facts.required != required:
            facts = _facts(row, required, settings, self.checks)
            self.facts[id(row)] = facts
        return facts

    def sheet(
        self, rows: dict[str, Row], required: tuple[str, ...], settings: Settings
    ) -> SheetFacts:
        cached = self.sheets.get(id(rows))
        if cached is not None and cached[0] is rows and cached[1] == required:
            return cached[2]
        kept = without_parents(rows)
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


class Billed:
    """A snapshot's rows as a week's billed baseline: a few rows read one by one from its
    file, or all of them parsed once (also where the sheet has parent rows, which only the
    whole file tells apart)."""

    def __init__(
        self, load: Callable[[], dict[str, Row]], files: Callable[[], SheetFiles] | None = None
    ) -> None:
        self._load = load
        self._files = files
        self._whole: dict[str, Row] | None = None
        self._kept: dict[str, Row] | None = None
        self._read: dict[str, Row | None] = {}
        self._flat: bool | None = None

    @classmethod
    def of(cls, rows: dict[str, Row]) -> Billed:
        return cls(lambda: rows)

    def whole(self) -> dict[str, Row]:
        if self._whole is None:
            self._whole = self._load()
        return self._whole

    def row(self, key: str) -> Row | None:
        """The row the rules see under `key` (None for a parent row, or none at all)."""
        if key not in self._read:
            files = self._flat_files() if len(self._read) < BY_KEY else None
            self._read[key] = files.row(key) if files is not None else self.kept().get(key)
        return self._read[key]

    def _flat_files(self) -> SheetFiles | None:
        """The file to read rows from one by one: not where the rows are parsed already,
        nor where the sheet has parent rows (a `parent` key in the file, looked for once)."""
        if self._whole is not None or self._files is None:
            return None
        files = self._files()
        if self._flat is None:
            self._flat = b'"parent":' not in files.rows and b'"_parent":' not in files.rows
        return files if self._flat else None

    def kept(self) -> dict[str, Row]:
        """The rows the rules check, parent rows left out."""
        if self._kept is None:
            self._kept = without_parents(self.whole())
        return self._kept


Baseline = Callable[[dt.datetime], Billed | None]
"""Given a week's close time, that week's billed baseline snapshot."""

Invoiced = Callable[[dt.date], tuple[dt.datetime, Billed] | None]
"""Given a week, the snapshot its invoice mark names (its fetch time and rows), where a mark
applies: one made on this snapshot or an earlier one."""


@dataclass(frozen=True)
class Since:
    """The snapshot a new one is taken on: its fetch time, its rows (which are a baseline
    too), its stored violations, and the keys of the rows added, removed or changed since."""

    fetched_at: dt.datetime
    rows: Billed
    violations: list[Violation]
    changed: set[str]


@dataclass(frozen=True)
class Context:
    """One snapshot being evaluated, and what its sheet-wide checks may use."""

    snapshot: Snapshot
    sheet: SheetFacts
    settings: Settings
    baseline: Baseline
    memo: Memo
    required: tuple[str, ...]
    since: Since | None
    invoiced: Invoiced | None = None

    def close(self, week: dt.date) -> dt.datetime | None:
        """When the week's billing closed: the fetch time of the snapshot its invoice mark
        names, else the calendar's close (`close_time`)."""
        mark = self.invoiced(week) if self.invoiced else None
        return mark[0] if mark else close_time(week, self.settings)

    def billed(self, week: dt.date) -> Billed | None:
        """The week's billed baseline where the week is closed at this snapshot: the
        snapshot its invoice mark names, else the one current when the calendar closed it."""
        mark = self.invoiced(week) if self.invoiced else None
        if mark is not None:
            return mark[1]
        close = close_time(week, self.settings)
        if close is None or close >= self.snapshot.fetched_at:
            return None
        return self.baseline(close)

    def rate(self, key: str, money: Decimal | None) -> str:
        """The severity of a finding in row `key` that moves `money`: one step higher where
        the row's week is closed (or invoiced) at this snapshot (`Settings.severity`)."""
        facts = self.sheet.facts.get(key)
        return self.settings.severity(money, bool(facts and facts.week and self.closed(facts.week)))

    def closed(self, week: dt.date) -> bool:
        """Whether the week's billing is closed at this snapshot: invoiced (a mark that
        applies), or over by the calendar."""
        if self.invoiced and self.invoiced(week):
            return True
        close = close_time(week, self.settings)
        return close is not None and close < self.snapshot.fetched_at

    def found(
        self,
        rule: str,
        key: str,
        column: str | None,
        money: Decimal | None,
        message: str,
        billed: Any = None,
        now: Any = None,
    ) -> Violation:
        """A violation of this snapshot, rated by `rate`."""
        severity = self.rate(key, money)
        return Violation(self.snapshot.sheet_id, rule, key, column, severity, message, billed, now)


def _facts(row: Row, required: tuple[str, ...], settings: Settings, checks: RowChecks) -> Facts:
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
    return Facts(
        row,
        required,
        checks(row.cells, required, settings),
        week_of(row.cells, settings),
        line,
        latest,
    )


@lru_cache(maxsize=4096)
def day(value: str) -> dt.date | None:
    """The date an ISO date text names, or None."""
    if not ISO_DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def week_of(cells: Cells, settings: Settings) -> dt.date | None:
    value = cells.get(settings.config.week_column)
    return day(value) if value.__class__ is str else None


def close_time(week: dt.date, settings: Settings) -> dt.datetime | None:
    """The end of the week-ending date in the configured zone, plus the grace days; None for
    a week that never closes (a placeholder such as 9999-12-31, past the calendar's end)."""
    try:
        end = dt.datetime.combine(week + dt.timedelta(days=1), dt.time(), tzinfo=settings.zone)
        return (end + dt.timedelta(days=settings.config.close_grace_days)).astimezone(dt.UTC)
    except OverflowError:
        return None


def without_parents(rows: dict[str, Row]) -> dict[str, Row]:
    """Rules skip parent rows (rows that have children) of hierarchical sheets."""
    parents = {row.parent for row in rows.values() if row.parent is not None}
    if not parents:
        return rows
    return {key: row for key, row in rows.items() if row.id not in parents}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
