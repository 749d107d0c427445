"""Shared fixtures: real git repositories in temporary folders, and the CLI as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.store.gitstore import Store
from tests.helpers import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A user's repository with a commit on main, a staged change and an untracked file."""
    path = tmp_path / "work"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "notes.txt").write_text("hello\n")
    git(path, "add", "notes.txt")
    git(path, "commit", "-q", "-m", "user commit")
    (path / "notes.txt").write_text("hello, staged\n")
    git(path, "add", "notes.txt")
    (path / "scratch.txt").write_text("untracked\n")
    return path


@pytest.fixture
def store(repo: Path) -> Store:
    opened = Store(repo, "snapshots")
    yield opened
    opened.close()


@pytest.fixture
def cli(repo: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `auditor` as a real process in the repository, as a user would."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("AUDITOR_", "SMARTSHEET_", "GITHUB_", "AUDIT_SHEET", "SOURCE_SHEET")
            )
        }
        return subprocess.run(
            [sys.executable, "-m", "auditor", *args],
            cwd=cwd or repo,
            capture_output=True,
            text=True,
            env={**clean, **(env or {})},
            timeout=120,
        )

    return run


TOKEN = "emulator-token"


@pytest.fixture
def emulator():
    """The Smartsheet API emulator on a free port of 127.0.0.1, stopped after the test."""
    from emulator import Emulator

    server = Emulator(tokens={TOKEN: "owner@example.com"}).start()
    yield server
    server.stop()


@pytest.fixture
def api_env(emulator) -> dict[str, str]:
    """Environment that points `auditor` at the emulator, with short timeouts for tests."""
    return {
        "SMARTSHEET_API_BASE": emulator.base_url,
        "SMARTSHEET_API_TOKEN": TOKEN,
        "SMARTSHEET_TIMEOUT": "2",
        "SMARTSHEET_RETRY_BUDGET": "3",
    }
