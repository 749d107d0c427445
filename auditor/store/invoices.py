"""Invoice marks: annotated tags `billed/<sheet_id>/<YYYY-MM-DD>` that name the snapshot
invoiced for a sheet's week.

The billing event is recorded where the history lives: a tag object written straight into
the object database and a compare-and-swap of its ref (`git update-ref <ref> <new> <old>`),
as the branch is moved; nothing is checked out. A mark is never moved unless asked
(`--force`), and a moved mark's message names the target it replaced, so the record of
what was invoiced keeps its own history.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import git

from auditor.errors import GitError, UsageError
from auditor.store.gitstore import NO_PROMPT, ZERO, Store, git_error
from auditor.text import inert, one_line

log = logging.getLogger("auditor")

NAMESPACE = "refs/tags/billed/"
TAG = re.compile(r"billed/([0-9]{1,30})/([0-9]{4}-[0-9]{2}-[0-9]{2})")
REPLACES = re.compile(r"^Replaces: ([0-9a-f]{40})$", re.MULTILINE)
"""The trailer of a moved mark: the commit the mark named before."""
NOTE = re.compile(r"^Note: (.*)$", re.MULTILINE)
NOTE_SHOWN = 500
FIELDS = "%1f".join(
    [
        "%(refname:strip=2)",
        "%(objecttype)",
        "%(objectname)",
        "%(*objectname)",
        "%(*authordate:unix)",
        "%(authordate:unix)",
        "%(contents)",
    ]
)


@dataclass(frozen=True)
class Mark:
    """One invoice mark: the week of a sheet and the snapshot billed for it."""

    sheet_id: str
    week: dt.date
    commit: str
    time: dt.datetime
    """The invoiced snapshot's fetch time: the week is billed from then on."""
    message: str
    """The tag's message (empty for a mark being written, or a lightweight tag)."""

    @property
    def note(self) -> str:
        """What the person who invoiced said (`--note`), on the `Note:` line."""
        found = NOTE.search(self.message)
        return found[1] if found else ""

    @property
    def tag(self) -> str:
        return tag_name(self.sheet_id, self.week)

    @property
    def replaced(self) -> list[str]:
        """The commits this mark named before it was moved, oldest first."""
        return REPLACES.findall(self.message)


def tag_name(sheet_id: str, week: dt.date) -> str:
    return f"billed/{sheet_id}/{week.isoformat()}"


def read_marks(store: Store, tip: str | None) -> list[Mark]:
    """The marks whose snapshot is on the branch up to `tip`, by sheet and week: one git
    call where there are none (every diff asks), two where there are. A tag under
    `billed/` whose name is not a sheet id and a date, or whose commit is not on the
    branch, is not a mark."""
    if tip is None:
        return []
    git = store.repo.git
    output = git.for_each_ref(f"--format={FIELDS}%1e", NAMESPACE, strip_newline_in_stdout=False)
    records = [record.lstrip("\n") for record in output.split("\x1e")]
    records = [record for record in records if record]
    if not records:
        return []
    merged = set(
        git.for_each_ref(f"--merged={tip}", "--format=%(refname:strip=2)", NAMESPACE).split()
    )
    marks = []
    for record in records:
        name, kind, sha, peeled, peeled_time, time, message = record.split("\x1f", 6)
        match = TAG.fullmatch(name)
        week = _date(match[2]) if match else None
        if match is None or week is None or (kind != "tag" and kind != "commit"):
            _warn(name, "is not an invoice mark (billed/<sheet id>/<date>); ignored")
            continue
        if name not in merged:
            _warn(name, "names no commit of the snapshots branch (rewritten?); ignored")
            continue
        commit, seconds = (peeled, peeled_time) if kind == "tag" else (sha, time)
        when = dt.datetime.fromtimestamp(int(seconds), dt.UTC)
        marks.append(Mark(match[1], week, commit, when, message.strip() if kind == "tag" else ""))
    return sorted(marks, key=lambda mark: (mark.sheet_id, mark.week))


_warned: set[str] = set()


def _warn(ref: str, problem: str) -> None:
    """A tag under billed/ that is no mark, said once a process (marks are read often)."""
    if ref not in _warned:
        _warned.add(ref)
        log.warning("tag %s %s", inert(ref), problem)


