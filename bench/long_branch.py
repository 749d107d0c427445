"""A snapshots branch as years of scheduled runs leave it, written in about a minute.

A billing sheet grows by a row every other run (two-hourly) and has a cell edited in its
open week on the others; now and then a row of a closed week is edited or removed, so the
branch carries closed-period-edit violations from then on. Each commit holds what
`auditor snapshot` writes (the folder, the change record, the stored violations, the
README and the trailers), made by the tool's own encoders; only the diff of each run is
known here instead of computed (checked against the tool's `diff_sheet` now and then), and
the objects go straight into a pack (bench/pack.py), each `rows.json` a delta of the one
before. Running the CLI 10,000 times would take hours.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from auditor.audit.evaluate import History, open_counts, violations_file, violations_of
from auditor.audit.facts import Billed, Snapshot, close_time
from auditor.audit.rules import evaluate
from auditor.audit.settings import Settings
from auditor.commands.snapshot import change_lines, summary_line
from auditor.config import DEFAULT_AUTHOR
from auditor.diff.compute import diff_sheet
from auditor.diff.index import changed_rows_file, changes_file
from auditor.diff.model import CellChange, RowChange, SheetDiff
from auditor.snapshot import canonical
from auditor.snapshot.model import Row, Sheet
from auditor.snapshot.normalize import number as json_number
from auditor.snapshot.normalize import to_decimal
from auditor.sources.smartsheet_rows import sheet_from_api
from auditor.store.gitstore import BLOB_MODE, TREE_MODE, Store, tree_bytes
from auditor.store.message import SheetRecord, compose
from auditor.store.readme import ReadmeSheet, render
from auditor.text import iso
from bench.pack import PackWriter, Splice
from demo import billing

START = dt.datetime(2024, 1, 1, 8, 17, tzinfo=dt.UTC)
STEP = dt.timedelta(hours=2)
FIRST_ROWS = 20
EXTRA_COLUMNS = 7
PLANT_EDIT_EVERY = 1000
PLANT_REMOVAL_EVERY = 2500
SUMMARY_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
CHECK_EVERY = 997
"""Every so many runs the known diff is checked against the tool's own `diff_sheet`."""


@dataclass
class Run:
    """One scheduled run's change to the sheet."""

    number: int
    when: dt.datetime
    added: list[str] = field(default_factory=list)
    removed: dict[str, Row] = field(default_factory=dict)
    edited: dict[str, Row] = field(default_factory=dict)
    """Key -> the row before the edit."""
    planted: bool = False
    """A row of a closed week was edited or removed."""


def week_ending(day: dt.date) -> dt.date:
    """The Saturday that ends the billing week of `day`."""
    return day + dt.timedelta(days=(5 - day.weekday()) % 7)


