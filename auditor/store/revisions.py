"""One revision grammar for every command: `HEAD`, `HEAD~N`, ids, tags and `@DATE`.

A revision always names a commit on the snapshots branch, never the user's checked-out
branch: `HEAD` is the snapshots branch's tip. `~N` (and `^`) follow first parents only,
since the branch is kept linear.
"""

from __future__ import annotations

import datetime as dt
import re

from auditor.errors import UsageError
from auditor.store.gitstore import Store
from auditor.text import parse_time

SUFFIX = re.compile(r"(~[0-9]*|\^)+$")


def resolve(store: Store, revision: str) -> str:
    """The full commit id that `revision` names, or a UsageError naming it and the branch."""
    tip = store.tip()
    if tip is None:
        raise UsageError(f"no snapshots yet on branch {store.branch!r}; run `auditor snapshot`")
    base, steps = _split(revision)
    if base == "HEAD":
        commit = tip
    elif base.startswith("@"):
        commit = _at_time(store, tip, _cutoff(base[1:], revision), revision)
    else:
        commit = _named(store, tip, base, revision)
    for _ in range(steps):
        parent = store.info(commit).parent
        if parent is None:
            why = (
                "there is one snapshot so far, the baseline: nothing to compare it with until "
                "the next one"
                if commit == tip and store.info(tip).parent is None
                else "the branch has no snapshot that far back"
            )
            raise _unknown(store, revision, why)
        commit = parent
    return commit


def _split(revision: str) -> tuple[str, int]:
    match = SUFFIX.search(revision)
    if not match or match.start() == 0:
        return revision, 0
    steps = 0
    for part in re.findall(r"~[0-9]*|\^", match.group()):
        steps += int(part[1:] or 1) if part.startswith("~") else 1
    return revision[: match.start()], steps


def _named(store: Store, tip: str, name: str, revision: str) -> str:
    commit = store.rev_parse(name)
    if commit is None:
        raise _unknown(store, revision, "no such commit or tag")
    if not store.is_ancestor(commit, tip):
        raise _unknown(store, revision, "that commit is not a snapshot on the branch")
    return commit


def _cutoff(text: str, revision: str) -> dt.datetime:
    """`@2026-11-20` is the end of that day (UTC); a time without an offset is UTC."""
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
        return parse_time(text)
    except ValueError:
        raise UsageError(
            f"revision {revision!r}: {text!r} is not a date or an ISO time "
            "(try @2026-11-20 or @2026-11-20T14:00Z)"
        ) from None


def _at_time(store: Store, tip: str, cutoff: dt.datetime, revision: str) -> str:
    for commit in store.first_parents(tip, messages=False):
        if commit.time <= cutoff:
            return commit.sha
    raise _unknown(store, revision, "no snapshot was taken at or before that time")


def _unknown(store: Store, revision: str, why: str) -> UsageError:
    return UsageError(f"unknown revision {revision!r} on branch {store.branch!r}: {why}")