def _message(store: Store, ref: str) -> str:
    return store.repo.git.for_each_ref("--format=%(contents)", ref)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def write_mark(
    store: Store,
    mark: Mark,
    note: str,
    author: tuple[str, str],
    when: dt.datetime,
    force: bool,
) -> str | None:
    """Record `mark` as an annotated tag; returns the commit it replaced (None for a new
    mark or one that already names that snapshot). An existing mark naming another
    snapshot is moved only with `force`, and the new tag's message then ends with the old
    target (`Replaces: <commit>`)."""
    ref = f"refs/tags/{mark.tag}"
    old_object = store.ref_target(ref)
    old = store.rev_parse(ref) if old_object else None
    if old == mark.commit:
        return None
    if old is not None and not force:
        raise UsageError(
            f"{mark.tag} already marks snapshot {old[:10]} as invoiced; a mark is not moved "
            "unless you mean it: add --force (the new mark keeps the old target)"
        )
    earlier = REPLACES.findall(_message(store, ref)) if old is not None else []
    lines = [f"Invoiced: week ending {mark.week} of sheet {mark.sheet_id}"]
    if note:
        lines.append(f"Note: {one_line(note, NOTE_SHOWN)}")
    if old is not None:
        lines += ["", *(f"Replaces: {commit}" for commit in [*earlier, old])]
    body = "\n".join(lines)
    seconds = int(when.timestamp())
    data = (
        f"object {mark.commit}\ntype commit\ntag {mark.tag}\n"
        f"tagger {author[0]} <{author[1]}> {seconds} +0000\n\n{body}\n"
    ).encode()
    tag = store.write_object("tag", data)
    try:
        store.repo.git.update_ref("-m", "auditor invoice", ref, tag, old_object or ZERO)
    except git.GitCommandError as error:
        now = store.rev_parse(ref)
        if now is not None and now != old:  # another invoice of that week got there first
            if now == mark.commit:
                return None
            raise UsageError(
                f"{mark.tag} was just marked on snapshot {now[:10]} by another invoice of "
                "that week; look with `auditor invoice --list`, and add --force to move it"
            ) from None
        raise GitError(f"cannot write {mark.tag}: {git_error(error.stderr)}; try again") from None
    return old


def fetch_marks(store: Store, remote: str) -> None:
    """The remote's marks, before a run audits with them. A mark that differs here (moved
    with `--force`, not pushed yet) is kept, with git's warning."""
    try:
        spec = f"{NAMESPACE}*:{NAMESPACE}*"
        store.repo.git.fetch("--quiet", "--no-tags", remote, spec, env=NO_PROMPT)
    except git.GitCommandError as error:
        log.warning("invoice marks not fetched from %s: %s", remote, git_error(error.stderr))


def push_marks(store: Store, remote: str) -> None:
    """Push the marks the remote lacks, and those moved here (`--force`) from what it still
    holds; a mark that differs on the two sides otherwise is left, with a warning: a
    record of billing is not overwritten by a run."""
    theirs: dict[str, dict[str, str]] = {}
    try:
        listing = store.repo.git.ls_remote(remote, f"{NAMESPACE}*", env=NO_PROMPT)
        for line in listing.splitlines():
            sha, ref = line.split("\t")
            theirs.setdefault(ref.removesuffix("^{}"), {})[
                "commit" if ref.endswith("^{}") else "object"
            ] = sha
        specs, leases = [], []
        for mark in read_marks(store, store.local_tip()):
            ref = f"refs/tags/{mark.tag}"
            remote_mark = theirs.get(ref)
            if remote_mark is None:
                specs.append(f"{ref}:{ref}")
                continue
            held = remote_mark.get("commit", remote_mark.get("object"))
            if held == mark.commit:
                continue
            if held in mark.replaced:
                specs.append(f"+{ref}:{ref}")
                leases.append(f"--force-with-lease={ref}:{remote_mark['object']}")
            else:
                log.warning(
                    "%s names %s on %s and %s here; not pushed (move one with "
                    "`auditor invoice --force`)",
                    mark.tag,
                    str(held)[:10],
                    remote,
                    mark.commit[:10],
                )
        if specs:
            store.repo.git.push("--quiet", *leases, remote, *specs, env=NO_PROMPT)
    except git.GitCommandError as error:
        log.warning("invoice marks not pushed to %s: %s", remote, git_error(error.stderr))
