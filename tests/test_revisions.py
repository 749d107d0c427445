"""One revision grammar, always on the snapshots branch, whatever the user has checked out."""

import datetime as dt
import logging

import pytest

from auditor.commands.snapshot import take_snapshot
from auditor.errors import UsageError
from auditor.sources.files import read_file
from auditor.store.gitstore import Store
from auditor.store.revisions import resolve
from tests.helpers import AUTHOR, git, write_csv

DAY = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def history(repo, store, tmp_path):
    """Four snapshots: 20 Nov 08:00 and 22:00 UTC, 21 Nov 08:00, 23 Nov 08:00."""
    times = [DAY, DAY.replace(hour=22), DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=3)]
    commits = []
    for number, when in enumerate(times):
        path = write_csv(tmp_path / "b.csv", ["WR", "Q"], [["W1", str(number)]])
        sheet = read_file(path, key_columns=["WR"])
        commits.append(take_snapshot(store, [sheet], author=AUTHOR, fetched_at=when).commit)
    return commits[::-1]


def test_head_and_first_parent_steps(store, history):
    assert resolve(store, "HEAD") == history[0]
    assert resolve(store, "HEAD~1") == history[1]
    assert resolve(store, "HEAD~3") == history[3]
    assert resolve(store, "HEAD^^") == history[2]
    assert resolve(store, "HEAD~") == history[1]
    assert resolve(store, "HEAD~1~1") == history[2]


def test_ids_and_tags(repo, store, history):
    assert resolve(store, history[2][:8]) == history[2]
    git(repo, "tag", "invoiced-week-47", history[1])
    assert resolve(store, "invoiced-week-47") == history[1]
    assert resolve(store, "invoiced-week-47~1") == history[2]


def test_at_date_is_the_last_snapshot_at_or_before_the_end_of_that_utc_day(store, history):
    assert resolve(store, "@2026-11-20") == history[2]
    assert resolve(store, "@2026-11-22") == history[1]
    assert resolve(store, "@2026-11-20T12:00") == history[3]
    assert resolve(store, "@2026-11-20T22:00:00+00:00") == history[2]
    assert resolve(store, "@2026-11-20T23:00:00+02:00") == history[3]
    assert resolve(store, "@2026-11-21T08:00:00Z") == history[1]


@pytest.mark.parametrize(
    ("revision", "why"),
    [
        ("HEAD~4", "the branch has no snapshot that far back"),
        ("nonsense", "no such commit or tag"),
        ("@2026-11-19", "no snapshot was taken at or before"),
        ("main", "that commit is not a snapshot on the branch"),
    ],
)
def test_unknown_revisions_name_the_revision_and_the_branch(store, history, revision, why):
    with pytest.raises(UsageError, match=f"'{revision}' on branch 'snapshots': {why}") as error:
        resolve(store, revision)
    assert error.value.exit_code == 2


def test_bad_date_and_no_snapshots_are_usage_errors(repo, store, history):
    with pytest.raises(UsageError, match="not a date or an ISO time"):
        resolve(store, "@yesterday")
    with pytest.raises(UsageError, match="no snapshots yet on branch 'other'"):
        resolve(Store(repo, "other"), "HEAD")


def test_a_ci_checkout_without_the_local_branch_reads_origin(repo, history, tmp_path, caplog):
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert git(clone, "branch", "--list", "snapshots") == ""
    store = Store(clone, "snapshots")
    assert resolve(store, "HEAD") == history[0]
    assert resolve(store, "HEAD~2") == history[2]
    git(clone, "branch", "snapshots", history[2])
    with caplog.at_level(logging.WARNING, logger="auditor"):
        assert resolve(store, "HEAD") == history[2]
    assert "local branch 'snapshots' is behind origin/snapshots" in caplog.text
    store.close()
