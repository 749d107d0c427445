"""Billed weeks: per week-ending date, what was billed (the week's baseline) against what the
sheet holds now, by work request.

A week's rows are kept with every snapshot, in `weeks/<sheet_id>/<YYYY-MM-DD>.json` (each
row's work request, price and a digest of its tracked columns), beside an `index.json`
naming the folder tree and the settings they were found with. A week whose rows did not change keeps
its file's object from snapshot to snapshot, so the files cost git one object per changed
week; and `auditor weeks` over a year of baselines reads a few small files per week instead
of parsing every baseline's `rows.json` (about 150 ms each for 20,000 rows). Where the files
are missing or stale (snapshots taken before they were kept, other settings, a hand edit),
the week's rows are found from `rows.json`, with the same answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import orjson

from auditor.audit.evaluate import History
from auditor.audit.facts import close_time, day, week_of, without_parents
from auditor.audit.settings import Settings
from auditor.errors import DamagedSnapshot, UsageError
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import to_decimal
from auditor.store.gitstore import Store
from auditor.store.revisions import resolve

log = logging.getLogger("auditor")

WEEKS_FOLDER = "weeks"
INDEX = "index.json"
WEEKS_VERSION = "2"
"""Bumped when what a week file holds changes, so older files are found again."""

Line = tuple[str | None, Decimal | None, str]
"""A row of a week: its work request (as text), its price, and a digest of its tracked
columns (`Quantity`, `Units Total Price`): what the closed-period rule calls a change of
what was billed. A renamed column or a new comment changes no billed row."""
WeekRows = dict[str, Line]


def weeks_folder(sheet_id: str) -> str:
    return f"{WEEKS_FOLDER}/{sheet_id}"


def columns_fingerprint(settings: Settings) -> str:
    """What a week file depends on besides the rows: the columns it reads."""
    config = settings.config
    material = [
        WEEKS_VERSION,
        config.week_column,
        config.work_request_column,
        config.price_column,
        *config.tracked_columns,
    ]
    return hashlib.sha1("\n".join(material).encode()).hexdigest()[:16]


def week_rows(rows: dict[str, Row], settings: Settings) -> dict[dt.date, WeekRows]:
    """Each week's rows (parent rows of hierarchical sheets left out, as the rules do)."""
    config = settings.config
    found: dict[dt.date, WeekRows] = {}
    for key, row in without_parents(rows).items():
        week = week_of(row.cells, settings)
        if week is None:
            continue
        request = row.cells.get(config.work_request_column)
        billed = [row.cells.get(column) for column in config.tracked_columns]
        digest = hashlib.blake2b(orjson.dumps(billed), digest_size=8).hexdigest()
        found.setdefault(week, {})[key] = (
            None if request is None else str(request),
            to_decimal(row.cells.get(config.price_column)),
            digest,
        )
    return found


def week_files(rows: dict[str, Row], settings: Settings, tree: str) -> dict[str, bytes]:
    """`index.json` and one file per week, by name within `weeks/<sheet_id>/`: one row per
    line, sorted by key, so that git packs a changed week's file against the last."""
    files = {}
    for week, found in week_rows(rows, settings).items():
        lines = [
            orjson.dumps(key)
            + b":"
            + orjson.dumps([request, None if price is None else str(price), digest])
            for key, (request, price, digest) in sorted(found.items())
        ]
        files[f"{week.isoformat()}.json"] = b'{"rows":{\n' + b",\n".join(lines) + b"\n}}\n"
    # The index names each file's object: a week file edited or lost by hand no longer
    # matches it, and the weeks are found from rows.json again.
    objects = {name: blob_id(data) for name, data in files.items()}
    index = {"columns": columns_fingerprint(settings), "files": objects, "tree": tree}
    return {INDEX: orjson.dumps(index, option=orjson.OPT_SORT_KEYS) + b"\n", **files}


