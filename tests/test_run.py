"""`auditor run` played as the scheduled workflow plays it: a bare repository as origin, a
fresh clone for every run (only origin's branches, as a CI checkout has), the emulator as
Smartsheet, and two runs racing to push."""

from __future__ import annotations

import logging
from itertools import pairwise
from pathlib import Path

import pytest

from auditor.audit.settings import load_settings
from auditor.commands import run as run_module
from auditor.commands.run import run_job
from auditor.config import Config
from demo import billing
from tests.conftest import TOKEN
from tests.helpers import git

AUDIT_SHEET = 88


@pytest.fixture
def world(emulator, api_env, origin, tmp_path):
    sheet = billing.make_sheet(rows=40)
    emulator.add_sheet(sheet)
    audit = {
        "id": AUDIT_SHEET,
        "name": "Billing audit",
        "columns": [{"id": 1, "index": 0, "title": "Note", "type": "TEXT_NUMBER", "primary": True}],
    }
    emulator.add_sheet(audit)
    env = {
        **api_env,
        "SOURCE_SHEET_ID": str(billing.SHEET_ID),
        "AUDIT_SHEET_ID": str(AUDIT_SHEET),
        "GITHUB_REPOSITORY": "acme/billing-audit",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    return sheet, audit, env


def clone(origin: Path, tmp_path: Path, name: str) -> Path:
    """What actions/checkout leaves: the default branch checked out, origin's refs."""
    path = tmp_path / name
    git(tmp_path, "clone", "-q", str(origin), str(path))
    return path


def run(cli, where: Path, env: dict, run_id: str, *args: str):
    summary = where.parent / f"summary-{run_id}.md"
    return cli(
        "run",
        "--push",
        "origin",
        "--out",
        str(where.parent / f"reports-{run_id}"),
        *args,
        cwd=where,
        env={**env, "GITHUB_RUN_ID": run_id, "GITHUB_STEP_SUMMARY": str(summary)},
    )


def history(origin: Path) -> list[str]:
    return git(origin, "log", "--first-parent", "--format=%H", "snapshots").split()


def audit_ids(audit: dict) -> list[str]:
    column = next(c["id"] for c in audit["columns"] if c["title"] == "Audit ID")
    return [c["value"] for r in audit["rows"] for c in r["cells"] if c["columnId"] == column]


def test_the_scheduled_job_end_to_end(cli, emulator, origin, world, tmp_path):
    sheet, audit, env = world

    first = run(cli, clone(origin, tmp_path, "run1"), env, "1")
    assert first.returncode == 0, first.stderr
    assert "baseline" in first.stdout and "pushed 'snapshots' to origin" in first.stdout
    assert len(history(origin)) == 1 and audit["rows"] == []

    week = "Weekly Reference Logged Date"
    ended = next(n for n in range(1, 41) if billing.value_of(sheet, n, week) < "2026-11-01")
    with emulator.lock:
        billing.set_cell(sheet, ended, "Quantity", billing.value_of(sheet, ended, "Quantity") + 4)
    work = clone(origin, tmp_path, "run2")
    second = run(cli, work, env, "2", "--fail-on", "low")
    assert second.returncode == 1, second.stdout + second.stderr
    assert "1 new violation at low or above (--fail-on)" in second.stderr
    assert "2 rows posted, 0 already there" in second.stdout
    assert len(history(origin)) == 2
    message = git(origin, "log", "-1", "--format=%B", "snapshots")
    assert "https://github.com/acme/billing-audit/actions/runs/2" in message
    summary = (tmp_path / "summary-2.md").read_text()
    assert "closed-period-edit" in summary and "new snapshot, 1 new violation" in summary
    assert git(work, "status", "--porcelain") == "" and git(work, "branch", "--show-current") == (
        "main"
    )
    posted = len(audit["rows"])
    assert posted == 2  # the changed quantity and the closed-period violation

    racer_a = clone(origin, tmp_path, "run3a")
    racer_b = clone(origin, tmp_path, "run3b")
    with emulator.lock:
        billing.set_cell(sheet, 5, "Foreman", "A. Racer")
    won = run(cli, racer_a, env, "3")
    assert won.returncode == 0, won.stderr
    with emulator.lock:
        billing.set_cell(sheet, 6, "Foreman", "B. Racer")
    remade = run(cli, racer_b, env, "4")
    assert remade.returncode == 0, remade.stderr
    assert "re-made on origin's new tip 1x" in remade.stdout
    tips = history(origin)
    assert len(tips) == 4
    assert git(origin, "rev-parse", f"{tips[0]}^") == tips[1]
    last = git(origin, "show", "--format=", "--stat", "snapshots")
    assert "rows.json" in last
    assert len(audit_ids(audit)) == posted + 2 and len(set(audit_ids(audit))) == posted + 2

    quiet = run(cli, clone(origin, tmp_path, "run5"), env, "5")
    assert quiet.returncode == 0, quiet.stderr
    assert "not read" in quiet.stdout and "every pair is published already" in quiet.stdout
    assert len(history(origin)) == 4 and len(audit_ids(audit)) == posted + 2
    assert len(emulator.attachments[AUDIT_SHEET]) == 3


def test_a_push_refused_by_the_remote_fails_clearly(cli, origin, world, tmp_path):
    _, audit, env = world
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'snapshots is protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = run(cli, clone(origin, tmp_path, "run"), env, "1")
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stderr == (
        "auditor: error: cannot push 'snapshots' to 'origin': [remote rejected] "
        "(pre-receive hook declined); remote: snapshots is protected\n"
    )
    assert "snapshots" not in git(origin, "branch", "--list") and audit["rows"] == []


def edit(emulator, sheet: dict, row: int, foreman: str) -> None:
    """A change between runs that makes one audit row: a Foreman cell changed."""
    with emulator.lock:
        billing.set_cell(sheet, row, "Foreman", foreman)


def pairs(origin: Path) -> list[str]:
    """The branch's pairs as the Snapshots column names them, oldest first."""
    tips = history(origin)
    return [f"{old[:10]}..{new[:10]}" for new, old in pairwise(tips)][::-1]


def snapshots_column(audit: dict) -> list[str]:
    column = next(c["id"] for c in audit["columns"] if c["title"] == "Snapshots")
    return [c["value"] for r in audit["rows"] for c in r["cells"] if c["columnId"] == column]


def attached(emulator) -> list[str]:
    return [item["name"] for item in emulator.attachments.get(AUDIT_SHEET, [])]


def report_names(origin: Path) -> list[str]:
    return [f"audit-{pair[:7]}-{pair[12:19]}.xlsx" for pair in pairs(origin)]


def test_a_run_publishes_every_pair_since_the_last_one_published(
    cli, emulator, origin, world, tmp_path
):
    sheet, audit, env = world
    assert run(cli, clone(origin, tmp_path, "run1"), env, "1").returncode == 0
    edit(emulator, sheet, 5, "Pair One")
    assert run(cli, clone(origin, tmp_path, "run2"), env, "2").returncode == 0
    edit(emulator, sheet, 6, "Pair Two")
    emulator.inject(rf"^/sheets/{AUDIT_SHEET}/rows$", method="POST", status=503, count=99)
    brief = {**env, "SMARTSHEET_RETRY_BUDGET": "1"}
    failed = run(cli, clone(origin, tmp_path, "run3"), brief, "3")
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "HTTP 503" in failed.stderr and len(history(origin)) == 3
    emulator.faults.clear()
    with emulator.lock:  # a reviewer's own column on the audit sheet is left alone
        audit["columns"].append({"id": 2, "index": 20, "title": "Reviewed", "type": "CHECKBOX"})
    edit(emulator, sheet, 7, "Pair Three")

    caught_up = run(cli, clone(origin, tmp_path, "run4"), env, "4")
    assert caught_up.returncode == 0, caught_up.stdout + caught_up.stderr
    first, second, third = pairs(origin)
    assert snapshots_column(audit) == [first, second, third]
    assert len(set(audit_ids(audit))) == len(audit_ids(audit)) == 3
    assert attached(emulator) == report_names(origin)
    said = caught_up.stdout
    assert f"pair {first}" not in said, "a pair whose report is attached is whole"
    assert f"pair {second}: 1 row posted, 0 already there" in said
    assert f"pair {third}: 1 row posted, 0 already there" in said
    assert said.index(f"pair {second}") < said.index(f"pair {third}")


def test_a_quiet_run_finishes_the_pairs_left_unpublished(cli, emulator, origin, world, tmp_path):
    """Pair 3 changes only the sheet's name: no audit row, which must not end the walk back
    to pair 1 before pair 2."""
    sheet, audit, env = world
    assert run(cli, clone(origin, tmp_path, "run1"), env, "1").returncode == 0
    edit(emulator, sheet, 5, "Pair One")
    assert run(cli, clone(origin, tmp_path, "run2"), env, "2").returncode == 0
    emulator.inject(rf"^/sheets/{AUDIT_SHEET}/rows$", method="POST", status=503, count=99)
    brief = {**env, "SMARTSHEET_RETRY_BUDGET": "1"}
    edit(emulator, sheet, 6, "Pair Two")
    assert run(cli, clone(origin, tmp_path, "run3"), brief, "3").returncode == 3
    with emulator.lock:
        sheet["name"] = "Billing 2026 (renamed)"
        sheet["version"] += 1
    still = run(cli, clone(origin, tmp_path, "run4"), brief, "4")
    assert still.returncode == 3, still.stdout + still.stderr
    assert len(history(origin)) == 4 and len(audit_ids(audit)) == 1
    emulator.faults.clear()

    quiet = run(cli, clone(origin, tmp_path, "run5"), env, "5")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "version unchanged" in quiet.stdout and "no sheet read: no commit" in quiet.stdout
    assert len(history(origin)) == 4
    first, second, third = pairs(origin)
    assert snapshots_column(audit) == [first, second]
    assert f"pair {second}: 1 row posted, 0 already there" in quiet.stdout
    assert f"pair {third}: 0 rows posted, 0 already there" in quiet.stdout
    assert attached(emulator) == report_names(origin)


def test_a_billing_sheet_is_refused_as_the_audit_sheet(cli, emulator, origin, world, tmp_path):
    sheet, _, env = world
    assert run(cli, clone(origin, tmp_path, "run1"), env, "1").returncode == 0
    columns = [dict(column) for column in sheet["columns"]]
    edit(emulator, sheet, 5, "Changed")
    wrong = {**env, "AUDIT_SHEET_ID": str(billing.SHEET_ID)}
    refused = run(cli, clone(origin, tmp_path, "run2"), wrong, "2")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1 and "SOURCE_SHEET_ID" in refused.stderr
    assert sheet["columns"] == columns and len(sheet["rows"]) == 40
    assert len(history(origin)) == 1


def test_a_new_audit_sheet_gets_the_newest_pair_and_the_walk_back_is_bounded(
    emulator, world, store, tmp_path, monkeypatch, caplog
):
    sheet, audit, _ = world
    config = Config(
        token=TOKEN,
        api_base=emulator.base_url,
        sheets=(str(billing.SHEET_ID),),
        audit_sheet_id=str(AUDIT_SHEET),
        timeout=2,
        retry_budget=3,
    )
    settings = load_settings(config)
    editors = iter(range(100))

    def run_once(publish: bool) -> None:
        run_job(store, config, settings, publish=publish, out=tmp_path)

    def changed(runs: int) -> None:
        """`runs` runs, each after a change, that publish nothing."""
        for _ in range(runs):
            edit(emulator, sheet, 5, f"Editor {next(editors)}")
            run_once(publish=False)

    def labels() -> list[str]:
        tips = [commit.sha for commit in store.first_parents(store.tip())]
        return [f"{old[:10]}..{new[:10]}" for new, old in pairwise(tips)][::-1]

    run_once(publish=False)
    changed(3)
    run_once(publish=True)  # the first publish: the newest pair only, none of the history
    assert snapshots_column(audit) == labels()[-1:]
    changed(3)
    monkeypatch.setattr(run_module, "TRAIL_PAIRS", 2)
    with caplog.at_level(logging.WARNING, logger="auditor"):
        run_once(publish=True)
    third, fourth, fifth, sixth = labels()[2:]
    assert snapshots_column(audit) == [third, fifth, sixth]
    assert "holds rows of none of the last 2 pairs on 'snapshots'" in caplog.text
    assert f"pairs up to {fourth[12:]} are not" in caplog.text
