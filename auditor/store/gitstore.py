"""Reading and writing snapshot commits without a working tree.

Snapshots are written as blobs, trees and a commit straight into the object database,
then the branch is moved with `git update-ref <ref> <new> <old>`: a compare-and-swap,
so a writer that lost a race finds out and can re-make its commit on the new tip. The
user's HEAD, index, working tree and current branch are never read or written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import git
import gitdb.exc
import orjson
from git.objects.fun import tree_entries_from_data
from gitdb.base import IStream

from auditor.errors import DamagedSnapshot, GitError, UsageError
from auditor.snapshot.canonical import ROWS_FILE, SHEET_FILE, SUMMARY_FILE, SheetFiles, load

if TYPE_CHECKING:  # imported where used: every command imports the store
    import queue

    from auditor.store.walks import PathCommit

log = logging.getLogger("auditor")

ZERO = "0" * 40
SNAPSHOTS = "snapshots"
NOTE_FILE = "versions.json"
TREE_MODE = 0o040000
FILES_KEPT = 4
BLOB_MODE = 0o100644
# A push or fetch that needs a password fails at once instead of waiting for one.
NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
CREDENTIALS = re.compile(r"://[^/@\s]+@")
LITERAL_PATHS = {"GIT_LITERAL_PATHSPECS": "1"}
BATCH = 256
"""Objects an `ObjectReader` asks for in one write."""
SEGMENT = 4096
"""Commits a walk of a long branch leaves to a second git process (see `path_log`)."""
GC_AUTO = 256
"""Loose objects `git gc --auto` lets gather before it packs them, where the repository
sets no `gc.auto` of its own: a snapshot writes a dozen objects of up to 15 MB each, so
git's 6,700 would let hundreds of megabytes gather first (about 600 snapshots)."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    time: dt.datetime
    message: str
    parent: str | None