def blob_id(data: bytes) -> str:
    """The id git gives a file of these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _parse_week(data: bytes) -> WeekRows:
    rows = orjson.loads(data)["rows"]
    return {
        key: (request, None if price is None else Decimal(price), digest)
        for key, (request, price, digest) in rows.items()
    }


class WeekReader:
    """The week rows of snapshots, read from their stored files or found from their rows,
    each snapshot's once."""

    def __init__(self, history: History, settings: Settings) -> None:
        self.history = history
        self.store: Store = history.store
        self.settings = settings
        self.fingerprint = columns_fingerprint(settings)
        self._stored: dict[tuple[str, str], dict[dt.date, str] | None] = {}
        self._found: dict[tuple[str, str], dict[dt.date, WeekRows]] = {}
        self._weeks: dict[str, WeekRows] = {}

    def stored(self, commit: str, sheet_id: str) -> dict[dt.date, str] | None:
        """The object ids of the snapshot's week files, where they are current."""
        if (commit, sheet_id) not in self._stored:
            self._stored[commit, sheet_id] = self._read_index(commit, sheet_id)
        return self._stored[commit, sheet_id]

    def _read_index(self, commit: str, sheet_id: str) -> dict[dt.date, str] | None:
        entries = self.store.folder(commit, weeks_folder(sheet_id))
        if entries is None or INDEX not in entries:
            return None
        try:
            index = orjson.loads(self.store.blob(entries[INDEX][1]))
        except orjson.JSONDecodeError:
            return None
        if not isinstance(index, dict):
            return None
        tree = self.history.tree(commit, sheet_id)
        if index.get("columns") != self.fingerprint or index.get("tree") != tree:
            return None
        files = {name: sha for name, (_, sha) in entries.items() if name != INDEX}
        if index.get("files") != files:
            log.warning(
                "%s/ in snapshot %s: the week files do not match their index (edited or "
                "lost by hand); the weeks are found from the snapshot's rows",
                weeks_folder(sheet_id),
                commit[:10],
            )
            return None
        weeks = {day(name.removesuffix(".json")): sha for name, sha in files.items()}
        return {week: sha for week, sha in weeks.items() if week is not None}

    def weeks(self, commit: str, sheet_id: str) -> set[dt.date]:
        stored = self.stored(commit, sheet_id)
        return set(stored) if stored is not None else set(self._find(commit, sheet_id))

    def rows(self, commit: str, sheet_id: str, week: dt.date) -> WeekRows:
        stored = self.stored(commit, sheet_id)
        if stored is None:
            return self._find(commit, sheet_id).get(week, {})
        sha = stored.get(week)
        if sha is None:
            return {}
        if sha not in self._weeks:
            try:
                self._weeks[sha] = _parse_week(self.store.blob(sha))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError):
                raise DamagedSnapshot(
                    f"{weeks_folder(sheet_id)}/{week}.json in snapshot {commit[:10]} is not "
                    "a week file, though its index names it; the snapshot is damaged"
                ) from None
        return self._weeks[sha]

    def _find(self, commit: str, sheet_id: str) -> dict[dt.date, WeekRows]:
        """From `rows.json`: the snapshot's weeks without stored files."""
        if (commit, sheet_id) not in self._found:
            rows = self.history.rows(commit, sheet_id) or {}
            self._found[commit, sheet_id] = week_rows(rows, self.settings)
        return self._found[commit, sheet_id]


@dataclass(frozen=True)
class WeekBaseline:
    """How a week's billed baseline was chosen: `invoice` (its mark's tag) or `calendar`."""

    kind: str
    commit: str
    tag: str | None = None


@dataclass(frozen=True)
class Figures:
    """Billed against now: totals of the price column, and rows since billing."""

    billed_total: Decimal
    current_total: Decimal
    rows_added: int
    rows_removed: int
    rows_changed: int

    @property
    def delta(self) -> Decimal:
        return self.current_total - self.billed_total

    @property
    def moved(self) -> bool:
        """Whether anything billed changed: money, or rows."""
        return bool(self.delta or self.rows_added or self.rows_removed or self.rows_changed)


@dataclass(frozen=True)
class WorkRequestWeek(Figures):
    work_request: str | None = None


@dataclass(frozen=True)
class BilledWeek(Figures):
    sheet_id: str = ""
    week_ending: dt.date = dt.date.min
    baseline: WeekBaseline = WeekBaseline("calendar", "")
    work_requests: list[WorkRequestWeek] = field(default_factory=list)


@dataclass(frozen=True)
class BilledWeeks:
    """The weeks closed or invoiced at a snapshot, each billed against now."""

    commit: str
    time: dt.datetime
    weeks: list[BilledWeek]

    @property
    def delta(self) -> Decimal:
        return sum((week.delta for week in self.weeks), Decimal(0))

    @property
    def moved(self) -> list[BilledWeek]:
        """The weeks whose money differs from what was billed."""
        return [week for week in self.weeks if week.delta]

    @property
    def moved_requests(self) -> set[tuple[str, str | None]]:
        """The (sheet, work request) pairs whose money differs from what was billed."""
        return {
            (week.sheet_id, request.work_request)
            for week in self.moved
            for request in week.work_requests
            if request.delta
        }


