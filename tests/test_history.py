"""`auditor history`: a row's (or a cell's) versions across snapshots, from the change
records, and the same answer from commits that have none."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import orjson
import pytest

from auditor.commands.history import row_history
from auditor.commands.snapshot import take_snapshot
from auditor.snapshot.model import Column, Sheet
from auditor.store import gitstore
from tests.helpers import AUTHOR, GIT_ENV, as_rows, git

COLUMNS = [Column("WR", 0, id=1), Column("Quantity", 1, id=2), Column("Foreman", 2, id=3)]
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


def row(quantity: int, foreman: str = "K. Brooks", by: str = "kim@example.com") -> dict:
    return {"WR": "WR-1", "Quantity": quantity, "Foreman": foreman, "_modified_by": by}


OTHER = {"WR": "WR-2", "Quantity": 1}
# Snapshot by snapshot: row "1" is added, its quantity edited twice, its foreman once, it is
# deleted and then re-added; row "2" changes alone in between.
STATES = [
    {"1": row(2), "2": OTHER},
    {"1": row(3, by="lee@example.com"), "2": OTHER},
    {"1": row(3, by="lee@example.com"), "2": {**OTHER, "Quantity": 9}},
    {"1": row(3, "M. Chen", by="max@example.com"), "2": {**OTHER, "Quantity": 9}},
    {"2": {**OTHER, "Quantity": 9}},
    {"1": row(5, by="ana@example.com"), "2": {**OTHER, "Quantity": 9}},
]


@pytest.fixture
def commits(store) -> list[str]:
    made = []
    for n, rows in enumerate(STATES):
        result = take_snapshot(
            store,
            [Sheet("billing", "Billing", COLUMNS, as_rows(rows))],
            author=AUTHOR,
            fetched_at=T0 + dt.timedelta(hours=2 * n),
        )
        made.append(result.commit)
    return made


def summary(history) -> list[tuple]:
    return [
        (v.change, v.columns, v.row.cells.get("Quantity"), v.row.modified_by)
        for v in history.versions
    ]


EXPECTED = [
    ("added", [], 2, "kim@example.com"),
    ("changed", ["Quantity"], 3, "lee@example.com"),
    ("changed", ["Foreman"], 3, "max@example.com"),
    ("removed", [], 3, "max@example.com"),
    ("added", [], 5, "ana@example.com"),
]


def test_a_rows_whole_history_deleted_and_re_added(store, commits):
    history = row_history(store, "1")
    assert summary(history) == EXPECTED
    assert [v.commit for v in history.versions] == [commits[i] for i in (0, 1, 3, 4, 5)]
    assert history.versions[0].time == T0


def test_a_cells_history_lists_exactly_the_snapshots_where_it_changed(store, commits):
    history = row_history(store, "1", column="Quantity")
    assert [(v.commit, v.change, v.row.cells.get("Quantity")) for v in history.versions] == [
        (commits[0], "added", 2),
        (commits[1], "changed", 3),
        (commits[4], "removed", 3),
        (commits[5], "added", 5),
    ]
    other = row_history(store, "2", column="Quantity")
    assert [v.commit for v in other.versions] == [commits[0], commits[2]]


def test_since_starts_after_a_snapshot(store, commits):
    history = row_history(store, "1", since=commits[2])
    assert [(v.commit, v.change) for v in history.versions] == [
        (commits[3], "changed"),
        (commits[4], "removed"),
        (commits[5], "added"),
    ]


def without_change_records(repo) -> None:
    """Rewrite the branch as snapshots made before change records existed would be."""
    parent = None
    for sha in git(repo, "rev-list", "--reverse", "--first-parent", "snapshots").split():
        entries = [
            line for line in git(repo, "ls-tree", sha).splitlines() if "\tchanges" not in line
        ]
        tree = subprocess.run(
            ["git", "mktree"],
            cwd=repo,
            input="\n".join(entries) + "\n",
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        when = git(repo, "log", "-1", "--format=%aI", sha)
        message = git(repo, "log", "-1", "--format=%B", sha)
        parents = ["-p", parent] if parent else []
        parent = subprocess.run(
            ["git", "commit-tree", tree, *parents, "-m", message],
            cwd=repo,
            env={**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    git(repo, "update-ref", "refs/heads/snapshots", parent)


def test_commits_without_change_records_give_the_same_history(repo, store, commits):
    without_change_records(repo)
    assert "changes" not in git(repo, "ls-tree", "--name-only", "snapshots")
    assert summary(row_history(store, "1")) == EXPECTED
    cell = row_history(store, "1", column="Quantity")
    assert [v.change for v in cell.versions] == ["added", "changed", "removed", "added"]


def test_the_command(repo, cli, commits):
    table = cli("history", "1", "--column", "Quantity")
    assert table.returncode == 0, table.stderr
    assert "row 1, column Quantity in sheet billing: 4 changes" in table.stdout
    assert table.stdout.count("lee@example.com") == 1 and "max@example.com" in table.stdout
    document = orjson.loads(cli("history", "1", "--format", "json").stdout)
    assert [v["change"] for v in document["versions"]] == [e[0] for e in EXPECTED]
    assert document["versions"][1]["row"] == {"Foreman": "K. Brooks", "Quantity": 3, "WR": "WR-1"}
    assert document["versions"][1]["modified_by"] == "lee@example.com"
    unknown = cli("history", "nope")
    assert unknown.returncode == 2
    assert (
        unknown.stderr
        == "auditor: error: row 'nope' is in no snapshot of sheet billing on 'snapshots'\n"
    )
    assert cli("history", "1", "--sheet", "other").returncode == 2


def forget_walks(repo) -> None:
    shutil.rmtree(repo / ".git" / "auditor", ignore_errors=True)


@pytest.mark.parametrize("segment", [1, 2, 5])
def test_a_branch_walked_in_two_parts_gives_the_same_history(
    repo, store, commits, monkeypatch, segment
):
    """A long branch is walked by two git processes; the parts meet without a gap."""
    whole = [row_history(store, key) for key in ("1", "2")]
    since = row_history(store, "1", since=commits[1])
    forget_walks(repo)
    monkeypatch.setattr(gitstore, "SEGMENT", segment)
    assert [row_history(store, key) for key in ("1", "2")] == whole
    assert row_history(store, "1", since=commits[1]) == since
    assert summary(whole[0]) == EXPECTED


def test_the_walk_is_kept_and_the_next_one_walks_only_new_snapshots(
    repo, store, commits, monkeypatch
):
    walks = []
    walk = gitstore.Store._walk

    def counted(self, tip, paths, since):
        walks.append(since)
        return walk(self, tip, paths, since)

    monkeypatch.setattr(gitstore.Store, "_walk", counted)
    first = row_history(store, "1")
    assert walks == [None] and row_history(store, "1") == first and walks == [None]
    later = take_snapshot(
        store,
        [Sheet("billing", "Billing", COLUMNS, as_rows({"1": row(7, by="bo@example.com")}))],
        author=AUTHOR,
        fetched_at=T0 + dt.timedelta(hours=20),
    ).commit
    kept = row_history(store, "1")
    assert walks == [None, commits[-1]]
    assert [v.commit for v in kept.versions] == [*[v.commit for v in first.versions], later]
    forget_walks(repo)
    assert row_history(store, "1") == kept


def test_a_damaged_or_outgrown_kept_walk_is_walked_again(repo, store, commits):
    whole = row_history(store, "1")
    (kept,) = (repo / ".git" / "auditor").glob("walk-*.json")
    kept.write_text('{"tip": "x", "commits": [[1, 2')
    assert row_history(store, "1") == whole
    git(repo, "update-ref", "refs/heads/snapshots", commits[2])
    shorter = row_history(store, "1")
    assert [v.commit for v in shorter.versions] == [commits[0], commits[1]]
    git(repo, "update-ref", "refs/heads/snapshots", commits[-1])
    assert row_history(store, "1") == whole
