"""Walks of a branch kept between runs: the commits that changed some paths, and how.

Finding the commits that changed a sheet means comparing the trees of every commit of the
branch (0.25 s of git at 10,000 snapshots, every time). What a commit changed never
changes, so the walk of the whole branch is kept in the repository, beside git's own files
(`.git/auditor/walk-<paths>.json`), up to the tip it reached; the next walk reads it and
asks git only for the commits made since. A file that does not parse, or that names a tip
the branch no longer holds (a rewritten branch), is walked again; one that cannot be
written (a read-only repository) is not kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

FOLDER = "auditor"


@dataclass(frozen=True)
class PathCommit:
    """A commit that changed some of the paths asked about: path -> its new object id
    (None: deleted), for the files and folders it changed."""

    sha: str
    time: dt.datetime
    objects: dict[str, str | None]


@dataclass(frozen=True)
class Walk:
    """The commits of a branch, up to `tip`, that changed the paths, oldest first."""

    tip: str
    commits: list[PathCommit]


def walk_file(git_dir: str, paths: list[str]) -> Path:
    name = hashlib.sha1("\0".join(paths).encode()).hexdigest()[:16]
    return Path(git_dir) / FOLDER / f"walk-{name}.json"


def read_walk(path: Path) -> Walk | None:
    try:
        document = orjson.loads(path.read_bytes())
        commits = [
            PathCommit(sha, dt.datetime.fromtimestamp(seconds, dt.UTC), objects)
            for sha, seconds, objects in document["commits"]
        ]
        return Walk(document["tip"], commits)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def write_walk(path: Path, walk: Walk) -> None:
    document = {
        "tip": walk.tip,
        "commits": [
            [commit.sha, int(commit.time.timestamp()), commit.objects] for commit in walk.commits
        ],
    }
    part = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(exist_ok=True)
        part.write_bytes(orjson.dumps(document))
        os.replace(part, path)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
