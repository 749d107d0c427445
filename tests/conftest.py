"""Shared fixtures: real git repositories in temporary folders, and the CLI as a process."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
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
def origin(tmp_path: Path) -> Path:
    """The repository the scheduled workflow lives in, bare as a remote is: a main branch,
    no snapshots yet."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "README.md").write_text("billing audit\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "-q", "-m", "start")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


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


@dataclass(frozen=True)
class Tls:
    """A CA that only these tests trust, and a server context with its certificate for
    127.0.0.1."""

    ca_file: str
    server: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """Made with trustme when the tests run, so no key or certificate is kept in the repo."""
    import trustme

    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Tls(str(ca_file), server)


@pytest.fixture
def scheme() -> str:
    """The emulator's scheme; a module or test parametrizes it to run over https as well."""
    return "http"


@pytest.fixture
def emulator(scheme: str, tls: Tls, monkeypatch: pytest.MonkeyPatch):
    """The Smartsheet API emulator on a free port of 127.0.0.1, stopped after the test.

    Over https, REQUESTS_CA_BUNDLE names the tests' CA, for clients in this process and the
    CLI processes it starts alike. NO_PROXY keeps a proxy set where the tests run from
    coming between the clients and the emulator.
    """
    from emulator import Emulator

    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    if scheme == "https":
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls.ca_file)
    context = tls.server if scheme == "https" else None
    server = Emulator(tokens={TOKEN: "owner@example.com"}).start(ssl_context=context)
    yield server
    server.stop()


@pytest.fixture
def client(emulator):
    """The real Smartsheet SDK on the emulator, raising errors as exceptions. Its own retry
    loop retries at once, up to three times, to keep the tests fast."""
    import smartsheet
    from smartsheet.smartsheet import AbstractUserCalcBackoff

    class NoWait(AbstractUserCalcBackoff):
        def calc_backoff(self, previous_attempts, total_elapsed_time, error_result):
            return 0 if previous_attempts < 3 else -1

    sdk = smartsheet.Smartsheet(
        access_token=TOKEN, api_base=emulator.base_url, max_retry_time=NoWait()
    )
    sdk.errors_as_exceptions(True)
    return sdk


@pytest.fixture
def api_env(emulator) -> dict[str, str]:
    """Environment that points `auditor` at the emulator, with short timeouts for tests."""
    return {
        "SMARTSHEET_API_BASE": emulator.base_url,
        "SMARTSHEET_API_TOKEN": TOKEN,
        "SMARTSHEET_TIMEOUT": "2",
        "SMARTSHEET_RETRY_BUDGET": "3",
    }
