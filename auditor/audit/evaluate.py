"""Violations of a pair of snapshots, read from the branch.

Baselines are found from the commits' fetch times in one `git log` call: for a week closing
at time C, the snapshot current at C is the newest one fetched before C (or, where none
predates the close, the first snapshot that has the sheet). Rows of a baseline are parsed
once per snapshot folder and shared by every week and both sides of the pair.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging

import orjson

from auditor.audit.model import Violation, Violations
from auditor.audit.rules import Baseline, Memo, Snapshot, evaluate
from auditor.audit.settings import Settings
from auditor.diff.model import Diff
from auditor.snapshot import canonical
from auditor.snapshot.model import Row
from auditor.store.gitstore import CommitInfo, Store

log = logging.getLogger("auditor")

PENDING = "pending"


class History:
    """The branch up to a commit, with each sheet's rows loaded on demand.

    The commit list (one `git log` over the whole branch) is read only when a baseline is
    needed: a pair whose violations are stored never reads it.
    """

    def __init__(self, store: Store, tip: str | None) -> None:
        self.store = store
        self.tip = tip
        self._commits: list[CommitInfo] | None = None
        self._trees: dict[str, dict[str, str]] = {}
        self._rows: dict[str, dict[str, Row]] = {}
        self._lines: dict[str, dict[bytes, tuple[str, Row]]] = {}
        self.memo = Memo()
        self.pending: dict[str, tuple[dict[str, dict[str, Row]], dict[str, dict], str | None]] = {}

    @property
    def commits(self) -> list[CommitInfo]:
        if self._commits is None:
            self._commits = self.store.first_parents(self.tip, messages=False) if self.tip else []
        return self._commits

    def add_pending(
        self,
        when: dt.datetime,
        rows: dict[str, dict[str, Row]],
        metas: dict[str, dict],
        parent: str | None,
    ) -> CommitInfo:
        """A snapshot being taken, not yet a commit: the sheets read are in memory, the
        others are carried forward from `parent`. Returns its stand-in commit."""
        pending = CommitInfo(PENDING, when, "", parent)
        self.commits.append(pending)
        self.pending[pending.sha] = (rows, metas, parent)
        return pending

    def tree(self, commit: str, sheet_id: str) -> str | None:
        if commit in self.pending:
            parent = self.pending[commit][2]
            return self.tree(parent, sheet_id) if parent else None
        if commit not in self._trees:
            self._trees[commit] = self.store.sheet_trees(commit)
        return self._trees[commit].get(sheet_id)

    def rows(self, commit: str, sheet_id: str) -> dict[str, Row] | None:
        if commit in self.pending and sheet_id in self.pending[commit][0]:
            return self.pending[commit][0][sheet_id]
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

    def baseline(self, sheet_id: str) -> Baseline:
        """The rows current when a week closed: the newest snapshot fetched before the close
        that has the sheet, else the first that has it. A bisection over the fetch times and
        a short walk, so a long history costs a few tree reads, not one per commit."""
        # Oldest first along the branch, then by time: snapshots fetched in the same second
        # keep their branch order, so "the first" is the branch's first.
        taken = [c for c in self.commits if c.sha != PENDING]
        pending = [c for c in self.commits if c.sha == PENDING]
        commits = sorted([*reversed(taken), *pending], key=lambda commit: commit.time)
        times = [commit.time for commit in commits]

        def rows_at(close: dt.datetime) -> dict[str, Row] | None:
            before = commits[: bisect.bisect_left(times, close)]
            chosen = next((c for c in reversed(before) if self._has(c.sha, sheet_id)), None)
            if chosen is None:
                chosen = next((c for c in commits if self._has(c.sha, sheet_id)), None)
            return self.rows(chosen.sha, sheet_id) if chosen else None

        return rows_at

    def _has(self, commit: str, sheet_id: str) -> bool:
        if commit in self.pending and sheet_id in self.pending[commit][0]:
            return True
        return self.tree(commit, sheet_id) is not None


def violations_of(
    history: History, commit: CommitInfo | None, sheet_id: str, settings: Settings
) -> dict[tuple, Violation]:
    """The violations of one sheet in one snapshot, by identity (empty where it is absent):
    as stored with the snapshot when the rules then were the same, else evaluated now."""
    if commit is None:
        return {}
    if commit.sha != PENDING:
        stored = history.store.read_path(commit.sha, violations_path(sheet_id))
        tree = history.tree(commit.sha, sheet_id)
        if stored is not None and tree is not None:
            found = parse_violations(stored, sheet_id, settings.fingerprint, tree)
            if found is not None:
                return found
    rows = history.rows(commit.sha, sheet_id)
    if rows is None:
        return {}
    meta = _meta(history, commit.sha, sheet_id)
    snapshot = Snapshot(sheet_id, meta, rows, commit.time)
    found = evaluate(snapshot, settings, history.baseline(sheet_id), history.memo)
    return {violation.identity: violation for violation in found}


def _meta(history: History, commit: str, sheet_id: str) -> dict:
    if commit in history.pending and sheet_id in history.pending[commit][1]:
        return history.pending[commit][1][sheet_id]
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
    """Each sheet's violations in the pair, by status (new, resolved, ongoing, waived)."""
    later = diff.new if diff.new.time >= diff.old.time else diff.old
    history = History(store, later.commit)
    old = CommitInfo(diff.old.commit, diff.old.time, "", None)
    new = CommitInfo(diff.new.commit, diff.new.time, "", None)
    on = diff.new.time.date()
    return {
        sheet.sheet_id: classify(
            violations_of(history, old, sheet.sheet_id, settings),
            violations_of(history, new, sheet.sheet_id, settings),
            settings,
            on,
        )
        for sheet in diff.sheets
    }


def pending_violations(
    store: Store,
    parent: str | None,
    when: dt.datetime,
    read: dict[str, tuple[dict[str, Row], dict]],
    settings: Settings,
) -> dict[str, dict[tuple, Violation]]:
    """The violations of every sheet of a snapshot being taken: the sheets read now and
    those carried forward from `parent` (whose violations can change as weeks close)."""
    history = History(store, parent)
    pending = history.add_pending(
        when,
        {sheet_id: rows for sheet_id, (rows, _) in read.items()},
        {sheet_id: meta for sheet_id, (_, meta) in read.items()},
        parent,
    )
    sheets = set(read) | set(store.sheet_trees(parent))
    return {
        sheet_id: violations_of(history, pending, sheet_id, settings) for sheet_id in sorted(sheets)
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
