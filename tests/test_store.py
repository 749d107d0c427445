"""The snapshots branch on real repositories: one commit per change, the user's work untouched."""

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from auditor.commands.snapshot import take_snapshot
from auditor.errors import GitError
from auditor.sources.files import read_file
from auditor.sources.smartsheet_rows import sheet_from_api
from auditor.store.gitstore import Store
from auditor.store.message import sheet_records
from demo import billing
from tests.helpers import AUTHOR, git, write_csv

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
MONEY = ("Units Total Price",)


def snap(store, sheets, when=T0, **options):
    return take_snapshot(
        store, sheets, author=AUTHOR, fetched_at=when, money_columns=MONEY, **options
    )


def csv_sheet(tmp_path, rows, name="billing"):
    path = write_csv(tmp_path / f"{name}.csv", ["WR", "Quantity"], rows)
    return read_file(path, key_columns=["WR"])


def user_state(repo: Path) -> dict:
    """Everything of the user's that a snapshot must leave byte-for-byte as it was."""
    files = {
        str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(repo.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }
    return {
        "files": files,
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
        "HEAD": (repo / ".git" / "HEAD").read_text(),
        "head commit": git(repo, "rev-parse", "HEAD"),
        "status": git(repo, "status", "--porcelain"),
        "current branch": git(repo, "symbolic-ref", "HEAD"),
        "other refs": [
            line
            for line in git(repo, "for-each-ref").splitlines()
            if not line.endswith("refs/heads/snapshots")
        ],
    }


def branch_commits(repo: Path) -> list[str]:
    return git(repo, "rev-list", "snapshots").split()


def test_a_change_makes_one_commit_and_no_change_makes_none(repo, store, tmp_path):
    before = user_state(repo)
    first = snap(store, [csv_sheet(tmp_path, [["W1", "1"], ["W2", "2"]])])
    assert first.baseline and len(branch_commits(repo)) == 1
    again = snap(
        store, [csv_sheet(tmp_path, [["W2", "2"], ["W1", "1"]])], T0 + dt.timedelta(hours=2)
    )
    assert again.commit is None and len(branch_commits(repo)) == 1
    edited = snap(
        store, [csv_sheet(tmp_path, [["W1", "5"], ["W2", "2"]])], T0 + dt.timedelta(hours=4)
    )
    assert edited.commit == git(repo, "rev-parse", "snapshots")
    assert branch_commits(repo) == [edited.commit, first.commit]
    assert git(repo, "rev-parse", f"{edited.commit}^") == first.commit
    assert user_state(repo) == before


def test_commit_has_the_contract_files_author_time_and_trailers(repo, store, tmp_path):
    snap(store, [csv_sheet(tmp_path, [["W1", "1"], ["W2", "2"]])])
    result = snap(
        store, [csv_sheet(tmp_path, [["W1", "3"], ["W3", "1"]])], T0 + dt.timedelta(hours=2)
    )
    files = git(repo, "ls-tree", "-r", "--name-only", result.commit).split()
    assert files == [
        "README.md",
        "changes/billing/record.json",
        "changes/billing/rows.json",
        "snapshots/billing/rows.json",
        "snapshots/billing/sheet.json",
        "snapshots/billing/summary.json",
    ]
    stamp = git(repo, "log", "-1", "--format=%an <%ae>|%aI|%cI", result.commit)
    author = "auditor <auditor@users.noreply.github.com>"
    assert stamp == f"{author}|2026-11-20T12:00:00+00:00|2026-11-20T12:00:00+00:00"
    message = git(repo, "log", "-1", "--format=%B", result.commit)
    assert message.splitlines()[0] == "billing: +1 row, -1 row, 1 cell"
    assert "row W1 Quantity: 1 -> 3" in message
    changes = orjson.loads(git(repo, "show", f"{result.commit}:changes/billing/record.json"))
    assert (changes["added"], changes["removed"], changes["cells"]) == (
        ["W3"],
        ["W2"],
        {"W1": ["Quantity"]},
    )
    changed_rows = git(repo, "show", f"{result.commit}:changes/billing/rows.json")
    assert changed_rows.splitlines()[1].startswith('"W1":{') and '"W3":{' in changed_rows
    assert '"W2"' not in changed_rows
    assert "Fetched-At: 2026-11-20T12:00:00Z" in message
    record = sheet_records(message)["billing"]
    assert (record.rows, record.cells, record.added, record.removed, record.changed) == (
        2,
        4,
        1,
        1,
        1,
    )


def test_nothing_in_the_files_depends_on_when_the_snapshot_was_taken(tmp_path):
    trees = []
    for hours in (0, 5):
        path = tmp_path / f"r{hours}"
        path.mkdir()
        git(path, "init", "-q")
        store = Store(path, "snapshots")
        result = snap(store, [csv_sheet(tmp_path, [["W1", "1"]])], T0 + dt.timedelta(hours=hours))
        trees.append(store.sheet_trees(result.commit)["billing"])
        store.close()
    assert trees[0] == trees[1]


def test_row_metadata_and_version_alone_make_no_commit(repo, store):
    data = billing.make_sheet(rows=4)
    snap(store, [sheet_from_api(data, money_columns=MONEY)])
    data["version"] += 7
    data["rows"][0]["modifiedAt"] = "2026-11-21T09:00:00Z"
    data["rows"][0]["modifiedBy"] = {"email": "someone.else@example.com"}
    result = snap(store, [sheet_from_api(data, money_columns=MONEY)], T0 + dt.timedelta(hours=1))
    assert result.commit is None
    data["rows"][0]["cells"][12]["formula"] = "=1+1"
    result = snap(store, [sheet_from_api(data, money_columns=MONEY)], T0 + dt.timedelta(hours=2))
    assert result.commit is not None
    assert [c.column for c in result.diffs[0].formulas_changed] == ["Quantity"]


def test_a_sheet_not_read_this_time_is_carried_forward(repo, store, tmp_path):
    snap(store, [csv_sheet(tmp_path, [["W1", "1"]], name="north")])
    south = snap(
        store, [csv_sheet(tmp_path, [["S1", "1"]], name="south")], T0 + dt.timedelta(hours=1)
    )
    trees = store.sheet_trees(south.commit)
    assert sorted(trees) == ["north", "south"]
    assert trees["north"] == store.sheet_trees(south.parent)["north"]
    readme = git(repo, "show", f"{south.commit}:README.md")
    assert "| north |" in readme and "| south |" in readme


def test_a_failure_after_writing_objects_leaves_the_branch_where_it_was(repo, store, tmp_path):
    first = snap(store, [csv_sheet(tmp_path, [["W1", "1"]])])

    def crash(attempt):
        raise RuntimeError("killed between writing objects and moving the branch")

    with pytest.raises(RuntimeError):
        snap(
            store,
            [csv_sheet(tmp_path, [["W1", "2"]])],
            T0 + dt.timedelta(hours=1),
            before_update=crash,
        )
    assert git(repo, "rev-parse", "snapshots") == first.commit
    assert git(repo, "fsck", "--no-dangling") == ""


def test_a_lost_race_is_remade_on_the_new_tip(repo, store, tmp_path):
    snap(store, [csv_sheet(tmp_path, [["W1", "1"]], name="north")])
    rival_store = Store(repo, "snapshots")
    south = csv_sheet(tmp_path, [["S1", "1"]], name="south")

    def rival_lands_first(attempt):
        if attempt == 1:
            snap(rival_store, [south], T0 + dt.timedelta(minutes=30))

    north = csv_sheet(tmp_path, [["W1", "9"]], name="north")
    result = snap(store, [north], T0 + dt.timedelta(hours=1), before_update=rival_lands_first)
    rival_store.close()
    commits = branch_commits(repo)
    assert len(commits) == 3 and commits[0] == result.commit
    assert sorted(store.sheet_trees(result.commit)) == ["north", "south"]
    assert (
        git(repo, "show", f"{result.commit}:snapshots/north/rows.json").count('"Quantity":9') == 1
    )


def test_two_processes_snapshotting_at_once_both_land(repo, tmp_path):
    """Real processes released together; whoever loses a race re-makes its commit."""
    script = (
        "import sys, datetime as dt\n"
        "from pathlib import Path\n"
        "from auditor.commands.snapshot import take_snapshot\n"
        "from auditor.sources.files import read_file\n"
        "from auditor.store.gitstore import Store\n"
        "from tests.helpers import AUTHOR\n"
        "repo, name = Path(sys.argv[1]), sys.argv[2]\n"
        "sheets = [read_file(Path(sys.argv[3]), key_columns=['WR'], sheet_id=name)]\n"
        "store = Store(repo, 'snapshots')\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
        "sys.stdin.readline()\n"
        "print(take_snapshot(store, sheets, author=AUTHOR).commit)\n"
    )
    processes = []
    for name in ("one", "two", "three"):
        source = write_csv(tmp_path / f"{name}.csv", ["WR", "Q"], [[name, "1"]])
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(repo), name, str(source)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[1],
        )
        assert process.stdout.readline() == "ready\n"
        processes.append(process)
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    commits = [process.communicate(timeout=60)[0].strip() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sorted(branch_commits(repo)) == sorted(commits)
    tip = git(repo, "rev-parse", "snapshots")
    assert git(repo, "ls-tree", "--name-only", f"{tip}:snapshots").split() == [
        "one",
        "three",
        "two",
    ]


def test_works_in_an_empty_and_in_a_bare_repository(tmp_path):
    for args in (["init", "-q"], ["init", "-q", "--bare"]):
        path = tmp_path / args[-1]
        path.mkdir()
        git(path, *args)
        store = Store(path, "snapshots")
        result = snap(store, [csv_sheet(tmp_path, [["W1", "1"]])])
        assert git(path, "rev-parse", "snapshots") == result.commit
        store.close()


def test_not_a_repository_is_a_git_error(tmp_path):
    with pytest.raises(GitError, match="is not a git repository"):
        Store(tmp_path, "snapshots")


def loose_and_packs(repo: Path) -> tuple[int, int]:
    counts = dict(line.split(": ") for line in git(repo, "count-objects", "-v").splitlines())
    return int(counts["count"]), int(counts["packs"])


@pytest.mark.parametrize("gc_auto", [None, "0"])
def test_snapshots_are_packed_once_loose_objects_gather(repo, store, gc_auto):
    """`git gc --auto` after each snapshot, at the tool's threshold unless the repository
    sets its own (0: never)."""
    if gc_auto is not None:
        git(repo, "config", "gc.auto", gc_auto)
    columns = [{"id": 1, "index": 0, "title": "WR", "primary": True}]
    for n in range(100):
        rows = [
            {"id": key, "rowNumber": key, "cells": [{"columnId": 1, "value": f"WR-{key}-{n}"}]}
            for key in range(1, 40)
        ]
        sheet = {"id": 1, "name": "B", "columns": columns, "rows": rows}
        take_snapshot(
            store,
            [sheet_from_api(sheet)],
            author=AUTHOR,
            fetched_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC) + dt.timedelta(hours=2 * n),
        )
    loose, packs = loose_and_packs(repo)
    if gc_auto == "0":
        assert packs == 0 and loose > 500
    else:
        assert packs >= 1 and loose < 500
    assert len(git(repo, "rev-list", "snapshots").split()) == 100
    assert git(repo, "fsck", "--no-dangling") == ""