class BillingSheet:
    """The billing sheet as Smartsheet holds it, and its rows as the tool reads them."""

    def __init__(self, settings: Settings, money: tuple[str, ...], seed: int = 11) -> None:
        self.settings = settings
        self.money = money
        self.rng = random.Random(seed)
        self.api = billing.make_sheet(0, extra_columns=EXTRA_COLUMNS)
        self.by_key: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, Row] = {}
        self.keys: list[str] = []
        self.lines: list[bytes] = []
        """The rows' lines of `rows.json`, in the order of `keys`."""
        self.splices: list[Splice] = []
        self.cells = 0
        self.billed_total = Decimal(0)
        self.weeks: dict[dt.date, list[str]] = {}
        self.position: dict[str, int] = {}
        self.edits: Counter[str] = Counter()
        self.added = 0
        self.planted: set[str] = set()
        self.anchor = self.add(START)
        """The first row: never edited after its week closed, so the rules find its week's
        baseline on every branch (see Branch._violations)."""

    def read(self, keys: list[str]) -> dict[str, Row]:
        """Rows as `auditor snapshot --file` reads them, for a few rows of the sheet."""
        part = {**self.api, "rows": [self.by_key[key] for key in keys], "totalRowCount": len(keys)}
        return sheet_from_api(
            part, sheet_id=self.sheet_id, money_columns=self.money, source="smartsheet-json"
        ).rows

    @property
    def sheet_id(self) -> str:
        return str(self.api["id"])

    def whole(self) -> Sheet:
        return sheet_from_api(
            self.api, sheet_id=self.sheet_id, money_columns=self.money, source="smartsheet-json"
        )

    def _store(self, key: str) -> None:
        """The row as read now: its line, and the sheet's figures."""
        if key in self.rows:
            self._count(self.rows[key], -1)
        row = self.rows[key] = self.read([key])[key]
        self._count(row, 1)
        line = orjson.dumps(key) + b":" + orjson.dumps(row.to_json(), option=orjson.OPT_SORT_KEYS)
        at = bisect_left(self.keys, key)
        start = self._offset(at)
        if at < len(self.keys) and self.keys[at] == key:
            self.splices.append(Splice(start, len(self.lines[at]), line))
            self.lines[at] = line
            return
        if at < len(self.keys):
            self.splices.append(Splice(start, 0, line + b",\n"))
        else:
            self.splices.append(Splice(start - 2, 0, b",\n" + line))
        self.keys.insert(at, key)
        self.lines.insert(at, line)

    def _offset(self, at: int) -> int:
        """Where line `at` starts in `rows.json` (`{\n`, then lines joined by `,\n`)."""
        return 2 + sum(map(len, self.lines[:at])) + 2 * at

    def _count(self, row: Row, sign: int) -> None:
        self.cells += sign * len(row.cells)
        for column in self.money:
            self.billed_total += sign * (to_decimal(row.cells.get(column)) or 0)

    def summary_json(self) -> bytes:
        """`canonical.summary_json` of the rows, from figures kept as they change (it adds
        up every row; checked against it every CHECK_EVERY runs)."""
        summary = {
            "rows": len(self.rows),
            "cells": self.cells,
            "sums": {column: json_number(self.billed_total) for column in self.money},
        }
        return orjson.dumps(summary, option=SUMMARY_OPTIONS)

    def add(self, when: dt.datetime) -> str:
        values = billing.random_values(self.rng, self.added, EXTRA_COLUMNS)
        week = week_ending(when.date())
        values["Weekly Reference Logged Date"] = week.isoformat()
        values["Snapshot Date"] = when.date().isoformat()
        self.added += 1
        row_id = billing.add_row(self.api, values, _who(self.rng), iso(when), self.rng)
        key = str(row_id)
        self.by_key[key] = self.api["rows"][-1]
        self.position[key] = len(self.api["rows"])
        self.weeks.setdefault(week, []).append(key)
        self._store(key)
        return key

    def edit(self, key: str, when: dt.datetime) -> Row:
        before = self.rows[key]
        number = self.position[key]
        _, measure, unit = billing.CUS[before.cells["CU"]]
        quantity = self.rng.randint(1, 400) if measure == "FT" else self.rng.randint(1, 6)
        if quantity == before.cells["Quantity"]:
            quantity += 1
        who = _who(self.rng)
        billing.set_cell(self.api, number, "Quantity", quantity, who, iso(when))
        billing.set_cell(
            self.api, number, "Units Total Price", float(unit * quantity), who, iso(when)
        )
        self._store(key)
        self.edits[key] += 1
        return before

    def remove(self, key: str, when: dt.datetime) -> Row:
        before = self.rows.pop(key)
        self._count(before, -1)
        at = self.keys.index(key)
        start, length = self._offset(at), len(self.lines[at]) + 2
        last = at == len(self.keys) - 1
        self.splices.append(Splice(start - 2 if last else start, length, b""))
        del self.keys[at], self.lines[at]
        billing.delete_row(self.api, self.position.pop(key), iso(when))
        del self.by_key[key]
        self.position = {str(row["id"]): n for n, row in enumerate(self.api["rows"], start=1)}
        self.edits.pop(key, None)
        for keys in self.weeks.values():
            if key in keys:
                keys.remove(key)
        return before

    def rows_json(self) -> tuple[bytes, Splice | None]:
        """The file, and how it was made from the one before where one change made it."""
        splice = self.splices[0] if len(self.splices) == 1 else None
        self.splices = []
        return b"{\n" + b",\n".join(self.lines) + b"\n}\n", splice

    def open_week(self, when: dt.datetime) -> list[str]:
        return self.weeks.get(week_ending(when.date()), [])

    def closed_row(self, when: dt.datetime) -> str:
        """A row of a week closed at least a fortnight before `when`, neither the anchor
        nor one edited or removed after its week closed already."""
        limit = when - dt.timedelta(days=14)
        keys = [
            key
            for week, keys in sorted(self.weeks.items())
            if (close_time(week, self.settings) or when) < limit
            for key in keys
            if key != self.anchor and key not in self.planted
        ]
        key = self.rng.choice(keys)
        self.planted.add(key)
        return key

    def step(self, number: int, when: dt.datetime) -> Run:
        """The change one run finds: a row added or an open week's cell edited, and now and
        then a closed week's row edited or removed."""
        run = Run(number, when)
        if number and number % PLANT_REMOVAL_EVERY == PLANT_REMOVAL_EVERY // 2:
            key = self.closed_row(when)
            run.removed[key] = self.remove(key, when)
            run.planted = True
        elif number and number % PLANT_EDIT_EVERY == PLANT_EDIT_EVERY // 2:
            key = self.closed_row(when)
            run.edited[key] = self.edit(key, when)
            run.planted = True
        elif number % 2 == 1 and self.open_week(when):
            key = self.rng.choice(self.open_week(when))
            run.edited[key] = self.edit(key, when)
        else:
            run.added.append(self.add(when))
        return run


