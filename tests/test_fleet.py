"""Many runners, one branch: a matrix of jobs, each auditing its own sheet, all pushing to
the one snapshots branch at the same moment, as `docs/github.md` sets them up.

Each job is a fresh clone of a bare origin running `auditor run --push origin` as a process.
A `pre-push` hook holds every job's first push until all of them have reached it, so every
round is a real race: all the pushes start from the same tip and only one can land as made.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.audit.settings import load_settings
from auditor.commands import run as run_module
from auditor.commands.run import run_job
from auditor.config import Config
from auditor.errors import GitError
from auditor.store.gitstore import Store
from demo import billing
from tests.conftest import TOKEN
from tests.helpers import git

JOBS = 8
ROUNDS = 3
FIRST_SHEET = 7100
REPOSITORY = "acme/billing-audit"
REMADE = re.compile(r"re-made on origin's new tip (\d+)x")


@pytest.fixture
def crews(emulator) -> list[dict]:
    """One billing sheet per job."""
    sheets = []
    for job in range(JOBS):
        sheet = billing.make_sheet(rows=12, seed=job, name=f"Crew {job} billing")
        sheet["id"] = FIRST_SHEET + job
        emulator.add_sheet(sheet)
        sheets.append(sheet)
    return sheets


class Barrier:
    """Releases the waiting hooks together once `parties` have connected; a job that dies
    before its push makes the wait time out instead of hanging."""

    def __init__(self, path: Path, parties: int) -> None:
        self.path, self.parties = path, parties
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(parties)
        self.server.settimeout(60)

    def hook(self) -> str:
        """A `pre-push` hook that waits at the barrier, on the first push only."""
        wait = (
            "import socket, sys; sys.stdin.read(); s = socket.socket(socket.AF_UNIX); "
            "s.connect(sys.argv[1]); sys.exit(s.recv(1) != b'!')"
        )
        return f'#!/bin/sh\nrm -f "$0"\nexec "{sys.executable}" -c "{wait}" "{self.path}"\n'

    def release(self) -> None:
        waiting = [self.server.accept()[0] for _ in range(self.parties)]
        for connection in waiting:
            connection.sendall(b"!")
            connection.close()

    def close(self) -> None:
        self.server.close()


def job_env(api_env: dict[str, str], sheet: dict, run_id: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUDITOR_", "SMARTSHEET_", "GITHUB_", "AUDIT_SHEET", "SOURCE_SHEET"))
    }
    return {
        **clean,
        **api_env,
        "SMARTSHEET_TIMEOUT": "20",  # 8 jobs on 2 cores: slow, not failing
        "SOURCE_SHEET_ID": str(sheet["id"]),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": run_id,
    }


def run_round(origin: Path, tmp_path: Path, api_env, crews: list[dict], round_: int) -> list[int]:
    """Every job at once, each in its own fresh clone; how often each job re-made its
    snapshot."""
    barrier = Barrier(tmp_path / f"barrier-{round_}", JOBS)
    jobs = []
    try:
        for job, sheet in enumerate(crews):
            work = tmp_path / f"round{round_}-job{job}"
            git(tmp_path, "clone", "-q", str(origin), str(work))
            hook = work / ".git" / "hooks" / "pre-push"
            hook.write_text(barrier.hook())
            hook.chmod(0o755)
            jobs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "auditor", "run", "--push", "origin"],
                    cwd=work,
                    env=job_env(api_env, sheet, f"{round_}0{job}"),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        barrier.release()
    except TimeoutError:
        pytest.fail(f"not every job reached its push: {[job.communicate() for job in jobs]}")
    finally:
        barrier.close()
    outputs = [job.communicate(timeout=120) for job in jobs]
    remakes = []
    for job, (out, err) in zip(jobs, outputs, strict=True):
        assert job.returncode == 0, out + err
        assert "pushed 'snapshots' to origin" in out, out
        remade = REMADE.search(out)
        remakes.append(int(remade.group(1)) if remade else 0)
    return remakes


def edit_every_sheet(emulator, crews: list[dict], round_: int) -> None:
    with emulator.lock:
        for job, sheet in enumerate(crews):
            billing.set_cell(sheet, 1 + round_, "Foreman", f"Round {round_} crew {job}")


def test_eight_jobs_pushing_at_once_all_land_on_one_linear_branch(
    emulator, api_env, origin, crews, tmp_path
):
    for round_ in range(ROUNDS):
        edit_every_sheet(emulator, crews, round_)
        remakes = run_round(origin, tmp_path, api_env, crews, round_)
        # All pushes start from one tip: one lands as made, every other is re-made.
        assert remakes.count(0) == 1, remakes

    log = git(origin, "log", "--format=%H %P%x1f%B%x1e", "snapshots").split("\x1e")
    commits = [record.strip("\n").split("\x1f") for record in log if record.strip()]
    assert len(commits) == JOBS * ROUNDS
    assert git(origin, "rev-list", "--merges", "snapshots") == ""
    shas = [head.split()[0] for head, _ in commits]
    for (head, _), older in zip(commits, [*shas[1:], None], strict=True):
        assert head.split()[1:] == ([older] if older else [])

    landed = set()
    for (head, message), older in zip(commits, [*shas[1:], None], strict=True):
        run_id = re.search(rf"{REPOSITORY}/actions/runs/(\d+)", message).group(1)
        sha = head.split()[0]
        changed = git(origin, "diff-tree", "-r", "--root", "--name-only", "--no-commit-id", sha)
        folders = {path.split("/")[1] for path in changed.split() if path.startswith("snapshots/")}
        assert folders == {str(FIRST_SHEET + int(run_id[-1]))}, (run_id, older, folders)
        landed.add(run_id)
    assert landed == {f"{round_}0{job}" for round_ in range(ROUNDS) for job in range(JOBS)}

    for job in range(JOBS):
        rows = git(origin, "show", f"snapshots:snapshots/{FIRST_SHEET + job}/rows.json")
        for round_ in range(ROUNDS):
            assert f"Round {round_} crew {job}" in rows


def test_a_branch_that_stays_locked_ends_the_run_with_a_clear_error(
    emulator, crews, origin, tmp_path, monkeypatch
):
    """A push that crashed on the remote can leave the branch's lock behind: every push
    then loses, and the run stops at the bound, saying what git said."""
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    sheet = crews[0]
    config = Config(
        token=TOKEN,
        api_base=emulator.base_url,
        sheets=(str(sheet["id"]),),
        timeout=5,
        retry_budget=3,
    )
    store = Store(work, "snapshots")
    try:
        run_job(store, config, load_settings(config), push="origin", out=tmp_path)
        landed = git(origin, "rev-parse", "snapshots")
        (origin / "refs" / "heads" / "snapshots.lock").touch()
        edit_every_sheet(emulator, crews, 0)
        monkeypatch.setattr(run_module, "PUSH_ATTEMPTS", 3)
        monkeypatch.setattr(run_module, "BACKOFF_FIRST", 0.01)
        with pytest.raises(GitError) as stuck:
            run_job(store, config, load_settings(config), push="origin", out=tmp_path)
    finally:
        store.close()
    message = str(stuck.value)
    assert message.startswith(
        "3 pushes of 'snapshots' to 'origin' each lost a race to another run; the last: "
        "'origin' moved under the push of 'snapshots': [remote rejected] ("
    )
    assert "snapshots.lock': File exists" in message and "docs/github.md" in message
    assert stuck.value.exit_code == 4
    assert git(origin, "rev-parse", "snapshots") == landed