class _Log:
    """One `git log` of `path_log`, started at once; a thread reads what it writes, so
    that two walk together while their commits are read in order."""

    def __init__(self, git_dir: str, revisions: str, paths: list[str]) -> None:
        self.command = [
            "git",
            f"--git-dir={git_dir}",
            "log",
            "--first-parent",
            "--reverse",
            "--raw",
            "-t",
            "-z",
            "--no-abbrev",
            "--no-renames",
            "--format=%x1e%H %at",
            revisions,
            "--",
            *paths,
        ]
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **LITERAL_PATHS},
        )
        import queue

        self.wanted = frozenset(path.encode() for path in paths)
        self.chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read1(1 << 20):
            self.chunks.put(chunk)
        self.chunks.put(b"")

    def commits(self) -> Iterator[PathCommit]:
        rest = b""
        while chunk := self.chunks.get():
            *records, rest = (rest + chunk).split(b"\x1e")
            yield from (_path_commit(record, self.wanted) for record in records if record)
        if rest:
            yield _path_commit(rest, self.wanted)
        assert self.process.stderr is not None
        if self.process.wait():
            raise git.GitCommandError(
                self.command, self.process.returncode, self.process.stderr.read()
            )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.thread.join()
        self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class ObjectReader:
    """Objects asked for one by one and answered by one `git cat-file --batch`, which reads
    them while the asking goes on (a thread drains its answers, so neither side waits)."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self.process = subprocess.Popen(
            ["git", f"--git-dir={git_dir}", "cat-file", "--batch", "--buffer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.asked: list[str] = []
        self.answers: list[bytes] = []
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        self.answers.append(self.process.stdout.read())

    def ask(self, sha: str) -> None:
        """Ask for an object; asked for in batches, a write per batch."""
        self.asked.append(sha)
        if len(self.asked) % BATCH == 0:
            self._send(self.asked[-BATCH:])

    def _send(self, ids: list[str]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(f"{sha}\n" for sha in ids).encode())
        self.process.stdin.flush()

    def contents(self) -> list[bytes]:
        """What was asked for, in order; an object the repository lacks is damage."""
        assert self.process.stdin is not None
        self._send(self.asked[len(self.asked) - len(self.asked) % BATCH :])
        self.process.stdin.close()
        self.thread.join()
        self.process.wait()
        output, at, found = b"".join(self.answers), 0, []
        for sha in self.asked:
            end = output.find(b"\n", at)
            header = output[at:end].split()
            if len(header) != 3:
                raise DamagedSnapshot(
                    f"object {sha[:10]} is missing from the repository {self.git_dir}; "
                    "fetch the branch again or restore the repository"
                )
            size = int(header[2])
            found.append(output[end + 1 : end + 1 + size])
            at = end + 2 + size
        return found

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.thread.join()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


class Store:
    """One repository and the branch in it that holds the snapshots."""

    def __init__(self, path: Path | None, branch: str) -> None:
        where = path or Path.cwd()
        try:
            self.repo = git.Repo(where, search_parent_directories=path is None)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(
                f"{where} is not a git repository; run inside one or set AUDITOR_REPO"
            ) from None
        self.branch = _checked_branch(self.repo, branch)
        self._files: dict[str, SheetFiles] = {}
        self._whole = False
        self.ref = f"refs/heads/{branch}"
        self.remote_ref = f"refs/remotes/origin/{branch}"

    def close(self) -> None:
        self.repo.close()

    def rev_parse(self, ref: str) -> str | None:
        """The commit `ref` names, None where it names none."""
        try:
            return self.repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except git.GitCommandError:
            return None

    def ref_target(self, ref: str) -> str | None:
        """The object `ref` points to, whatever its type (a tag object for an annotated
        tag); None where there is no such ref."""
        try:
            return self.repo.git.rev_parse("--verify", "--quiet", ref) or None
        except git.GitCommandError:
            return None

    def local_tip(self) -> str | None:
        return self._branch(self.ref)

    def _branch(self, ref: str) -> str | None:
        """The commit a branch points to, None where there is no such branch; a branch
        whose commit is missing from the repository is damage, not an empty branch."""
        sha = self.ref_target(ref)
        if sha is None:
            return None
        commit = self.rev_parse(sha)
        if commit is None:
            raise DamagedSnapshot(
                f"{ref} points to {sha[:10]}, which is not a commit in the repository "
                f"{self.repo.git_dir}; fetch the branch again or restore the repository"
            )
        return commit

    def tip(self) -> str | None:
        """The branch's tip, or origin's where there is no local branch (a CI checkout)."""
        local = self.local_tip()
        remote = self._branch(self.remote_ref)
        if local is None:
            tip = remote
        else:
            if remote and remote != local and self.is_ancestor(local, remote):
                log.warning(
                    "local branch %r is behind origin/%s; run `git fetch origin %s:%s` to update",
                    self.branch,
                    self.branch,
                    self.branch,
                    self.branch,
                )
            tip = local
        if tip is not None and not self._whole:
            self._make_whole(tip)
        return tip

    def _make_whole(self, tip: str) -> None:
        """A shallow clone (CI checks out one commit by default) cuts the branch's history,
        and a cut history answers wrong: `HEAD~3` is unknown, a closed week has no baseline
        and an ongoing violation turns "resolved". So a cut branch is deepened from origin
        when there is one, and refused when it stays cut."""
        cut = self._cut(tip)
        failed = ""
        if cut and "origin" in {remote.name for remote in self.repo.remotes}:
            refspec = f"+{self.ref}:{self.remote_ref}"
            try:
                self.repo.git.fetch("--quiet", "--unshallow", "origin", refspec, env=NO_PROMPT)
            except git.GitCommandError as error:
                failed = f" (deepening it from origin failed: {git_error(error.stderr)})"
            cut = self._cut(tip)
        if cut:
            raise GitError(
                f"the history of branch {self.branch!r} is cut at {cut[0][:10]} (a shallow "
                f"clone){failed}, so snapshots before it cannot be read; run `git fetch "
                f"--unshallow origin {self.branch}` (in GitHub Actions, fetch the branch "
                "without a depth)"
            )
        self._whole = True

    def _cut(self, tip: str) -> list[str]:
        """The shallow boundaries of the repository that the branch's history reaches."""
        shallow = Path(self.repo.common_dir) / "shallow"
        if not shallow.is_file():
            return []
        bounds = shallow.read_text().split()
        return [commit for commit in bounds if self.is_ancestor(commit, tip)]

    def is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self.repo.git.merge_base("--is-ancestor", older, newer)
        except git.GitCommandError:
            return False
        return True

    def info(self, sha: str) -> CommitInfo:
        commit = self._commit(sha)
        return CommitInfo(
            sha=commit.hexsha,
            time=commit.authored_datetime.astimezone(dt.UTC),
            message=commit.message,
            parent=commit.parents[0].hexsha if commit.parents else None,
        )

    def _commit(self, sha: str) -> git.Commit:
        try:
            commit = self.repo.commit(sha)
            commit.tree  # noqa: B018 -- reads the commit object now, where a miss is caught
        except (ValueError, gitdb.exc.BadObject, git.BadName):
            raise DamagedSnapshot(
                f"commit {sha[:10]} is missing from the repository {self.repo.git_dir}; "
                "fetch the branch again or restore the repository"
            ) from None
        return commit

    def first_parents(
        self, tip: str, limit: int | None = None, *, messages: bool = True
    ) -> list[CommitInfo]:
        """The branch's history from `tip` back, newest first, in one git call; without
        `messages` (left empty) a walk of the whole branch reads no commit's message."""
        body = "%B" if messages else ""
        args = ["--first-parent", f"--format=%H%x1f%P%x1f%at%x1f{body}%x1e"]
        if limit is not None:
            args.append(f"--max-count={limit}")
        output = self.repo.git.log(*args, tip, strip_newline_in_stdout=False)
        commits = []
        for record in output.split("\x1e"):
            record = record.lstrip("\n")
            if not record:
                continue
            sha, parents, seconds, message = record.split("\x1f", 3)
            commits.append(
                CommitInfo(
                    sha=sha,
                    time=dt.datetime.fromtimestamp(int(seconds), dt.UTC),
                    message=message,
                    parent=parents.split()[0] if parents else None,
                )
            )
        return commits

    def count(self, tip: str) -> int:
        """The number of snapshots from `tip` back, counted by git alone."""
        return int(self.repo.git.rev_list("--first-parent", "--count", tip))

    def path_log(
        self, tip: str, paths: list[str], since: str | None = None
    ) -> Iterator[PathCommit]:
        """The first-parent commits after `since` up to `tip` that changed any of `paths`,
        oldest first, each with the new object id of each of `paths` it changed and of the
        entries directly in them. git compares trees only; no file is read. Paths are taken
        literally and read NUL-separated, whatever characters they hold.

        The walk of the whole branch is kept between runs (auditor.store.walks), so git
        walks only the commits made since the last one."""
        from auditor.store.walks import Walk, read_walk, walk_file, write_walk

        if since is not None:
            yield from self._walk(tip, paths, since)
            return
        file = walk_file(self.repo.common_dir, paths)
        kept = read_walk(file)
        if kept is not None and kept.tip != tip and not self.is_ancestor(kept.tip, tip):
            kept = None
        known = kept.commits if kept else []
        yield from known
        if kept is not None and kept.tip == tip:
            return
        walked = []
        for commit in self._walk(tip, paths, kept.tip if kept else None):
            walked.append(commit)
            yield commit
        write_walk(file, Walk(tip, [*known, *walked]))

    def _walk(self, tip: str, paths: list[str], since: str | None) -> Iterator[PathCommit]:
        """`path_log` by git: commits are yielded as git writes them, so what the caller
        does with each (asking a reader for its files) runs while git walks on. A branch
        longer than `SEGMENT` commits is walked in two parts at once, its newest `SEGMENT`
        commits and the ones before, by two git processes: comparing trees is most of the
        time a walk takes."""
        start = self._walk_start(tip, since)
        ranges = [tip if since is None else f"{since}..{tip}"]
        if start is not None:
            ranges = [start if since is None else f"{since}..{start}", f"{start}..{tip}"]
        walks = [_Log(self.repo.git_dir, part, paths) for part in ranges]
        try:
            for walk in walks:
                yield from walk.commits()
        finally:
            for walk in walks:
                walk.close()

    def _walk_start(self, tip: str, since: str | None) -> str | None:
        """The commit `SEGMENT` first parents back from `tip` (after `since`), if any."""
        exclude = [f"^{since}"] if since else []
        found = self.repo.git.rev_list("--first-parent", f"--skip={SEGMENT}", "-1", tip, *exclude)
        return found or None

    def last_snapshot(self, commit: str, sheet_id: str) -> tuple[str, str] | None:
        """The last snapshot up to `commit` (which lacks the sheet) that held the sheet, and
        its folder there: a sheet that left the audit and comes back is compared with it,
        its rows and its violations, not taken as new. A name no folder can have (`..`,
        `a/b`, asked for by a user) was never on the branch."""
        try:
            check_folder_name(sheet_id)
        except UsageError:
            return None
        path = f"{SNAPSHOTS}/{sheet_id}"
        gone = self.repo.git.log(
            "--first-parent", "--format=%H", "-1", commit, "--", path, env=LITERAL_PATHS
        )
        parent = self.info(gone).parent if gone else None
        tree = self.sheet_trees(parent).get(sheet_id) if parent else None
        return (parent, tree) if parent and tree else None

    def reader(self) -> ObjectReader:
        return ObjectReader(self.repo.git_dir)

    def blobs(self, ids: list[str]) -> list[bytes]:
        """Many objects' contents in one git call: thousands of small change records read
        one by one cost a round trip each."""
        with self.reader() as reader:
            for sha in ids:
                reader.ask(sha)
            return reader.contents()

    def blob(self, sha: str) -> bytes:
        """An object's content; one the repository lacks (a broken clone, a pruned object)
        is damage, named as such."""
        try:
            return self.repo.odb.stream(bytes.fromhex(sha)).read()
        except (ValueError, gitdb.exc.BadObject):
            raise DamagedSnapshot(
                f"object {sha[:10]} is missing from the repository {self.repo.git_dir}; "
                "fetch the branch again or restore the repository"
            ) from None

    def _entries(self, tree: str) -> dict[str, tuple[int, str]]:
        """Name -> (mode, object id) of a tree object."""
        data = self.blob(tree)
        return {name: (mode, sha.hex()) for sha, mode, name in tree_entries_from_data(data)}

    def read_path(self, commit: str, path: str) -> bytes | None:
        """A file of a commit by its path, or None where there is none."""
        *folders, name = path.split("/")
        entries = self.folder(commit, "/".join(folders))
        entry = entries.get(name) if entries is not None else None
        return None if entry is None or entry[0] == TREE_MODE else self.blob(entry[1])

    def folder(self, commit: str, path: str) -> dict[str, tuple[int, str]] | None:
        """The entries (name -> mode, object id) of a commit's folder by its path (`""`:
        the root), or None where there is no such folder."""
        tree = self._commit(commit).tree.hexsha
        for part in path.split("/") if path else []:
            entry = self._entries(tree).get(part)
            if entry is None or entry[0] != TREE_MODE:
                return None
            tree = entry[1]
        return self._entries(tree)

    def sheet_trees(self, commit: str | None) -> dict[str, str]:
        """Sheet id -> tree id of its folder, for the snapshot at `commit`."""
        if commit is None:
            return {}
        folder = self._entries(self._commit(commit).tree.hexsha).get(SNAPSHOTS)
        if folder is None:
            return {}
        return {
            name: sha for name, (mode, sha) in self._entries(folder[1]).items() if mode == TREE_MODE
        }

    def read(self, tree: str, name: str) -> bytes:
        entry = self._entries(tree).get(name)
        if entry is None or entry[0] != BLOB_MODE:
            raise DamagedSnapshot(
                f"snapshot folder {tree[:10]} has no {name}: the branch is damaged"
            )
        return self.blob(entry[1])

    def sheet_files(self, tree: str) -> SheetFiles:
        """A snapshot folder's files; the last few are kept, since a diff and its audit both
        read the same two folders of up to 15 MB each."""
        files = self._files.pop(tree, None) or self._read_folder(tree)
        self._files[tree] = files
        while len(self._files) > FILES_KEPT:
            del self._files[next(iter(self._files))]
        return files

    def _read_folder(self, tree: str) -> SheetFiles:
        where = f"snapshot folder {tree[:10]}"
        meta = load(self.read(tree, SHEET_FILE), f"{where}: {SHEET_FILE}")
        summary = load(self.read(tree, SUMMARY_FILE), f"{where}: {SUMMARY_FILE}")
        if not _is_sheet_meta(meta) or not isinstance(summary, dict):
            raise DamagedSnapshot(f"{where}: {SHEET_FILE} or {SUMMARY_FILE} is damaged")
        if type(summary.get("rows")) is not int:
            raise DamagedSnapshot(f"{where}: {SUMMARY_FILE} has no row count")
        name = meta["id"]
        return SheetFiles(
            meta,
            self.read(tree, ROWS_FILE),
            where=f"snapshot of sheet {name} (folder {tree[:10]})",
            expected_rows=summary.get("rows"),
        )

    def write_folder(self, files: dict[str, bytes]) -> str:
        """A folder of files (a sheet's snapshot): its tree id, equal to `folder_id(files)`."""
        entries = {
            name: (BLOB_MODE, self.write_object("blob", data)) for name, data in files.items()
        }
        return self.write_object("tree", tree_bytes(entries))

    def write_snapshot(
        self,
        parent: str | None,
        folders: dict[str, str],
        files: dict[str, bytes | str],
        message: str,
        author: tuple[str, str],
        when: dt.datetime,
    ) -> str:
        """One snapshot commit, not yet on the branch (`compare_and_swap` moves it there).

        `folders` maps each sheet's folder name to its tree (from `write_folder`, or carried
        from the parent); `files` maps a path such as `README.md` or `audit/1.json` to its
        content, or a folder's path to the id of a tree carried from the parent. Every
        object is written before the commit, so a failure leaves no commit.
        """
        nested: dict[str, object] = {SNAPSHOTS: dict(folders)}
        for path, data in files.items():
            *parents, name = path.split("/")
            place = nested
            for part in parents:
                place = place.setdefault(part, {})
            place[name] = data
        return self._write_commit(self._write_nested(nested), parent, message, author, when)

    def _write_nested(self, nested: dict[str, object]) -> str:
        """A tree from a mapping: bytes are files, str are existing trees, dicts are folders."""
        entries = {}
        for name, item in nested.items():
            if isinstance(item, bytes):
                entries[name] = (BLOB_MODE, self.write_object("blob", item))
            elif isinstance(item, str):
                entries[name] = (TREE_MODE, item)
            else:
                entries[name] = (TREE_MODE, self._write_nested(item))
        return self.write_object("tree", tree_bytes(entries))

    def _write_commit(
        self,
        tree: str,
        parent: str | None,
        message: str,
        author: tuple[str, str],
        when: dt.datetime,
    ) -> str:
        seconds = int(when.timestamp())
        person = f"{author[0]} <{author[1]}> {seconds} +0000"
        lines = [f"tree {tree}"]
        if parent:
            lines.append(f"parent {parent}")
        lines += [f"author {person}", f"committer {person}", "", message.rstrip("\n") + "\n"]
        return self.write_object("commit", "\n".join(lines).encode())

    def write_object(self, kind: str, data: bytes) -> str:
        """Write one object; a repository that cannot take it (read-only, a full disk) is
        a GitError, and the branch, moved only after every object is written, is as it was."""
        try:
            return self.repo.odb.store(IStream(kind, len(data), BytesIO(data))).binsha.hex()
        except (OSError, git.GitCommandError) as error:
            why = git_error(error.stderr) if isinstance(error, git.GitCommandError) else error
            raise GitError(
                f"cannot write to the repository {self.repo.git_dir}: {why}; the branch "
                f"{self.branch!r} is unchanged"
            ) from None

    def pack(self) -> None:
        """Pack what the snapshots wrote once enough of it gathered (`git gc --auto`), in
        this process, not left running after it. The branch has moved already: a failure
        is a warning."""
        settings = ["-c", "gc.autoDetach=false"]
        try:
            self.repo.git.config("--get", "gc.auto")
        except git.GitCommandError:
            settings += ["-c", f"gc.auto={GC_AUTO}"]
        try:
            self.repo.git.execute(["git", *settings, "gc", "--auto", "--quiet"])
        except git.GitCommandError as error:
            log.warning("git gc --auto failed: %s", git_error(error.stderr))

    def push(self, remote: str) -> None:
        """Push the branch to `remote` as a fast-forward. `LostRace` when another runner
        moved the remote's branch first or was moving it (the caller re-makes its commit
        on the new tip); a GitError for a refusal (a hook, a protected branch, auth)."""
        try:
            self.repo.git.push("--porcelain", remote, f"{self.ref}:{self.ref}", env=NO_PROMPT)
        except git.GitCommandError as error:
            refused = [
                line.split("\t")[-1] for line in str(error.stdout).splitlines() if line[:1] == "!"
            ]
            remote_said = [
                line[line.index("remote:") :].strip().rstrip("'")
                for line in str(error.stderr).splitlines()
                if "remote:" in line
            ]
            why = without_credentials("; ".join(refused + remote_said) or git_error(error.stderr))
            if refused and all(lost_race(status, remote_said) for status in refused):
                raise LostRace(
                    f"{remote!r} moved under the push of {self.branch!r}: {why}"
                ) from None
            raise GitError(f"cannot push {self.branch!r} to {remote!r}: {why}") from None

    def reach(self, remote: str) -> None:
        """Ask `remote` for its branches, as a push would reach it; a GitError says why not."""
        try:
            self.repo.git.ls_remote("--heads", remote, env=NO_PROMPT)
        except git.GitCommandError as error:
            raise GitError(f"cannot reach {remote!r}: {git_error(error.stderr)}") from None

    def fetch(self, remote: str) -> str | None:
        """The branch's tip on `remote`, fetched into `refs/remotes/<remote>/<branch>`;
        None where `remote` has no such branch (yet: a push that creates it may hold it
        locked)."""
        tracking = f"refs/remotes/{remote}/{self.branch}"
        try:
            self.repo.git.fetch("--quiet", remote, f"+{self.ref}:{tracking}", env=NO_PROMPT)
        except git.GitCommandError as error:
            if f"couldn't find remote ref {self.ref}" in str(error.stderr):
                return None
            raise GitError(
                f"cannot fetch {self.branch!r} from {remote!r}: {git_error(error.stderr)}"
            ) from None
        return self._branch(tracking)

    def only_here(self, other: str | None) -> list[str]:
        """Commits of the local branch that `other` does not contain, newest first."""
        local = self.local_tip()
        if local is None:
            return []
        if other is None:
            return self.repo.git.rev_list(local).split()
        return self.repo.git.rev_list(local, f"^{other}").split()

    def _checked_out_in(self) -> str | None:
        """The work tree (the main one or a linked one) whose HEAD is the branch, if any."""
        listing = self.repo.git.worktree("list", "--porcelain", "-z").split("\0\0")
        for block in listing:
            fields = block.strip("\0").split("\0")
            if f"branch {self.ref}" in fields:
                return fields[0].removeprefix("worktree ")
        return None

    def lock_file(self) -> Path | None:
        """The branch's lock file, where one is held (by a running git, or left by a killed
        one)."""
        lock = Path(self.repo.common_dir) / f"{self.ref}.lock"
        return lock if lock.exists() else None

    def compare_and_swap(self, new: str, expected: str | None) -> bool:
        """Move the local branch from `expected` (None: absent) to `new`.

        False when another writer moved it first (or holds its lock): the caller re-makes
        its commit on the new tip. Any other failure is a GitError.
        """
        worktree = self._checked_out_in()
        if worktree is not None:
            raise GitError(
                f"branch {self.branch!r} is checked out in {worktree}: a snapshot would move it "
                "under that work tree's index; switch it to another branch (git switch main) "
                "or set AUDITOR_BRANCH"
            )
        try:
            self.repo.git.update_ref("-m", "auditor snapshot", self.ref, new, expected or ZERO)
        except git.GitCommandError as error:
            stderr = str(error.stderr)
            if self.local_tip() != expected or "File exists" in stderr:
                return False
            raise GitError(f"cannot update {self.ref}: {stderr.strip()}") from None
        return True

    # Versions seen without a data change. A sheet's version also moves on edits the
    # snapshot does not keep (formatting, a cell edited and put back), and the trailers
    # record a version only with a commit; without this note such a sheet would be read in
    # full on every run. Each version is kept with the tree of the sheet's folder it was
    # seen on: it holds for any tip that has that folder, whoever moved the tip since.

    @property
    def notes_ref(self) -> str:
        return f"refs/notes/auditor/{self.branch}"

    def seen_versions(self, trees: dict[str, str]) -> dict[str, int]:
        """The versions seen of the sheets whose folders are `trees` (a tip's); none where
        the note is absent or not what this tool writes."""
        return {
            sheet_id: entry["version"]
            for sheet_id, entry in self._seen().items()
            if trees.get(sheet_id) == entry.get("tree") and type(entry.get("version")) is int
        }

    def _seen(self) -> dict[str, dict]:
        notes = self.rev_parse(self.notes_ref)
        data = self.read_path(notes, NOTE_FILE) if notes else None
        try:
            seen = orjson.loads(data) if data else {}
        except orjson.JSONDecodeError:
            return {}
        if not isinstance(seen, dict):
            return {}
        return {str(k): v for k, v in seen.items() if isinstance(v, dict)}

    def note_versions(
        self,
        trees: dict[str, str],
        versions: dict[str, int],
        author: tuple[str, str],
        when: dt.datetime,
    ) -> None:
        """Record `versions` as seen on the folders `trees`; entries of folders no longer
        at the tip are dropped. A lost race to write the note loses it: the next run reads
        those sheets once more."""
        seen = {k: v for k, v in self._seen().items() if trees.get(k) == v.get("tree")}
        seen |= {k: {"tree": trees[k], "version": v} for k, v in versions.items() if k in trees}
        data = orjson.dumps(seen, option=orjson.OPT_SORT_KEYS)
        expected = self.ref_target(self.notes_ref)  # even what is not a commit: replaced
        tree = self._write_nested({NOTE_FILE: data})
        commit = self._write_commit(tree, None, "auditor: versions seen\n", author, when)
        try:
            self.repo.git.update_ref(self.notes_ref, commit, expected or ZERO)
        except git.GitCommandError as error:
            log.warning("versions seen not recorded: %s", git_error(error.stderr))

    def share_notes(self, remote: str, push: bool) -> None:
        """Push the versions note to `remote`, or fetch it; it is a saving, not a record,
        so a failure is a warning."""
        spec = f"+{self.notes_ref}:{self.notes_ref}"
        if push and self.rev_parse(self.notes_ref) is None:
            return
        try:
            if push:
                self.repo.git.push("--quiet", remote, spec, env=NO_PROMPT)
            elif self._remote_has(remote, self.notes_ref):
                self.repo.git.fetch("--quiet", "--no-tags", remote, spec, env=NO_PROMPT)
        except git.GitCommandError as error:
            log.warning("versions note not shared with %s: %s", remote, git_error(error.stderr))

    def _remote_has(self, remote: str, ref: str) -> bool:
        return bool(self.repo.git.ls_remote(remote, ref, env=NO_PROMPT).strip())