def _who(rng: random.Random) -> str:
    return f"{rng.choice(billing.FOREMEN).split()[-1].lower()}@example.com"


class Branch:
    """The commits one branch gets from the runs it is given, the first its baseline."""

    def __init__(self, sheet: BillingSheet, pack: PackWriter, settings: Settings) -> None:
        self.sheet = sheet
        self.pack = pack
        self.settings = settings
        self.meta = canonical.sheet_json(sheet.whole())
        self.billed: dict[str, Row] = {}
        """Rows of closed weeks edited or removed on this branch, as they were billed."""
        self.tip: str | None = None
        self.folder: str | None = None
        self.previous: bytes | None = None

    def commit(self, run: Run, rows: bytes, rows_blob: str) -> None:
        """The run's commit, as `auditor snapshot` makes it, on top of the branch."""
        sheet = self.sheet
        if run.planted:
            self.billed.update(run.edited)
            self.billed.update(run.removed)
        summary = sheet.summary_json()
        blob = self.pack.whole
        folder = self._tree(
            {
                "sheet.json": blob("blob", self.meta),
                "rows.json": rows_blob,
                "summary.json": blob("blob", summary),
            }
        )
        diff = self._diff(run)
        if run.number % CHECK_EVERY == 0 and self.previous is not None:
            self._check(diff, rows)
        violations = self._violations(run.when)
        record = self._record(run, diff, summary, violations)
        when = iso(run.when)
        readme = render(
            [ReadmeSheet(sheet.sheet_id, sheet.api["name"], record.rows, record.cells, when)], when
        )
        audit = violations_file(violations, self.settings.fingerprint, folder)
        root = {
            "README.md": blob("blob", readme),
            "snapshots": self._tree({sheet.sheet_id: folder}),
            "audit": self._tree({f"{sheet.sheet_id}.json": blob("blob", audit)}),
        }
        if self.folder is not None:
            changes = {
                "record.json": blob("blob", changes_file(diff, self.folder, folder)),
                "rows.json": blob("blob", changed_rows_file(diff)),
            }
            root["changes"] = self._tree({sheet.sheet_id: self._tree(changes)})
        message = compose(
            [summary_line(diff, record.version)],
            change_lines(diff, False),
            run.when,
            [record],
            None,
        )
        person = f"{DEFAULT_AUTHOR[0]} <{DEFAULT_AUTHOR[1]}> {int(run.when.timestamp())} +0000"
        lines = [f"tree {self._tree(root)}"]
        if self.tip:
            lines.append(f"parent {self.tip}")
        lines += [f"author {person}", f"committer {person}", "", message.rstrip("\n") + "\n"]
        self.tip = blob("commit", "\n".join(lines).encode())
        self.folder = folder
        self.previous = rows

    def _tree(self, entries: dict[str, str]) -> str:
        """A tree of blobs (names with a dot) and trees (the others), as the tool's are."""
        modes = {
            name: (BLOB_MODE if "." in name else TREE_MODE, sha) for name, sha in entries.items()
        }
        return self.pack.whole("tree", tree_bytes(modes))

    def _record(self, run: Run, diff: SheetDiff, summary: bytes, violations: dict) -> SheetRecord:
        figures = orjson.loads(summary)
        return SheetRecord(
            self.sheet.sheet_id,
            self.sheet.api["version"],
            figures["rows"],
            figures["cells"],
            len(diff.rows_added),
            len(diff.rows_removed),
            len(diff.cells_changed),
            iso(run.when),
            tuple(open_counts(violations, self.settings, run.when.date()).items()),
        )

    def _diff(self, run: Run) -> SheetDiff:
        sheet = self.sheet
        if self.folder is None:
            rows = sheet.rows
            added = [RowChange(key, rows[key]) for key in sheet.keys]
            return SheetDiff(sheet.sheet_id, sheet.api["name"], "added", added, new_rows=rows)
        diff = SheetDiff(sheet.sheet_id, sheet.api["name"], "changed")
        diff.rows_added = [RowChange(key, sheet.rows[key]) for key in run.added]
        diff.rows_removed = [RowChange(key, row) for key, row in run.removed.items()]
        for key, before in run.edited.items():
            after = sheet.rows[key]
            diff.cells_changed += [
                CellChange(key, column, before.cells.get(column), after.cells.get(column))
                for column in ("Quantity", "Units Total Price")
            ]
        diff.old_rows = {**run.removed, **run.edited}
        diff.new_rows = {key: sheet.rows[key] for key in [*run.added, *run.edited]}
        return diff

    def _check(self, diff: SheetDiff, rows: bytes) -> None:
        meta = orjson.loads(self.meta)
        old = canonical.SheetFiles(meta, self.previous)
        new = canonical.SheetFiles(meta, rows)
        real = diff_sheet(self.sheet.sheet_id, old, new)
        if changes_file(real, "a", "b") != changes_file(diff, "a", "b"):
            raise RuntimeError("the generated change record differs from the tool's diff")
        if self.sheet.summary_json() != canonical.summary_json(self.sheet.rows, self.sheet.money):
            raise RuntimeError("the generated summary.json differs from the tool's")

    def _violations(self, when: dt.datetime) -> dict:
        """The rules evaluated on the rows that can break them: the billed rows edited or
        removed since, beside one untouched row of an old week, so the closed weeks' baseline
        is looked up even when every billed row is gone."""
        sheet = self.sheet
        keys = [key for key in [sheet.anchor, *self.billed] if key in sheet.rows]
        rows = {key: sheet.rows[key] for key in keys}
        billed = {sheet.anchor: sheet.rows[sheet.anchor], **self.billed}
        snapshot = Snapshot(sheet.sheet_id, orjson.loads(self.meta), rows, when)
        baseline = Billed.of(billed)
        found = evaluate(snapshot, self.settings, lambda close: baseline)
        return {violation.identity: violation for violation in found}