@dataclass(frozen=True)
class WeekShift:
    """A week whose difference from its bill changed between two snapshots (it may have
    closed in between): the audit sheet's row for it."""

    sheet_id: str
    week_ending: dt.date
    baseline: WeekBaseline
    before: Decimal | None
    """The difference at the older snapshot; None where the week was not yet closed."""
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - (self.before or Decimal(0))


def week_shifts(before: BilledWeeks, after: BilledWeeks) -> list[WeekShift]:
    """The weeks whose billed difference is not what it was at the older snapshot."""
    old = {(week.sheet_id, week.week_ending): week.delta for week in before.weeks}
    shifts = []
    for week in after.weeks:
        was = old.get((week.sheet_id, week.week_ending))
        if week.delta != (was or Decimal(0)):
            shifts.append(
                WeekShift(week.sheet_id, week.week_ending, week.baseline, was, week.delta)
            )
    return shifts


def compare(billed: WeekRows, now: WeekRows) -> Figures:
    """A week's (or a work request's) rows billed against its rows now."""
    added = now.keys() - billed.keys()
    removed = billed.keys() - now.keys()
    changed = [key for key in billed.keys() & now.keys() if billed[key][2] != now[key][2]]
    return Figures(_total(billed), _total(now), len(added), len(removed), len(changed))


def _total(rows: WeekRows) -> Decimal:
    return sum((price for _, price, _ in rows.values() if price is not None), Decimal(0))


def by_work_request(billed: WeekRows, now: WeekRows) -> list[WorkRequestWeek]:
    """The figures of each work request of the week, billed or now (none last)."""
    groups: dict[str | None, tuple[WeekRows, WeekRows]] = {}
    for side, rows in enumerate((billed, now)):
        for key, line in rows.items():
            groups.setdefault(line[0], ({}, {}))[side][key] = line
    found = []
    for request in sorted(groups, key=lambda text: (text is None, text or "")):
        figures = compare(*groups[request])
        found.append(WorkRequestWeek(**vars(figures), work_request=request))
    return found


def billed_weeks(
    store: Store,
    settings: Settings,
    revision: str = "HEAD",
    sheet: str | None = None,
    since: dt.date | None = None,
    every_request: bool = True,
) -> BilledWeeks:
    """`auditor weeks`: every week of each sheet (or of `sheet`) closed or invoiced at the
    snapshot `revision` names, from `since` on, its billed baseline against that snapshot.
    Without `every_request`, only the weeks that moved list their work requests (the report
    and the markdown show no others): a year of a 20,000-row sheet holds tens of thousands."""
    commit = resolve(store, revision)
    time = store.info(commit).time
    sheets = sorted(store.sheet_trees(commit))
    if sheet is not None:
        if sheet not in sheets:
            raise UsageError(f"sheet {sheet!r} is not in snapshot {commit[:10]} ({revision})")
        sheets = [sheet]
    history = History(store, commit)
    reader = WeekReader(history, settings)
    weeks = []
    for sheet_id in sheets:
        baselines = week_baselines(history, reader, settings, commit, sheet_id, time)
        for week, base in sorted(baselines.items()):
            if since is not None and week < since:
                continue
            billed = reader.rows(base.commit, sheet_id, week)
            now = reader.rows(commit, sheet_id, week)
            figures = compare(billed, now)
            weeks.append(
                BilledWeek(
                    **vars(figures),
                    sheet_id=sheet_id,
                    week_ending=week,
                    baseline=base,
                    work_requests=(
                        by_work_request(billed, now) if every_request or figures.moved else []
                    ),
                )
            )
    return BilledWeeks(commit, time, weeks)


def week_baselines(
    history: History,
    reader: WeekReader,
    settings: Settings,
    commit: str,
    sheet_id: str,
    at: dt.datetime,
) -> dict[dt.date, WeekBaseline]:
    """Each week closed or invoiced at `at` and its baseline, as the rules choose it: the
    weeks of the snapshot, those invoiced, and those only a calendar baseline holds (all
    their rows removed since), as the closed-period rule finds them."""
    marks = history.applying(sheet_id, at)
    found = {week: WeekBaseline("invoice", mark.commit, mark.tag) for week, mark in marks.items()}

    def assign(weeks: Iterable[dt.date]) -> set[str]:
        """Calendar baselines of the closed weeks not yet assigned; the commits new here."""
        new = set()
        for week in weeks:
            close = close_time(week, settings)
            if week in found or close is None or close >= at:
                continue
            base = history.baseline_commit(sheet_id, close)
            if base is not None:
                new.add(base)
                found[week] = WeekBaseline("calendar", base)
        return new

    for base in assign(reader.weeks(commit, sheet_id)):
        assign(reader.weeks(base, sheet_id))
    return found
