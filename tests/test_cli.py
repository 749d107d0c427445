"""The CLI as a process: output, formats, exit codes and one-line errors."""

import datetime as dt
import json

import pytest

from auditor.commands.snapshot import take_snapshot
from auditor.snapshot.model import Column, Sheet
from tests.helpers import AUTHOR, as_rows, git, write_csv

HEADER = ["Work Request #", "CU", "Quantity", "Units Total Price"]


@pytest.fixture
def two_snapshots(repo, cli, tmp_path):
    source = tmp_path / "billing.csv"
    runs = [
        (
            "2026-11-20T10:00:00Z",
            [["WR-1", "XA-8", "2", "$425.50"], ["WR-2", "GW-1", "1", "385.20"]],
        ),
        (
            "2026-11-20T12:00:00Z",
            [["WR-1", "XA-8", "3", "$638.25"], ["WR-3", "| <b>@team</b>", "1", "x"]],
        ),
    ]
    for when, rows in runs:
        write_csv(source, HEADER, rows)
        result = cli(
            "snapshot", "--file", str(source), "--key", "Work Request #", "--fetched-at", when
        )
        assert result.returncode == 0, result.stderr
    return source


def test_snapshot_prints_the_commit_or_says_unchanged(repo, cli, two_snapshots):
    tip = git(repo, "rev-parse", "snapshots")
    again = cli("snapshot", "--file", str(two_snapshots), "--key", "Work Request #")
    assert again.returncode == 0
    assert again.stdout.splitlines() == [
        "billing: unchanged",
        "data unchanged: no commit made on branch 'snapshots'",
    ]
    assert git(repo, "rev-parse", "snapshots") == tip


def test_diff_json_follows_the_contract(cli, two_snapshots):
    result = cli("diff", "HEAD~1", "HEAD", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["from"]["time"] == "2026-11-20T10:00:00Z"
    assert document["to"]["time"] == "2026-11-20T12:00:00Z"
    sheet = document["sheets"][0]
    assert sheet["status"] == "changed"
    assert sheet["rows_added"][0]["key"] == "WR-3"
    assert sheet["rows_removed"] == [
        {
            "key": "WR-2",
            "row": {
                "CU": "GW-1",
                "Quantity": 1,
                "Units Total Price": 385.2,
                "Work Request #": "WR-2",
            },
        }
    ]
    assert sheet["cells_changed"] == [
        {"key": "WR-1", "column": "Quantity", "old": 2, "new": 3},
        {"key": "WR-1", "column": "Units Total Price", "old": 425.5, "new": 638.25},
    ]
    assert document["summary"] == {
        "rows_added": 1,
        "rows_removed": 1,
        "cells_changed": 2,
        "violations_new": 1,  # WR-3's price `x` is not a number: invalid-amount
    }
    [violation] = sheet["violations"]["new"]
    assert (violation["rule"], violation["key"]) == ("invalid-amount", "WR-3")


def test_diff_exit_code_says_whether_snapshots_differ(cli, two_snapshots):
    assert cli("diff", "--exit-code").returncode == 1
    assert cli("diff", "HEAD", "HEAD", "--exit-code").returncode == 0
    assert cli("diff").returncode == 0


def test_table_shows_at_most_limit_rows_and_says_how_many_more(cli, two_snapshots):
    result = cli("diff", "--limit", "2")
    assert result.returncode == 0
    assert "billing (billing): changed, +1 row, -1 row, 2 cells changed" in result.stdout
    assert "... 2 more changes not shown" in result.stdout


def test_markdown_escapes_sheet_text_and_cuts_long_lists(cli, two_snapshots):
    result = cli("diff", "--format", "markdown", "--limit", "3")
    assert result.returncode == 0
    assert "\\| &lt;b&gt;@\u200bteam&lt;/b&gt;" in result.stdout
    assert "<b>" not in result.stdout and "@team" not in result.stdout
    assert "_… and 1 more change not shown._" in result.stdout
    capped = cli("diff", "--format", "markdown", "--max-bytes", "1024")
    assert len(capped.stdout.encode()) <= 1024


def test_log_and_show(cli, two_snapshots):
    log = cli("log", "--format", "json")
    entries = json.loads(log.stdout)
    assert [e["subject"] for e in entries] == [
        "billing: +1 row, -1 row, 2 cells",
        "billing: 2 rows (first snapshot)",
    ]
    assert len(json.loads(cli("log", "-n", "1", "--format", "json").stdout)) == 1
    assert "billing: +1 row, -1 row, 2 cells" in cli("log").stdout
    shown = json.loads(cli("show", "HEAD~1", "--format", "json").stdout)
    assert [r["key"] for r in shown["sheets"][0]["rows"]] == ["WR-1", "WR-2"]
    table = cli("show", "--sheet", "billing", "--limit", "1")
    assert "billing (billing): 2 rows" in table.stdout and "1 more row not shown" in table.stdout


def test_log_shows_the_newest_twenty_unless_told(store, cli):
    for n in range(23):
        take_snapshot(
            store,
            [Sheet("billing", "Billing", [Column("WR", 0)], as_rows({"1": {"WR": f"WR-{n}"}}))],
            author=AUTHOR,
            fetched_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC) + dt.timedelta(hours=2 * n),
        )
    times = [e["time"] for e in json.loads(cli("log", "--format", "json").stdout)]
    assert len(times) == 20 and times[0] == "2026-11-03T20:00:00Z"
    assert times == sorted(times, reverse=True)
    assert len(json.loads(cli("log", "-n", "22", "--format", "json").stdout)) == 22
    every = json.loads(cli("log", "--all", "--format", "json").stdout)
    assert len(every) == 23 and every[-1]["subject"] == "Billing: 1 row (first snapshot)"
    table = cli("log").stdout
    assert [line[:1] for line in table.splitlines()].count("│") == 20
    assert "older snapshots not shown (-n N shows the newest N, --all every one)" in table
    assert "not shown" not in cli("log", "-n", "23").stdout


