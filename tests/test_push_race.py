"""A push that lost a race to another writer against one that the remote refused.

The races are real: a bare origin whose `update` hook moves, creates or locks the branch
after receive-pack has read it and before it updates it, which is the moment another
runner's push lands in a real race. The hook runs once and removes itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import GitError
from auditor.store.gitstore import LostRace, Store, lost_race
from tests.helpers import git

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
BRANCH = "refs/heads/snapshots"


def commit(where: Path, parent: str | None, message: str) -> str:
    return git(where, "commit-tree", EMPTY_TREE, "-m", message, *(["-p", parent] if parent else []))


@pytest.fixture
def ours(origin: Path, tmp_path: Path):
    """A clone of origin with a snapshot of its own on `base`, not pushed yet; closed after
    the test."""
    opened = []

    def clone(base: str | None) -> Store:
        path = tmp_path / "ours"
        git(tmp_path, "clone", "-q", str(origin), str(path))
        git(path, "update-ref", BRANCH, commit(path, base, "ours"))
        opened.append(Store(path, "snapshots"))
        return opened[-1]

    yield clone
    for store in opened:
        store.close()


def based(origin: Path) -> str:
    """Origin with a snapshots branch of one commit."""
    base = commit(origin, None, "base")
    git(origin, "update-ref", BRANCH, base)
    return base


def hook(origin: Path, name: str, script: str) -> None:
    path = origin / "hooks" / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def once(origin: Path, script: str) -> None:
    """An `update` hook that runs `script` on the first push only, and lets it through."""
    hook(origin, "update", f'rm -f "$0"\n{script}\nexit 0')


def test_a_push_behind_a_tip_it_has_not_seen_or_has_seen_lost_a_race(origin, ours):
    base = based(origin)
    store = ours(base)
    theirs = commit(origin, base, "theirs")
    git(origin, "update-ref", BRANCH, theirs)
    with pytest.raises(LostRace, match=r"\[rejected\] \(fetch first\)"):
        store.push("origin")
    assert store.fetch("origin") == theirs
    with pytest.raises(LostRace, match=r"\[rejected\] \(non-fast-forward\)"):
        store.push("origin")
    remade = commit(store.repo.working_dir, theirs, "ours, re-made")
    assert store.compare_and_swap(remade, store.local_tip())
    store.push("origin")
    assert git(origin, "rev-parse", BRANCH) == remade


def test_a_branch_moved_while_the_remote_took_the_push_is_a_lost_race(origin, ours):
    base = based(origin)
    store = ours(base)
    theirs = commit(origin, base, "theirs")
    once(origin, f"git update-ref {BRANCH} {theirs}")
    with pytest.raises(LostRace) as lost:
        store.push("origin")
    assert f"cannot lock ref '{BRANCH}': is at {theirs} but expected {base}" in str(lost.value)
    assert git(origin, "rev-parse", BRANCH) == theirs


def test_a_branch_created_while_the_remote_took_the_push_is_a_lost_race(origin, ours):
    """Every job's first run takes a baseline and creates the branch: one creates it."""
    store = ours(None)
    theirs = commit(origin, None, "their baseline")
    once(origin, f"git update-ref {BRANCH} {theirs}")
    with pytest.raises(LostRace, match=f"cannot lock ref '{BRANCH}': reference already exists"):
        store.push("origin")
    assert store.fetch("origin") == theirs


def test_a_branch_locked_by_another_push_is_a_lost_race(origin, ours):
    store = ours(based(origin))
    lock = origin / "refs" / "heads" / "snapshots.lock"
    once(origin, f"touch {lock}")
    with pytest.raises(LostRace, match=r"Unable to create '\S*snapshots\.lock': File exists"):
        store.push("origin")
    lock.unlink()
    store.push("origin")
    assert git(origin, "rev-parse", BRANCH) == store.local_tip()


