"""No input, name, fault or hand edit may make the audit lie, lose rows or lose its trail.

One section per class of failure found by trying the tool as a new user and an attacker
would (the README's Tests section lists them). Each test failed on the version before the
fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from demo import billing
from tests.helpers import git, write_csv

DATA = Path(__file__).parent / "data"
SHEET = str(billing.SHEET_ID)


def rows_of(repo: Path, sheet: str, rev: str = "snapshots") -> dict:
    return orjson.loads(git(repo, "show", f"{rev}:snapshots/{sheet}/rows.json"))


# 1. Sheet columns are data, whatever their titles.


def sheet_with_titles(*titles: str) -> dict:
    """A three-row sheet with the given extra column titles, all rows equal in them."""
    sheet = billing.make_sheet(rows=3)
    for n, title in enumerate(titles):
        column_id = 9000 + n
        sheet["columns"].append(
            {"id": column_id, "index": len(sheet["columns"]), "title": title, "type": "TEXT_NUMBER"}
        )
        for row in sheet["rows"]:
            row["cells"].append({"columnId": column_id, "value": "same"})
    return sheet


TOOL_LIKE_TITLES = ("_id", "_modified_by", "_formulas", "cells", "id", "modified_at")


def test_titles_like_the_tools_own_fields_are_columns_through_the_api(
    repo, cli, api_env, emulator
):
    sheet = sheet_with_titles(*TOOL_LIKE_TITLES)
    emulator.add_sheet(sheet)
    env = {**api_env, "SOURCE_SHEET_ID": SHEET}
    first = cli("snapshot", env=env)
    assert first.returncode == 0, first.stderr
    stored = rows_of(repo, SHEET)
    assert len(stored) == 3, "rows equal in a column titled _id must not collapse"
    for row_id, row in zip((r["id"] for r in sheet["rows"]), stored.values(), strict=True):
        assert row["id"] == row_id
        assert all(row["cells"][title] == "same" for title in TOOL_LIKE_TITLES)
    with emulator.lock:
        billing.set_cell(sheet, 2, "_id", "changed", "kim@example.com")
    assert cli("snapshot", env=env).returncode == 0
    diff = orjson.loads(cli("diff", "--format", "json").stdout)
    changed = diff["sheets"][0]["cells_changed"]
    assert [(c["column"], c["old"], c["new"]) for c in changed] == [("_id", "same", "changed")]


def test_titles_like_the_tools_own_fields_are_columns_from_files(repo, cli, tmp_path):
    path = tmp_path / "billing.json"
    path.write_bytes(orjson.dumps(sheet_with_titles(*TOOL_LIKE_TITLES)))
    assert cli("snapshot", "--file", str(path), "--id", "b").returncode == 0
    assert len(rows_of(repo, "b")) == 3
    csv = write_csv(tmp_path / "crew.csv", ["_id", "_modified_by", "Qty"], [["1", "x", "2"]])
    result = cli("snapshot", "--file", str(csv), "--key", "_id")
    assert result.returncode == 0, result.stderr
    assert rows_of(repo, "crew") == {"1": {"cells": {"_id": 1, "_modified_by": "x", "Qty": 2}}}


def test_a_sheet_with_one_title_twice_is_refused(repo, cli, tmp_path):
    sheet = sheet_with_titles("Notes", "Notes")
    path = tmp_path / "billing.json"
    path.write_bytes(orjson.dumps(sheet))
    result = cli("snapshot", "--file", str(path))
    assert result.returncode == 3
    assert "column title 'Notes' appears twice" in result.stderr
    assert "snapshots" not in git(repo, "branch", "--list", "snapshots")


@pytest.fixture
def layout_1_branch(repo: Path) -> Path:
    """The snapshots branch as auditor 1b0b51a wrote it (layout 1), fetched from a bundle
    that version made (tests/data/layout1/make.py says how)."""
    bundle = DATA / "layout1" / "snapshots.bundle"
    git(repo, "fetch", "-q", str(bundle), "snapshots:snapshots")
    shutil.copy(DATA / "layout1" / "billing.json", repo / "billing.json")
    return repo


def test_a_branch_written_in_layout_1_is_read_and_continued(layout_1_branch, cli):
    repo = layout_1_branch
    sheet = orjson.loads((repo / "billing.json").read_bytes())
    row = sheet["rows"][1]
    quantity = next(c for c in row["cells"] if c["columnId"] == sheet["columns"][12]["id"])
    quantity["value"] = 11
    (repo / "billing.json").write_bytes(orjson.dumps(sheet))
    args = ("--file", "billing.json", "--id", SHEET, "--fetched-at", "2026-11-16T12:00:00Z")
    made = cli("snapshot", *args)
    assert made.returncode == 0, made.stderr
    assert "+0 rows, -0 rows, 1 cell" in made.stdout
    diff = orjson.loads(cli("diff", "--format", "json").stdout)["sheets"][0]
    assert [(c["key"], c["column"], c["old"], c["new"]) for c in diff["cells_changed"]] == [
        (str(row["id"]), "Quantity", 9, 11)
    ]
    assert diff["rows_added"] == diff["rows_removed"] == []
    older = orjson.loads(cli("diff", "HEAD~2", "HEAD~1", "--format", "json").stdout)["sheets"][0]
    assert (len(older["rows_added"]), len(older["rows_removed"])) == (1, 1)
    history = orjson.loads(cli("history", str(row["id"]), "--format", "json").stdout)
    assert [(v["change"], v["row"]["Quantity"]) for v in history["versions"]] == [
        ("added", 45),
        ("changed", 9),
        ("changed", 11),
    ]
    assert history["versions"][0]["formulas"] == {}
    first = orjson.loads(cli("show", "HEAD~3", "--format", "json").stdout)["sheets"][0]
    top = first["rows"][[r["key"] for r in first["rows"]].index(str(sheet["rows"][0]["id"]))]
    assert top["formulas"] == {"Foreman": '="Crew " + [Foreman]@row'}
    assert "_id" not in top["row"] and top["modified_by"] == "billing@example.com"
    assert orjson.loads(git(repo, "show", f"snapshots:snapshots/{SHEET}/sheet.json"))["layout"] == 2
    assert cli("report", "--from", "HEAD~3", "--out", "reports").returncode == 0