class LostRace(GitError):
    """A push that another writer beat to the remote's branch: it moved (or was being
    moved) after this push read it. Not a refusal: the commit re-made on the new tip goes
    through."""


# How git words a lost push race. The client refuses a push that would not fast-forward
# the tip it was told ("[rejected]"). The remote refuses one whose branch moved, or was
# locked by another push, between telling its tip and updating it ("[remote rejected]"):
# git up to 2.49 says "failed to update ref" and why on a `remote:` line; git 2.50 on names
# the cause (a locked ref reads "reference already exists"), or for locked reftables says
# "failed to update refs"; GitHub gives git's detail as the reason.
CLIENT_RACES = frozenset({"fetch first", "non-fast-forward"})
REMOTE_RACES = frozenset({"incorrect old value provided", "reference already exists"})
REF_NOT_UPDATED = frozenset({"failed to update ref", "failed to update refs"})
RACE_DETAIL = re.compile(
    r"cannot lock ref '[^']+': (?:is at [0-9a-f]+ but expected [0-9a-f]+|reference already exists)"
    r"|Unable to create '[^']+\.lock': File exists|cannot lock references\b"
)


def lost_race(status: str, remote_said: list[str]) -> bool:
    """Whether a push's porcelain status (`[rejected] (fetch first)`) and the remote's
    `remote:` lines say it lost a race. A hook's own words never make a race of a refusal:
    they count only where git says the ref itself could not be updated."""
    flag, _, reason = status.partition(" (")
    reason = reason.removesuffix(")")
    if flag == "[rejected]":
        return reason in CLIENT_RACES
    if flag != "[remote rejected]":
        return False
    if reason in REMOTE_RACES or RACE_DETAIL.search(reason):
        return True
    return reason in REF_NOT_UPDATED and any(RACE_DETAIL.search(line) for line in remote_said)