def test_a_branch_locked_to_be_created_fetches_as_none(origin, ours):
    """The push that creates the branch holds it locked: there is no tip to take yet."""
    store = ours(None)
    (origin / "refs" / "heads" / "snapshots.lock").touch()
    with pytest.raises(LostRace, match="File exists"):
        store.push("origin")
    assert store.fetch("origin") is None


RACE_WORDS = "cannot lock ref 'refs/heads/snapshots': is at {0} but expected {0}".format("a" * 40)


@pytest.mark.parametrize(
    ("name", "script", "said"),
    [
        ("pre-receive", f'echo "{RACE_WORDS}" >&2\nexit 1', "(pre-receive hook declined)"),
        ("update", "echo 'snapshots is protected' >&2\nexit 1", "(hook declined)"),
    ],
)
def test_a_hook_that_refuses_the_push_is_an_error_not_a_race(origin, ours, name, script, said):
    """Even in the words of a race."""
    base = based(origin)
    store = ours(base)
    hook(origin, name, script)
    with pytest.raises(GitError) as refused:
        store.push("origin")
    assert type(refused.value) is GitError
    assert str(refused.value).startswith(
        f"cannot push 'snapshots' to 'origin': [remote rejected] {said}"
    )
    assert git(origin, "rev-parse", BRANCH) == base


def test_a_ref_the_remote_cannot_update_for_another_reason_is_an_error(origin, ours):
    """A branch `snapshots/old` on the remote leaves no room for `snapshots`: git says it
    failed to update the ref, and why, and nothing in why names another writer."""
    store = ours(None)
    git(origin, "update-ref", f"{BRANCH}/old", commit(origin, None, "old"))
    with pytest.raises(GitError, match=r"\(failed to update ref\); remote: error: cannot lock"):
        store.push("origin")


def test_a_remote_that_is_not_there_is_an_error(origin, ours, tmp_path):
    store = ours(None)
    git(store.repo.working_dir, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(GitError, match=r"cannot push 'snapshots' to 'origin': .*gone\.git") as no:
        store.push("origin")
    assert type(no.value) is GitError


IS_AT = (
    "is at 7d20f17f0b85ab8d8cfd81c70db593849ffe7fb1 "
    "but expected 24e43f1c34b726c79237ac5cd93b28bf5ebc13f6"
)
LOCK = "Unable to create '/tmp/o.git/./refs/heads/snapshots.lock': File exists."


@pytest.mark.parametrize(
    ("status", "remote_said", "race"),
    [
        # git 2.55's receive-pack (built from source: this machine's git is 2.39), captured
        # from the races above; the last two from a remote that keeps its refs in reftables.
        (
            "[remote rejected] (incorrect old value provided)",
            [f"remote: error: cannot lock ref 'refs/heads/snapshots': {IS_AT}"],
            True,
        ),
        (
            "[remote rejected] (reference already exists)",
            [f"remote: error: cannot lock ref 'refs/heads/snapshots': {LOCK}"],
            True,
        ),
        (
            "[remote rejected] (failed to update refs)",
            ["remote: error: cannot lock references"],
            True,
        ),
        (
            "[remote rejected] (refname conflict)",
            [
                "remote: error: cannot lock ref 'refs/heads/snapshots': there is a non-empty "
                "directory './refs/heads/snapshots' blocking reference 'refs/heads/snapshots'"
            ],
            False,
        ),
        # GitHub gives git's detail as the reason.
        (f"[remote rejected] (cannot lock ref 'refs/heads/snapshots': {IS_AT})", [], True),
        ("[remote rejected] (protected branch hook declined)", [], False),
        # Whatever a hook says, the ref was never tried.
        ("[remote rejected] (pre-receive hook declined)", [f"remote: {RACE_WORDS}"], False),
        ("[remote rejected] (failed to update ref)", [], False),
        ("[rejected] (needs force)", [], False),
        ("[remote failure] (remote failed to report status)", [], False),
    ],
)
def test_what_git_says_reads_as_a_race_or_a_refusal(status, remote_said, race):
    assert lost_race(status, remote_said) is race
