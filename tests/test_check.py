"""`auditor check` says what is right and what to fix, with the contract's exit codes."""

import pytest

from demo import billing
from tests.helpers import git

SHEET = str(billing.SHEET_ID)


@pytest.fixture
def configured(emulator, api_env):
    emulator.add_sheet(billing.make_sheet(rows=5))
    audit = billing.make_sheet(rows=0, name="Billing audit")
    audit["id"] = 777
    emulator.add_sheet(audit)
    return {**api_env, "SOURCE_SHEET_ID": SHEET, "AUDIT_SHEET_ID": "777"}


def test_a_good_setup_passes_every_check(repo, cli, configured, tmp_path):
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    result = cli("check", env=configured)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert all(line.startswith("ok   ") for line in lines)
    assert "ok   token: accepted by" in result.stdout
    assert f"ok   sheet {SHEET}: readable: 'Billing 2026', 5 rows, 18 columns" in result.stdout
    assert "ok   audit sheet: writable (OWNER): 'Billing audit'" in result.stdout
    assert "the first publish adds 19 audit columns: Time (UTC), Snapshots," in result.stdout
    assert f"ok   remote origin: {tmp_path / 'origin.git'}" in result.stdout
    assert "no snapshots yet: the first run makes the baseline" in result.stdout


def test_each_problem_is_named_with_its_fix(repo, cli, configured, emulator):
    emulator.sheets[777]["accessLevel"] = "VIEWER"
    result = cli("check", env={**configured, "SOURCE_SHEET_ID": f"{SHEET},424242"})
    assert result.returncode == 3
    assert "FAIL sheet 424242: not found or not shared with this token" in result.stdout
    assert "FAIL audit sheet: 'Billing audit'" in result.stdout
    assert "share it with Editor rights" in result.stdout
    rejected = cli("check", env={**configured, "SMARTSHEET_API_TOKEN": "nope"})
    assert rejected.returncode == 3 and "FAIL token: token check: token rejected" in rejected.stdout
    missing = cli("check", env={k: v for k, v in configured.items() if k != "SMARTSHEET_API_TOKEN"})
    assert missing.returncode == 2 and "FAIL token: not set" in missing.stdout


def test_outside_a_repository_the_git_check_fails(cli, configured, tmp_path):
    result = cli("check", env=configured, cwd=tmp_path)
    assert result.returncode == 4
    assert result.stdout.startswith("FAIL repository:")


def test_an_audit_sheet_with_rows_but_no_audit_id_column_fails(repo, cli, configured, emulator):
    audit = emulator.sheets[777]
    audit["rows"].append(
        {"id": 1, "cells": [{"columnId": audit["columns"][0]["id"], "value": "x"}]}
    )
    audit["totalRowCount"] = 1
    result = cli("check", env=configured)
    assert result.returncode == 3
    assert "FAIL audit sheet:" in result.stdout and "no 'Audit ID' column" in result.stdout


def test_an_origin_that_cannot_be_reached_fails_without_its_credentials(repo, cli, configured):
    git(repo, "remote", "add", "origin", "https://user:secret@127.0.0.1:9/billing.git")
    result = cli("check", env=configured)
    assert result.returncode == 4
    assert "FAIL remote origin: cannot reach 'origin': " in result.stdout
    assert "secret" not in result.stdout + result.stderr


def test_a_sheet_on_the_branch_that_no_source_covers_is_named_as_carried(repo, cli, configured):
    snapshot = cli("snapshot", env={**configured, "SOURCE_SHEET_ID": SHEET})
    assert snapshot.returncode == 0, snapshot.stderr
    result = cli("check", env={**configured, "SOURCE_SHEET_ID": "777"})
    assert (
        f"ok   sheet {SHEET}: carried as last snapshotted: listed by id then, not here "
        "(another job's sheet, or no longer configured)"
    ) in result.stdout.splitlines()