FOLDER_PUNCTUATION = frozenset(" ._-()")
WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{port}{n}" for port in ("COM", "LPT") for n in range(10)}
)
MAX_FOLDER_NAME = 100


def _path_commit(record: bytes, wanted: frozenset[bytes]) -> PathCommit:
    """One commit of `path_log`'s output: its id and time, then a raw diff entry per path,
    `:<mode> <mode> <old id> <new id> <status>` (modes of 6 digits, ids of 40) and the path;
    only the `wanted` paths and the entries directly in them are kept."""
    from auditor.store.walks import PathCommit

    head, _, raw = record.partition(b"\0")
    sha, seconds = head.split()
    fields = raw.split(b"\0")
    changed: dict[str, str | None] = {}
    for at in range(0, len(fields) - 1, 2):
        path = fields[at + 1]
        if path in wanted or path[: path.rfind(b"/")] in wanted:
            new = fields[at][56:96].decode()
            changed[path.decode()] = None if new == ZERO else new
    return PathCommit(sha.decode(), dt.datetime.fromtimestamp(int(seconds), dt.UTC), changed)


def _checked_branch(repo: git.Repo, branch: str) -> str:
    """The snapshots branch's name, if git takes it as a branch name: refused up front
    (exit 2) rather than after objects are written, and never a name (`HEAD`, `@`, `-x`,
    `refs/...`) that would shadow or read as something else."""
    try:
        repo.git.check_ref_format("--branch", branch)
    except git.GitCommandError:
        ok = False
    else:
        ok = branch not in ("@", "HEAD") and not branch.startswith(("refs/", "-"))
    if not ok:
        raise UsageError(
            f"branch name {branch!r} cannot be used (AUDITOR_BRANCH, --branch); try 'snapshots'"
        )
    return branch


