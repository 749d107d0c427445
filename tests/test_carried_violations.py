"""A snapshot taken on a parent with stored violations checks only the rows that changed
against their weeks' baselines; the parent's violations carry the rest. What it stores is
what the rules find when every closed week is compared whole."""

from __future__ import annotations

import pytest

from auditor.audit.evaluate import History, parse_violations, violations_path
from auditor.audit.rules import Snapshot, evaluate
from auditor.audit.settings import load_settings
from auditor.config import Config
from auditor.snapshot import canonical
from auditor.store.gitstore import Store
from tests.helpers import snapshot_at
from tests.test_rules import WEEK, billing, line

SETTINGS = load_settings(Config())
NEXT_WEEK = {WEEK: "2026-11-20"}
# The week ending 2026-11-13 closes at 2026-11-15T00:00Z (a day's grace).
START = {"1": line(1), "2": line(2), "3": line(3), "4": line(4, **NEXT_WEEK)}
STEPS = [
    ("2026-11-12T10:00:00", START),
    ("2026-11-14T10:00:00", {**START, "1": line(1, Quantity=3)}),
    # The week closed since: its baseline is the snapshot before, the parent.
    (
        "2026-11-16T10:00:00",
        {**START, "1": line(1, Quantity=3), "4": line(4, Quantity=5, **NEXT_WEEK)},
    ),
    ("2026-11-16T12:00:00", {**START, "1": line(1, Quantity=3), "2": line(2, Quantity=9)}),
    (
        "2026-11-16T14:00:00",
        {
            **START,
            "1": line(1, Quantity=3),
            "2": line(2, Quantity=9),
            "4": line(4, Quantity=7, **NEXT_WEEK),
        },
    ),
]


def stored(store: Store, commit: str) -> dict:
    tree = store.sheet_trees(commit)["s"]
    data = store.read_path(commit, violations_path("s"))
    return parse_violations(data, "s", SETTINGS.fingerprint, tree)


def whole(store: Store, commit: str) -> dict:
    """The rules on the snapshot as they were before: every closed week against its
    baseline, nothing carried."""
    history = History(store, commit)
    meta = canonical.load(store.read(store.sheet_trees(commit)["s"], canonical.SHEET_FILE))
    snapshot = Snapshot("s", meta, history.rows(commit, "s"), store.info(commit).time)
    found = evaluate(snapshot, SETTINGS, history.baseline("s"), history.memo)
    return {violation.identity: violation for violation in found}


@pytest.fixture
def take(store):
    def snapshot(when: str, rows: dict) -> str:
        result = snapshot_at(store, [billing(rows)], when, SETTINGS)
        assert result.commit is not None
        return result.commit

    return snapshot


def closed_period(violations: dict) -> set[tuple]:
    return {
        (v.key, v.column, v.message) for v in violations.values() if v.rule == "closed-period-edit"
    }


def test_a_violation_in_a_closed_week_is_carried_while_its_row_is_unchanged(store, take):
    commits = [take(when, rows) for when, rows in STEPS]
    assert closed_period(stored(store, commits[2])) == set()
    edit = ("2", "Quantity", "Quantity is 9, billed as 2 in the closed week ending 2026-11-13")
    assert closed_period(stored(store, commits[3])) == {edit}
    assert closed_period(stored(store, commits[4])) == {edit}
    for commit in commits:
        assert stored(store, commit) == whole(store, commit)


def test_only_rows_of_closed_weeks_that_changed_read_a_baseline(store, take, monkeypatch):
    """The commit list (a walk of the whole branch) is read only to find a baseline."""
    for when, rows in STEPS[:4]:
        take(when, rows)
    walks = []
    original = Store.first_parents

    def counted(self, *args, **kwargs):
        walks.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "first_parents", counted)
    take(*STEPS[4])
    assert walks == []
    take("2026-11-16T16:00:00", {**STEPS[4][1], "3": line(3, Quantity=4)})
    assert walks != []


def test_removed_moved_re_added_and_reverted_rows_match_the_whole_rules(store, take):
    """Each step's stored violations are what comparing every closed week finds."""
    rows = dict(STEPS[-1][1])
    commits = [take(when, state) for when, state in STEPS]
    changes = [
        lambda r: r.pop("3"),  # removed from the closed week
        lambda r: r.update({"1": line(1, Quantity=3, **NEXT_WEEK)}),  # moved out of it
        lambda r: r.update({"1": line(1, Quantity=6, **NEXT_WEEK)}),  # changed, still moved
        lambda r: r.update({"2": line(2)}),  # back to what was billed
        lambda r: r.update({"3": line(3)}),  # added again as billed
        lambda r: r.update({"5": line(5)}),  # added to the closed week
    ]
    for hour, change in enumerate(changes):
        change(rows)
        commits.append(take(f"2026-11-17T{hour + 10:02d}:00:00", rows))
        assert stored(store, commits[-1]) == whole(store, commits[-1])
    moved = stored(store, commits[-4])
    assert ("1", WEEK, "row moved out of the closed week ending 2026-11-13") in closed_period(moved)
    assert ("3", None, "row billed in the closed week ending 2026-11-13 was removed") in (
        closed_period(moved)
    )
    assert not any(v.key == "2" for v in stored(store, commits[-3]).values())
    assert closed_period(stored(store, commits[-1])) >= {
        ("5", None, "row added after week ending 2026-11-13 was closed")
    }
