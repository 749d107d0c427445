"""Violations of a pair of snapshots, read from the branch.

Baselines are found from the commits' fetch times in one `git log` call (of commit ids and
times only): for a week closing at time C, the snapshot current at C is the newest one
fetched before C (or, where none predates the close, the first snapshot that has the
sheet). Rows of a baseline are read a few at a time, or parsed once per snapshot folder
and shared by every week and both sides of the pair. A snapshot being taken on a parent
whose violations are stored is checked against baselines only where it changed, so the
commit list is read only when a row of a closed week changed or a week closed since.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import orjson

from auditor.audit.model import Violation, Violations
from auditor.audit.settings import Settings
from auditor.diff.model import Diff
from auditor.snapshot import canonical
from auditor.snapshot.canonical import KEY, SheetFiles
from auditor.snapshot.model import Row
from auditor.store.gitstore import CommitInfo, Store
from auditor.store.invoices import Mark, read_marks

if TYPE_CHECKING:  # the rules are imported where they run (see History.memo)
    from auditor.audit.facts import Baseline, Billed, Invoiced, Memo, Since

log = logging.getLogger("auditor")

PENDING = "pending"


@dataclass(frozen=True)
class Pending:
    """A snapshot being taken, not yet a commit: the sheets read, in memory, on `parent`."""

    when: dt.datetime
    sheets: dict[str, SheetFiles]
    parent: str | None


class History:
    """The branch up to a commit, with each sheet's rows loaded on demand.

    The commit list (one `git log` over the whole branch) is read only when a baseline is
    needed: a pair whose violations are stored never reads it.
    """

    def __init__(self, store: Store, tip: str | None) -> None:
        self.store = store
        self.tip = tip
        self._commits: list[CommitInfo] | None = None
        self._timeline: list[CommitInfo] | None = None
        self._times: list[dt.datetime] = []
        self._trees: dict[str, dict[str, str]] = {}
        self._rows: dict[str, dict[str, Row]] = {}
        self._lines: dict[str, dict[bytes, tuple[str, Row]]] = {}
        self._billed: dict[tuple[str, str], Billed] = {}
        self.pending: dict[str, Pending] = {}

    @cached_property
    def memo(self) -> Memo:
        """Rules' facts shared by the snapshots evaluated here. The rules are imported only
        where they run: a pair whose violations are stored never needs them."""
        from auditor.audit.rules import new_memo

        return new_memo()

    def timeline(self) -> list[CommitInfo]:
        """The snapshots oldest first along the branch, then by fetch time (so snapshots
        fetched in the same second keep their branch order), the ones being taken last."""
        if self._timeline is None:
            if self._commits is None:
                self._commits = (
                    self.store.first_parents(self.tip, messages=False) if self.tip else []
                )
            pending = [self._pending_commit(sha) for sha in self.pending]
            self._timeline = sorted(
                [*reversed(self._commits), *pending], key=lambda commit: commit.time
            )
            self._times = [commit.time for commit in self._timeline]
        return self._timeline

    def add_pending(
        self, when: dt.datetime, sheets: dict[str, SheetFiles], parent: str | None
    ) -> CommitInfo:
        """A snapshot being taken: the sheets read are in memory, the others are carried
        forward from `parent`. Returns its stand-in commit."""
        self.pending[PENDING] = Pending(when, sheets, parent)
        self._timeline = None
        return self._pending_commit(PENDING)

    def _pending_commit(self, sha: str) -> CommitInfo:
        pending = self.pending[sha]
        return CommitInfo(sha, pending.when, "", pending.parent)

    def _read(self, commit: str, sheet_id: str) -> SheetFiles | None:
        """The sheet as read for a snapshot being taken, if it was read."""
        pending = self.pending.get(commit)
        return pending.sheets.get(sheet_id) if pending else None

    def tree(self, commit: str, sheet_id: str) -> str | None:
        if commit in self.pending:
            parent = self.pending[commit].parent
            return self.tree(parent, sheet_id) if parent else None
        if commit not in self._trees:
            self._trees[commit] = self.store.sheet_trees(commit)
        return self._trees[commit].get(sheet_id)

    def rows(self, commit: str, sheet_id: str) -> dict[str, Row] | None:
        read = self._read(commit, sheet_id)
        if read is not None:
            return read.all_rows()
        tree = self.tree(commit, sheet_id)
        if tree is None:
            return None
        if tree not in self._rows:
            self._rows[tree] = self._parse(sheet_id, self.store.sheet_files(tree))
        return self._rows[tree]

    def _parse(self, sheet_id: str, files: canonical.SheetFiles) -> dict[str, Row]:
        """Rows of a snapshot folder; a line already parsed for this sheet yields the same
        row object, so rules evaluated on several snapshots examine an unchanged row once."""
        known = self._lines.setdefault(sheet_id, {})
        lines = files.lines
        fresh = [line for line in lines if line not in known]
        # rows.json lists rows in line order, so the parsed rows pair with their lines.
        parsed = files.parse(fresh)
        for line, pair in zip(fresh, parsed.items(), strict=True):
            known[line] = pair
        return dict(known[line] for line in lines)

    def billed(self, commit: str, sheet_id: str) -> Billed:
        """The sheet in a snapshot as a baseline: one object per snapshot, read a row at a
        time from its file or parsed whole."""
        if (commit, sheet_id) not in self._billed:
            from auditor.audit.facts import Billed

            read = self._read(commit, sheet_id)

            def rows() -> dict[str, Row]:
                found = self.rows(commit, sheet_id)
                assert found is not None
                return found

            def files() -> SheetFiles:
                tree = self.tree(commit, sheet_id)
                assert tree is not None
                return self.store.sheet_files(tree)

            self._billed[commit, sheet_id] = Billed(rows, (lambda: read) if read else files)
        return self._billed[commit, sheet_id]

    def baseline(self, sheet_id: str) -> Baseline:
        """The rows current when a week closed: the newest snapshot fetched before the close
        that has the sheet, else the first that has it. A bisection over the fetch times and
        a short walk, so a long history costs a few tree reads, not one per commit."""

        def billed_at(close: dt.datetime) -> Billed | None:
            chosen = self.baseline_commit(sheet_id, close)
            return self.billed(chosen, sheet_id) if chosen else None

        return billed_at

    def baseline_commit(self, sheet_id: str, close: dt.datetime) -> str | None:
        """The snapshot current when a week closed at `close` (see `baseline`)."""
        commits = self.timeline()
        before = commits[: bisect.bisect_left(self._times, close)]
        chosen = next((c for c in reversed(before) if self._has(c.sha, sheet_id)), None)
        if chosen is None:
            chosen = next((c for c in commits if self._has(c.sha, sheet_id)), None)
        return chosen.sha if chosen else None

    @cached_property
    def marks(self) -> dict[str, list[Mark]]:
        """The invoice marks on the branch up to the tip, by sheet (one git call)."""
        found: dict[str, list[Mark]] = {}
        for mark in read_marks(self.store, self.tip):
            found.setdefault(mark.sheet_id, []).append(mark)
        return found

    def applying(self, sheet_id: str, at: dt.datetime) -> dict[dt.date, Mark]:
        """The sheet's marks that apply to a snapshot fetched at `at`: those made on it or
        on an earlier snapshot (whose snapshot has the sheet), by week."""
        return {
            mark.week: mark
            for mark in self.marks.get(sheet_id, [])
            if mark.time <= at and self._has(mark.commit, sheet_id)
        }

    def invoiced(self, sheet_id: str, at: dt.datetime) -> Invoiced:
        """The weeks billed by invoice marks for a snapshot fetched at `at`."""
        marks = self.applying(sheet_id, at)

        def billed(week: dt.date) -> tuple[dt.datetime, Billed] | None:
            mark = marks.get(week)
            return (mark.time, self.billed(mark.commit, sheet_id)) if mark else None

        return billed

    def fingerprint(self, sheet_id: str, settings: Settings, at: dt.datetime) -> str:
        """What stored violations depend on: the settings, and the invoice marks that apply
        (a mark made later on an earlier snapshot makes its stored violations stale)."""
        marks = self.applying(sheet_id, at)
        if not marks:
            return settings.fingerprint
        named = "\n".join(f"{week}={marks[week].commit}" for week in sorted(marks))
        return f"{settings.fingerprint}+{hashlib.sha1(named.encode()).hexdigest()[:12]}"

    def _has(self, commit: str, sheet_id: str) -> bool:
        return self._read(commit, sheet_id) is not None or self.tree(commit, sheet_id) is not None

    def since(self, commit: CommitInfo, sheet_id: str, settings: Settings) -> Since | None:
        """What a snapshot being taken carries from its parent for one sheet: None where
        the parent lacks the sheet or its violations stored by these rules."""
        parent = self.pending[commit.sha].parent
        tree = self.tree(parent, sheet_id) if parent else None
        if parent is None or tree is None:
            return None
        stored = self.store.read_path(parent, violations_path(sheet_id))
        parent_time = self.store.info(parent).time
        fingerprint = self.fingerprint(sheet_id, settings, parent_time)
        found = parse_violations(stored, sheet_id, fingerprint, tree) if stored else None
        if found is None:
            return None
        read = self._read(commit.sha, sheet_id)
        changed = _changed_keys(self.store.sheet_files(tree), read) if read else set()
        from auditor.audit.facts import Since

        return Since(parent_time, self.billed(parent, sheet_id), list(found.values()), changed)


def _changed_keys(old: SheetFiles, new: SheetFiles) -> set[str]:
    """The keys of the rows added, removed or changed: those whose lines differ."""
    old_lines, new_lines = set(old.lines), set(new.lines)
    differ = (old_lines - new_lines) | (new_lines - old_lines)
    return {orjson.loads(match.group()) for match in map(KEY.match, differ) if match}


def violations_of(
    history: History, commit: CommitInfo | None, sheet_id: str, settings: Settings
) -> dict[tuple, Violation]:
    """The violations of one sheet in one snapshot, by identity (empty where it is absent):
    as stored with the snapshot when the rules then were the same, else evaluated now (for
    a snapshot being taken, from its parent's where they are stored)."""
    if commit is None:
        return {}
    since = None
    if commit.sha == PENDING:
        since = history.since(commit, sheet_id, settings)
    else:
        stored = history.store.read_path(commit.sha, violations_path(sheet_id))
        tree = history.tree(commit.sha, sheet_id)
        if stored is not None and tree is not None:
            fingerprint = history.fingerprint(sheet_id, settings, commit.time)
            found = parse_violations(stored, sheet_id, fingerprint, tree)
            if found is not None:
                return found
    rows = history.rows(commit.sha, sheet_id)
    if rows is None:
        return {}
    meta = _meta(history, commit.sha, sheet_id)
    from auditor.audit.rules import Snapshot, evaluate

    snapshot = Snapshot(sheet_id, meta, rows, commit.time)
    invoiced = history.invoiced(sheet_id, commit.time)
    found = evaluate(snapshot, settings, history.baseline(sheet_id), history.memo, since, invoiced)
    return {violation.identity: violation for violation in found}


def _meta(history: History, commit: str, sheet_id: str) -> dict:
    read = history._read(commit, sheet_id)
    if read is not None:
        return read.meta
    tree = history.tree(commit, sheet_id)
    assert tree is not None
    return canonical.load(history.store.read(tree, canonical.SHEET_FILE))


def classify(
    old: dict[tuple, Violation], new: dict[tuple, Violation], settings: Settings, on: dt.date
) -> Violations:
    """new, resolved, ongoing, and waived (new or ongoing ones a waiver covers)."""
    result = Violations([], [], [], [])
    for identity, violation in sorted(new.items(), key=_order):
        if settings.waiver_for(violation.rule, violation.key, violation.column, on):
            result.waived.append(violation)
        elif identity in old:
            result.ongoing.append(violation)
        else:
            result.new.append(violation)
    result.resolved = [
        old[i] for i in sorted(old, key=lambda i: _order((i, old[i]))) if i not in new
    ]
    return result


def open_counts(
    violations: dict[tuple, Violation], settings: Settings, on: dt.date
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for violation in violations.values():
        if not settings.waiver_for(violation.rule, violation.key, violation.column, on):
            counts[violation.rule] = counts.get(violation.rule, 0) + 1
    return dict(sorted(counts.items()))


def _order(item: tuple) -> tuple:
    violation = item[1]
    return (violation.key, violation.rule, violation.column or "")


def audit_pair(store: Store, diff: Diff, settings: Settings) -> dict[str, Violations]:
    """Each sheet's violations in the pair, by status (new, resolved, ongoing, waived). A
    sheet that joined the audit brings none new (what it held is its baseline), one that
    left resolves none (it is gone, not corrected), and one back in the audit is compared
    with its last snapshot before it left."""
    later = diff.new if diff.new.time >= diff.old.time else diff.old
    history = History(store, later.commit)
    old = CommitInfo(diff.old.commit, diff.old.time, "", None)
    new = CommitInfo(diff.new.commit, diff.new.time, "", None)
    on = diff.new.time.date()
    found = {}
    for sheet in diff.sheets:
        if sheet.status in ("added", "removed"):
            found[sheet.sheet_id] = Violations([], [], [], [])
            continue
        before = old
        if sheet.compared_with:
            before = CommitInfo(sheet.compared_with, store.info(sheet.compared_with).time, "", None)
        found[sheet.sheet_id] = classify(
            violations_of(history, before, sheet.sheet_id, settings),
            violations_of(history, new, sheet.sheet_id, settings),
            settings,
            on,
        )
    return found


@dataclass(frozen=True)
class Found:
    """A sheet's violations in a snapshot being taken, and the fingerprint to store them
    under (`History.fingerprint`)."""

    violations: dict[tuple, Violation]
    fingerprint: str


def pending_violations(
    store: Store,
    parent: str | None,
    when: dt.datetime,
    read: dict[str, SheetFiles],
    settings: Settings,
) -> dict[str, Found]:
    """The violations of every sheet of a snapshot being taken: the sheets read now and
    those carried forward from `parent` (whose violations can change as weeks close)."""
    history = History(store, parent)
    pending = history.add_pending(when, read, parent)
    sheets = set(read) | set(store.sheet_trees(parent))
    return {
        sheet_id: Found(
            violations_of(history, pending, sheet_id, settings),
            history.fingerprint(sheet_id, settings, when),
        )
        for sheet_id in sorted(sheets)
    }


VIOLATIONS_FOLDER = "audit"


def violations_path(sheet_id: str) -> str:
    return f"{VIOLATIONS_FOLDER}/{sheet_id}.json"


def violations_file(violations: dict[tuple, Violation], fingerprint: str, tree: str) -> bytes:
    """`audit/<sheet_id>.json`: the rules' fingerprint and the sheet's folder tree they were
    found in, then one violation per line."""
    items = sorted(violations.values(), key=lambda v: (v.key, v.rule, v.column or ""))
    lines = [orjson.dumps(v.to_json(), option=orjson.OPT_SORT_KEYS) for v in items]
    head = b'{"rules":' + orjson.dumps(fingerprint) + b',"tree":' + orjson.dumps(tree)
    body = b",\n".join(lines)
    return head + b',"violations":[' + (b"\n" + body + b"\n" if lines else b"") + b"]}\n"


def parse_violations(
    data: bytes, sheet_id: str, fingerprint: str, tree: str
) -> dict[tuple, Violation] | None:
    """The stored violations, if they were found by these rules in this very folder (a
    hand edit of the rows leaves the file of another folder behind); else None, and the
    caller evaluates the rules again. The file is a record that can be made again, so one
    that does not parse is made again too, with a warning."""
    try:
        document = orjson.loads(data)
        if document.get("rules") != fingerprint or document.get("tree", tree) != tree:
            return None
        found = [Violation(sheet_id=sheet_id, **item) for item in document["violations"]]
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError) as error:
        log.warning(
            "stored violations of sheet %s do not parse (%s); evaluated again", sheet_id, error
        )
        return None
    return {violation.identity: violation for violation in found}