def check_folder_name(name: str) -> None:
    """A sheet's folder name becomes a path in every snapshot tree (`snapshots/<name>/`,
    `audit/<name>.json`, `changes/<name>/`) and a trailer value. Names that git refuses in
    a tree (`..`, `.git`, `a/b`), that a Windows or macOS checkout cannot hold, or that could
    read as an option or a pathspec are refused before anything is written."""
    why = None
    if not name or len(name) > MAX_FOLDER_NAME:
        why = f"it must be 1 to {MAX_FOLDER_NAME} characters"
    elif not name[0].isalnum():
        why = "it must start with a letter or a digit"
    elif any(not (char.isalnum() or char in FOLDER_PUNCTUATION) for char in name):
        why = "only letters, digits, spaces and . _ - ( ) may appear in it"
    elif name[-1] in " .":
        why = "it may not end with a space or a dot"
    elif name.split(".")[0].rstrip(" ").upper() in WINDOWS_DEVICES:
        why = "Windows keeps that name for a device (CON, NUL, COM1...)"
    if why:
        raise UsageError(
            f"snapshot folder name {name!r} cannot be used: {why}; choose one with --id"
        )


def _is_sheet_meta(meta: object) -> bool:
    """`sheet.json` as the tool writes it: what every reader of it relies on."""
    return (
        isinstance(meta, dict)
        and isinstance(meta.get("id"), str)
        and isinstance(meta.get("name"), str)
        and isinstance(meta.get("columns"), list)
        and all(
            isinstance(c, dict) and isinstance(c.get("title"), str) and type(c.get("index")) is int
            for c in meta["columns"]
        )
    )