def build(
    repo: Path, count: int, short: int, settings: Settings, money: tuple[str, ...]
) -> dict[str, Any]:
    """`refs/heads/snapshots` with `count` runs and `refs/heads/short` with the last `short`
    of them (its first a baseline); returns the next run's sheet as the API sends it, its
    fetch time, and the key of the row edited most."""
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    pack = PackWriter(repo)
    sheet = BillingSheet(settings, money)
    for _ in range(FIRST_ROWS - 2):
        sheet.add(START)
    long, recent = Branch(sheet, pack, settings), Branch(sheet, pack, settings)
    blob = None
    for number in range(count):
        run = sheet.step(number, START + STEP * number)
        rows, splice = sheet.rows_json()
        # The newest versions start a chain of their own, as after `git gc`: both branches
        # read their tips alike.
        blob = pack.version(rows, blob if number != count - short else None, splice)
        long.commit(run, rows, blob)
        if number >= count - short:
            recent.commit(run, rows, blob)
    pack.finish()
    for ref, branch in (("snapshots", long), ("short", recent)):
        subprocess.run(["git", "update-ref", f"refs/heads/{ref}", branch.tip], cwd=repo, check=True)
        check_tip(repo, ref, settings)
    when = START + STEP * count
    sheet.step(1, when)
    sheet.add(when)
    return {"sheet": sheet.api, "when": when, "key": sheet.edits.most_common(1)[0][0]}


def check_tip(repo: Path, ref: str, settings: Settings) -> None:
    """The violations stored at the branch's tip are what the rules find comparing every
    closed week of it whole, as a snapshot with no stored parent would."""
    store = Store(repo, ref)
    tip = store.tip()
    assert tip is not None
    history = History(store, tip)
    sheet_id = next(iter(store.sheet_trees(tip)))
    meta = canonical.load(store.read(store.sheet_trees(tip)[sheet_id], canonical.SHEET_FILE))
    snapshot = Snapshot(sheet_id, meta, history.rows(tip, sheet_id) or {}, store.info(tip).time)
    found = evaluate(snapshot, settings, history.baseline(sheet_id), history.memo)
    stored = violations_of(history, store.info(tip), sheet_id, settings)
    store.close()
    if {v.identity: v for v in found} != stored:
        raise RuntimeError(f"the violations stored at the tip of {ref} are not the rules'")