def test_branch_option_and_environment(repo, cli, two_snapshots):
    assert cli("--branch", "elsewhere", "log").returncode == 2
    assert cli("log", env={"AUDITOR_BRANCH": "elsewhere"}).returncode == 2
    assert cli("log", env={"AUDITOR_REPO": str(repo)}, cwd=repo.parent).returncode == 0


def one_line_error(result, code, text):
    assert result.returncode == code
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("auditor: error: ")
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_errors_are_one_line_with_the_contract_exit_code(repo, cli, tmp_path, two_snapshots):
    tip = git(repo, "rev-parse", "snapshots")
    bad = write_csv(
        tmp_path / "bad.csv", HEADER, [["WR-1", "a", "1", "1"], ["WR-1", "b", "1", "1"]]
    )
    one_line_error(
        cli("snapshot", "--file", str(bad), "--key", "Work Request #"), 3, "duplicate key 'WR-1'"
    )
    one_line_error(cli("diff", "HEAD~5"), 2, "unknown revision 'HEAD~5' on branch 'snapshots'")
    one_line_error(cli("snapshot"), 2, "nothing to snapshot")
    one_line_error(cli("diff", "--sheet", "nope"), 2, "no sheet 'nope'")
    one_line_error(cli("log", cwd=tmp_path), 4, "is not a git repository")
    assert git(repo, "rev-parse", "snapshots") == tip
    assert cli("diff", "--format", "yaml").returncode == 2


def test_first_snapshot_has_no_previous_revision(repo, cli, tmp_path):
    source = write_csv(tmp_path / "b.csv", HEADER, [["WR-1", "XA-8", "2", "1"]])
    assert cli("snapshot", "--file", str(source), "--key", "Work Request #").returncode == 0
    one_line_error(cli("diff"), 2, "unknown revision 'HEAD~1' on branch 'snapshots'")


def test_debug_shows_the_traceback(cli, tmp_path):
    result = cli("--debug", "log", cwd=tmp_path)
    assert result.returncode == 4
    assert "Traceback" in result.stderr