def without_credentials(text: str) -> str:
    """Text about a remote, with any user and password in its URLs left out."""
    return CREDENTIALS.sub("://", text)


def git_error(stderr: object) -> str:
    """git's own reason: its `fatal:` line (the last line is often advice), credentials out."""
    lines = [line.strip() for line in str(stderr).splitlines() if line.strip()]
    fatal = [line for line in lines if "fatal:" in line]
    return (
        without_credentials(fatal[0].split("fatal:", 1)[1].strip()) if fatal else _last_line(stderr)
    )


def _last_line(stderr: object) -> str:
    lines = [line.strip() for line in str(stderr).splitlines() if line.strip()]
    return without_credentials(lines[-1].removeprefix("stderr: ").strip("'")) if lines else "?"


def folder_id(files: dict[str, bytes]) -> str:
    """The tree id `write_folder(files)` gives, computed without writing anything: a sheet
    whose folder id equals the one on the branch has not changed."""
    entries = {name: (BLOB_MODE, object_id("blob", data)) for name, data in files.items()}
    return object_id("tree", tree_bytes(entries))


def object_id(kind: str, data: bytes) -> str:
    """The id git gives an object, computed without writing it."""
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).hexdigest()


def tree_bytes(entries: dict[str, tuple[int, str]]) -> bytes:
    """A tree object's content; `entries` maps a name to (mode, object id)."""

    def order(name: str) -> bytes:
        return (name + "/" if entries[name][0] == TREE_MODE else name).encode()

    return b"".join(
        b"%o %s\0" % (entries[name][0], name.encode()) + bytes.fromhex(entries[name][1])
        for name in sorted(entries, key=order)
    )
