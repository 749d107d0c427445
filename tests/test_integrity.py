"""No input, name, fault or hand edit may make the audit lie, lose rows or lose its trail.

One section per class of failure found by trying the tool as a new user and an attacker
would (the README's Tests section lists them). Each test failed on the version before the
fix.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
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


def test_titles_like_the_tools_own_fields_are_columns_through_the_api(repo, cli, api_env, emulator):
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


# 2. Names that reach git.


def fsck(repo: Path) -> None:
    result = git(repo, "fsck", "--strict", "--no-dangling")
    assert result == "", result


def test_a_file_name_with_spaces_works_for_good(repo, cli, tmp_path):
    path = write_csv(tmp_path / "Billing 2026.csv", ["WR", "Qty"], [["WR-1", "2"]])
    snap = ("snapshot", "--file", str(path), "--key", "WR")
    assert cli(*snap, "--fetched-at", "2026-11-20T08:00:00Z").returncode == 0
    write_csv(path, ["WR", "Qty"], [["WR-1", "3"]])
    assert cli(*snap, "--fetched-at", "2026-11-20T10:00:00Z").returncode == 0
    for args in (
        snap,
        ("log",),
        ("diff",),
        ("show",),
        ("history", "WR-1"),
        ("report", "--out", str(tmp_path / "reports")),
    ):
        result = cli(*args)
        assert result.returncode == 0, (args, result.stderr)
    log = orjson.loads(cli("log", "--format", "json").stdout)
    assert [entry["cells_changed"] for entry in log] == [1, 0]
    assert "Billing 2026" in git(repo, "ls-tree", "--name-only", "snapshots:snapshots")
    fsck(repo)


@pytest.mark.parametrize(
    "name",
    [
        *("..", ".git", "a/b", "x\ny", ".hidden", "-rf", "GIT~1", "trailing.", "x:y", "a\\b"),
        *("CON", "nul", "aux.txt", "COM1", "lpt9.json"),
    ],
)
def test_names_git_cannot_hold_are_refused_before_anything_is_written(repo, cli, tmp_path, name):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "2"]])
    objects = git(repo, "count-objects")
    result = cli("snapshot", "--file", str(path), "--key", "WR", "--id", name)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("auditor: error: snapshot folder name ")
    assert result.stderr.count("\n") == 1
    assert git(repo, "branch", "--list", "snapshots") == ""
    assert git(repo, "count-objects") == objects


def test_names_that_differ_only_in_case_are_refused(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "2"]])
    assert cli("snapshot", "--file", str(path), "--key", "WR", "--id", "Crew").returncode == 0
    result = cli("snapshot", "--file", str(path), "--key", "WR", "--id", "crew")
    assert result.returncode == 2 and "differ only in case" in result.stderr


def test_odd_names_that_work_keep_git_fsck_strict_clean(repo, cli, tmp_path):
    for n, name in enumerate(["Billing 2026 (v2)", "Facturación-2026", "x", "x.rows", "x.json"]):
        path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", str(n)]])
        for hour, quantity in ((8, n), (10, n + 1)):
            write_csv(path, ["WR", "Qty"], [["WR-1", str(quantity)]])
            when = f"2026-11-{20 + n}T{hour:02}:00:00Z"
            result = cli(
                "snapshot", "--file", str(path), "--key", "WR", "--id", name, "--fetched-at", when
            )
            assert result.returncode == 0, result.stderr
    fsck(repo)
    for name in ("x", "x.rows"):
        history = orjson.loads(cli("history", "WR-1", "--sheet", name, "--format", "json").stdout)
        assert [v["change"] for v in history["versions"]] == ["added", "changed"], name
    assert cli("log").returncode == 0


def test_a_huge_cell_makes_a_bounded_commit_message(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Notes"], [["WR-1", "short"]])
    assert cli("snapshot", "--file", str(path), "--key", "WR").returncode == 0
    huge = "x" * 5_000_000 + "\n\nAuditor-Sheet: forged version=1 rows=1 cells=1"
    write_csv(path, ["WR", "Notes"], [["WR-1", huge]])
    assert cli("snapshot", "--file", str(path), "--key", "WR").returncode == 0
    message = git(repo, "log", "-1", "--format=%B", "snapshots")
    assert len(message) < 4096
    trailers = git(repo, "log", "-1", "--format=%(trailers:only)", "snapshots")
    assert "forged" not in trailers and "Auditor-Sheet: crew " in trailers
    assert rows_of(repo, "crew")["WR-1"]["cells"]["Notes"] == huge
    assert cli("log").returncode == 0


def test_trailers_a_hand_edit_broke_do_not_stop_the_tool(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "2"]])
    assert cli("snapshot", "--file", str(path), "--key", "WR").returncode == 0
    tree = git(repo, "rev-parse", "snapshots^{tree}")
    message = "hand edit\n\nFetched-At: 2026-11-20T08:00:00Z\nAuditor-Sheet: crew version=x y"
    commit = git(repo, "commit-tree", tree, "-p", "snapshots", "-m", message)
    git(repo, "update-ref", "refs/heads/snapshots", commit)
    write_csv(path, ["WR", "Qty"], [["WR-1", "3"]])
    for args in (("log",), ("snapshot", "--file", str(path), "--key", "WR"), ("diff",)):
        result = cli(*args)
        assert result.returncode == 0, (args, result.stderr)


# 3. Sheet text is shown as written, never interpreted.

MARKUP = "[b]1000[/b] real value is 5"
ESCAPES = "\x1b[2J\x1b]52;c;cGF3bmVk\x07"


def test_sheet_text_is_shown_as_written_by_every_command(repo, cli, tmp_path):
    header = ["WR", "=Qty", "[/b]", "ctl\x1b"]
    path = write_csv(tmp_path / "crew.csv", header, [["WR-1", "1", MARKUP, ESCAPES]])
    snap = ("snapshot", "--file", str(path), "--key", "WR")
    assert cli(*snap, "--fetched-at", "2026-11-20T08:00:00Z").returncode == 0
    write_csv(path, header, [["WR-1", "2", "[link=http://evil.example]x[/link]", MARKUP]])
    assert cli(*snap, "--fetched-at", "2026-11-20T10:00:00Z").returncode == 0
    outputs = {}
    for args in (
        ("diff",),
        ("diff", "--format", "markdown"),
        ("log",),
        ("show",),
        ("history", "WR-1"),
        ("report", "--out", str(tmp_path / "reports")),
    ):
        result = cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "\x1b" not in result.stdout + result.stderr, args
        outputs[args[0] + args[-1]] = result.stdout
    assert (
        MARKUP in outputs["diffdiff"]
        and "[link=http://evil.example]x[/link]" in outputs["diffdiff"]
    )
    assert "\\x1b[2J" in outputs["diffdiff"] and "ctl\\x1b" in outputs["showshow"]
    assert "\\[b\\]1000\\[/b\\]" in outputs["diffmarkdown"]
    workbook = next((tmp_path / "reports").glob("*.xlsx"))
    book = openpyxl.load_workbook(workbook)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    changes = [c.value for c in next(book["Changes"].iter_rows(min_row=2, max_row=2))]
    assert "=Qty" in changes


def test_audit_rows_carry_sheet_text_inert(repo, cli, tmp_path, emulator, api_env):
    audit = {
        "id": 77,
        "name": "Billing audit",
        "columns": [{"id": 1, "index": 0, "title": "Note", "type": "TEXT_NUMBER", "primary": True}],
    }
    emulator.add_sheet(audit)
    header = ["WR", "Notes"]
    path = write_csv(tmp_path / "crew.csv", header, [["WR-1", "plain"]])
    snap = ("snapshot", "--file", str(path), "--key", "WR")
    assert cli(*snap, "--fetched-at", "2026-11-20T08:00:00Z").returncode == 0
    write_csv(path, header, [["WR-1", '=HYPERLINK("http://x","y")' + ESCAPES]])
    assert cli(*snap, "--fetched-at", "2026-11-20T10:00:00Z").returncode == 0
    env = {**api_env, "AUDIT_SHEET_ID": "77"}
    result = cli("report", "--out", str(tmp_path / "reports"), env=env)
    assert result.returncode == 0, result.stderr
    cells = [cell for row in audit["rows"] for cell in row["cells"]]
    texts = [cell["value"] for cell in cells if isinstance(cell.get("value"), str)]
    assert '=HYPERLINK("http://x","y")\\x1b[2J\\x1b]52;c;cGF3bmVk\\x07' in texts
    assert not any("formula" in cell for cell in cells)
    assert not [text for text in texts if "\x1b" in text or "\x07" in text]


# 4. Input that is not what it claims is refused.


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ({"errorCode": 1006, "message": "Not Found", "refId": "x"}, "an API error"),
        ({"a": 1}, "no id, name, columns, rows"),
        ([], "JSON list"),
        ("sheet", "JSON str"),
        ({"id": 1, "name": "x", "columns": [], "rows": []}, "columns without"),
    ],
)
def test_a_json_file_that_is_not_a_sheet_is_refused(repo, cli, tmp_path, document, said):
    path = tmp_path / "billing.json"
    path.write_bytes(orjson.dumps(document))
    result = cli("snapshot", "--file", str(path))
    assert result.returncode == 3, result.stderr
    assert said in result.stderr and result.stderr.count("\n") == 1
    assert git(repo, "branch", "--list", "snapshots") == ""


def test_a_saved_page_of_a_sheet_is_refused(repo, cli, tmp_path):
    sheet = billing.make_sheet(rows=10)
    sheet["totalRowCount"], sheet["rows"] = 10, sheet["rows"][:4]
    path = tmp_path / "billing.json"
    path.write_bytes(orjson.dumps(sheet))
    result = cli("snapshot", "--file", str(path))
    assert result.returncode == 3 and "holds 4 of the sheet's 10 rows" in result.stderr


def test_a_blank_key_is_an_empty_key(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "2"], ["  ", "3"]])
    result = cli("snapshot", "--file", str(path), "--key", "WR")
    assert result.returncode == 3 and "empty key (WR) in row(s) 3" in result.stderr


def test_a_read_that_loses_most_of_a_sheet_is_refused_unless_allowed(repo, cli, tmp_path):
    header = ["WR", "Qty"]
    path = write_csv(tmp_path / "crew.csv", header, [[f"WR-{n}", str(n)] for n in range(10)])
    snap = ("snapshot", "--file", str(path), "--key", "WR")
    assert cli(*snap).returncode == 0
    tip = git(repo, "rev-parse", "snapshots")
    write_csv(path, header, [])
    refused = cli(*snap)
    assert refused.returncode == 3
    assert "would remove 10 of the sheet's 10 rows" in refused.stderr
    assert "--allow-mass-removal" in refused.stderr
    write_csv(path, header, [[f"WR-{n}", str(n)] for n in range(4)])
    assert cli(*snap).returncode == 3
    assert git(repo, "rev-parse", "snapshots") == tip
    allowed = cli(*snap, "--allow-mass-removal")
    assert allowed.returncode == 0 and "-6 rows" in allowed.stdout


def test_a_truncated_api_read_is_refused(repo, cli, api_env, emulator):
    sheet = billing.make_sheet(rows=30)
    emulator.add_sheet(sheet)
    env = {**api_env, "SOURCE_SHEET_ID": SHEET}
    assert cli("snapshot", env=env).returncode == 0
    with emulator.lock:
        del sheet["rows"][10:]
        sheet["totalRowCount"], sheet["version"] = 10, sheet["version"] + 1
    refused = cli("run", "--no-publish", env=env)
    assert refused.returncode == 3 and "would remove 20 of the sheet's 30 rows" in refused.stderr
    assert cli("run", "--no-publish", "--allow-mass-removal", env=env).returncode == 0


# 5. Git as people have it.


def crew_snapshots(repo: Path, tmp_path: Path, cli, count: int) -> Path:
    """`count` snapshots of a CSV whose quantity goes 1, 2, 3...; returns the CSV."""
    path = tmp_path / "crew.csv"
    for n in range(1, count + 1):
        write_csv(path, ["WR", "Qty"], [["WR-1", str(n)], ["WR-2", "5"]])
        when = f"2026-11-20T{n:02}:00:00Z"
        result = cli("snapshot", "--file", str(path), "--key", "WR", "--fetched-at", when)
        assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def shallow(repo, cli, tmp_path) -> Path:
    """A clone that fetched only the tip of the snapshots branch, as CI checkouts do."""
    crew_snapshots(repo, tmp_path, cli, 5)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "push", "-q", str(origin), "snapshots")
    clone = tmp_path / "clone"
    git(tmp_path, "init", "-q", "-b", "main", str(clone))
    git(clone, "remote", "add", "origin", origin.as_uri())
    git(clone, "fetch", "-q", "--depth", "1", "origin", "snapshots:refs/remotes/origin/snapshots")
    assert (clone / ".git" / "shallow").exists()
    return clone


def test_a_shallow_clone_is_deepened_from_origin(shallow, cli):
    diff = cli("diff", "HEAD~3", "HEAD", "--format", "json", cwd=shallow)
    assert diff.returncode == 0, diff.stderr
    changed = orjson.loads(diff.stdout)["sheets"][0]["cells_changed"]
    assert [(c["old"], c["new"]) for c in changed] == [(2, 5)]
    assert not (shallow / ".git" / "shallow").exists()
    history = orjson.loads(cli("history", "WR-1", "--format", "json", cwd=shallow).stdout)
    assert [v["row"]["Qty"] for v in history["versions"]] == [1, 2, 3, 4, 5]


def test_a_shallow_clone_without_origin_is_refused(shallow, cli):
    git(shallow, "update-ref", "refs/heads/snapshots", "refs/remotes/origin/snapshots")
    git(shallow, "remote", "remove", "origin")
    for args in (("diff", "HEAD~3", "HEAD"), ("history", "WR-1"), ("log",)):
        result = cli(*args, cwd=shallow)
        assert result.returncode == 4, (args, result.stderr)
        assert "is cut at" in result.stderr and "git fetch --unshallow" in result.stderr


def test_a_checked_out_snapshots_branch_is_never_moved(repo, cli, tmp_path):
    path = crew_snapshots(repo, tmp_path, cli, 1)
    write_csv(path, ["WR", "Qty"], [["WR-1", "9"], ["WR-2", "5"]])
    snap = ("snapshot", "--file", str(path), "--key", "WR")
    tip = git(repo, "rev-parse", "snapshots")
    git(repo, "stash", "-q", "--include-untracked")
    git(repo, "checkout", "-q", "snapshots")
    refused = cli(*snap)
    assert refused.returncode == 4 and "is checked out in" in refused.stderr
    assert git(repo, "rev-parse", "snapshots") == tip
    git(repo, "checkout", "-q", "main")
    git(repo, "worktree", "add", "-q", str(tmp_path / "browse"), "snapshots")
    assert cli(*snap).returncode == 4
    git(repo, "worktree", "remove", str(tmp_path / "browse"))
    assert cli(*snap).returncode == 0


def hand_commit(repo: Path, path: str, data: bytes) -> None:
    """Commit `data` as `path` on the snapshots branch, as an edit on GitHub would."""
    work = repo.parent / "hand"
    git(repo, "worktree", "add", "-q", str(work), "snapshots")
    (work / path).write_bytes(data)
    git(work, "commit", "-q", "-am", "hand edit")
    git(repo, "worktree", "remove", str(work))


@pytest.mark.parametrize(
    "cut",
    [
        "mid-row",
        "at a row",
        "not a row",
        "a key twice",
        "two rows on a line",
        "cells not an object",
    ],
)
def test_a_damaged_snapshot_is_exit_4_everywhere(repo, cli, tmp_path, cut):
    path = crew_snapshots(repo, tmp_path, cli, 2)
    rows = git(repo, "show", "snapshots:snapshots/crew/rows.json").encode() + b"\n"
    first, second = rows[2 : rows.index(b",\n")], rows[rows.index(b",\n") + 2 : -3]
    damaged = {
        "mid-row": rows[: len(rows) // 2],
        "at a row": rows[: rows.index(b",\n")] + b"\n}\n",
        "not a row": rows.replace(b'"WR-2":', b"WR-2:"),
        "a key twice": b"{\n" + first + b",\n" + first.replace(b'"Qty":2', b'"Qty":9') + b"\n}\n",
        "two rows on a line": b"{\n" + first + b"," + second + b",\n" + second + b"\n}\n",
        "cells not an object": rows.replace(b'"cells":{"Qty":5,"WR":"WR-2"}', b'"cells":[1,2]'),
    }[cut]
    hand_commit(repo, "snapshots/crew/rows.json", damaged)
    write_csv(path, ["WR", "Qty"], [["WR-1", "7"], ["WR-2", "5"]])
    for args in (
        ("diff",),
        ("show",),
        ("history", "WR-2"),
        ("report", "--out", str(tmp_path / "reports")),
        ("snapshot", "--file", str(path), "--key", "WR"),
    ):
        result = cli(*args)
        assert result.returncode == 4, (args, result.stdout, result.stderr)
        assert "rows" in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_a_repository_that_cannot_be_written_is_exit_4_and_unchanged(repo, cli, tmp_path):
    path = crew_snapshots(repo, tmp_path, cli, 1)
    tip = git(repo, "rev-parse", "snapshots")
    git(repo, "repack", "-adq")  # every object readable from the pack
    git(repo, "prune-packed")
    objects = repo / ".git" / "objects"
    for n in range(256):  # every fan-out folder a file: no loose object can be written
        folder = objects / f"{n:02x}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.write_bytes(b"")
    write_csv(path, ["WR", "Qty"], [["WR-1", "9"], ["WR-2", "5"]])
    result = cli("snapshot", "--file", str(path), "--key", "WR")
    assert result.returncode == 4, result.stderr
    assert "cannot write to the repository" in result.stderr and result.stderr.count("\n") == 1
    for n in range(256):
        (objects / f"{n:02x}").unlink()
    assert git(repo, "rev-parse", "snapshots") == tip
    fsck(repo)


def test_stored_violations_of_another_folder_are_not_trusted(repo, cli, tmp_path):
    """A hand edit of rows.json keeps the parent's audit file; its violations are found
    again, not read."""
    header = ["WR", "Quantity", "Weekly Reference Logged Date", "Work Request #"]
    path = tmp_path / "crew.csv"
    row = ["WR-1", "2", "2026-11-06", "WR-1"]
    write_csv(path, header, [row])
    snap = ("snapshot", "--file", str(path), "--key", "WR")
    assert cli(*snap, "--fetched-at", "2026-11-06T08:00:00Z").returncode == 0
    write_csv(path, header, [[row[0], "3", *row[2:]]])
    assert cli(*snap, "--fetched-at", "2026-11-20T08:00:00Z").returncode == 0
    flagged = orjson.loads(cli("diff", "--format", "json").stdout)["sheets"][0]["violations"]
    assert [v["rule"] for v in flagged["new"]] == ["closed-period-edit"]
    rows = git(repo, "show", "snapshots:snapshots/crew/rows.json").encode() + b"\n"
    hand_commit(repo, "snapshots/crew/rows.json", rows.replace(b'"Quantity":3', b'"Quantity":2'))
    after = orjson.loads(cli("diff", "--format", "json").stdout)["sheets"][0]["violations"]
    assert [v["rule"] for v in after["resolved"]] == ["closed-period-edit"]
    assert after["ongoing"] == []


# 8. Exit codes as documented.


def test_a_fetch_time_out_of_range_is_a_usage_error(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "2"]])
    for when in ("9999-12-31T23:59:59Z", "1900-01-01", "tomorrow"):
        result = cli("snapshot", "--file", str(path), "--key", "WR", "--fetched-at", when)
        assert result.returncode == 2, (when, result.stderr)
        assert "--fetched-at" in result.stderr and result.stderr.count("\n") == 1


def test_a_missing_key_column_is_a_source_error(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "2"]])
    result = cli("snapshot", "--file", str(path), "--key", "Work Request #")
    assert result.returncode == 3
    assert "key column 'Work Request #' not found; columns are 'WR', 'Qty'" in result.stderr


def test_a_missing_git_object_is_exit_4(repo, cli, tmp_path):
    crew_snapshots(repo, tmp_path, cli, 2)
    blob = git(repo, "rev-parse", "snapshots:snapshots/crew/rows.json")
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    for args in (("diff",), ("show",), ("report", "--out", str(tmp_path / "reports"))):
        result = cli(*args)
        assert result.returncode == 4, (args, result.stderr)
        assert f"object {blob[:10]} is missing" in result.stderr


def test_an_unwritable_report_folder_is_exit_4(repo, cli, tmp_path):
    crew_snapshots(repo, tmp_path, cli, 2)
    (tmp_path / "file").write_text("not a folder")
    result = cli("report", "--out", str(tmp_path / "file" / "reports"))
    assert result.returncode == 4, result.stderr
    assert result.stderr.startswith("auditor: error: git or the file system failed: ")
    assert result.stderr.count("\n") == 1


def test_output_to_a_closed_pipe_ends_quietly(repo, cli, tmp_path):
    crew_snapshots(repo, tmp_path, cli, 2)
    header = ["WR", "Qty"]
    write_csv(tmp_path / "crew.csv", header, [[f"WR-{n}", str(n)] for n in range(3000)])
    assert cli("snapshot", "--file", str(tmp_path / "crew.csv"), "--key", "WR").returncode == 0
    pipe = subprocess.run(
        f"{sys.executable} -m auditor diff --limit 3000 --exit-code | head -1; "
        'echo "status ${PIPESTATUS[0]}" >&2',
        shell=True,
        executable="/bin/bash",
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert pipe.stdout.startswith("Snapshots ")
    assert pipe.stderr == "status 141\n"


@pytest.mark.parametrize(
    ("sheet_json", "why"),
    [
        ({"columns": "x"}, "sheet.json"),
        ({"name": ["s"]}, "sheet.json"),
        ({"layout": True}, "layout True"),
        ({"layout": 3}, "layout 3"),
    ],
)
def test_a_damaged_sheet_json_is_exit_4(repo, cli, tmp_path, sheet_json, why):
    crew_snapshots(repo, tmp_path, cli, 2)
    meta = orjson.loads(git(repo, "show", "snapshots:snapshots/crew/sheet.json"))
    hand_commit(repo, "snapshots/crew/sheet.json", orjson.dumps({**meta, **sheet_json}))
    for args in (("diff",), ("show",)):
        result = cli(*args)
        assert result.returncode == 4, (args, result.stderr)
        assert why in result.stderr and result.stderr.count("\n") == 1


def test_a_branch_whose_commit_is_missing_is_exit_4(repo, cli, tmp_path):
    crew_snapshots(repo, tmp_path, cli, 2)
    tip = git(repo, "rev-parse", "snapshots")
    (repo / ".git" / "objects" / tip[:2] / tip[2:]).unlink()
    for args in (("log",), ("show",), ("diff",)):
        result = cli(*args)
        assert result.returncode == 4, (args, result.stderr)
        assert f"points to {tip[:10]}, which is not a commit" in result.stderr


# Found by trying the tool as an attacker would, after the classes above were fixed.


def test_a_token_pasted_with_a_line_break_works_and_a_bad_one_is_never_shown(
    repo, cli, api_env, emulator
):
    emulator.add_sheet(billing.make_sheet(rows=3))
    env = {**api_env, "SOURCE_SHEET_ID": SHEET}
    pasted = cli(
        "snapshot", env={**env, "SMARTSHEET_API_TOKEN": api_env["SMARTSHEET_API_TOKEN"] + "\n"}
    )
    assert pasted.returncode == 0, pasted.stderr
    bad = cli("check", env={**env, "SMARTSHEET_API_TOKEN": "secret-TOKEN 123"})
    assert bad.returncode == 2 and "secret-TOKEN" not in bad.stdout + bad.stderr


def test_numbers_past_64_bits_are_kept_as_text(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Account"], [["WR-1", "99999999999999999999"]])
    assert cli("snapshot", "--file", str(path), "--key", "WR").returncode == 0
    assert rows_of(repo, "crew")["WR-1"]["cells"]["Account"] == "99999999999999999999"
    sheet = sheet_with_titles("Big")
    sheet["rows"][0]["cells"][-1]["value"] = 1e20
    json_path = tmp_path / "big.json"
    json_path.write_bytes(orjson.dumps(sheet))
    assert cli("snapshot", "--file", str(json_path)).returncode == 0
    stored = rows_of(repo, "big")
    assert stored[str(sheet["rows"][0]["id"])]["cells"]["Big"] == 1e20


def test_a_week_that_never_closes_is_an_invalid_date_not_a_crash(repo, cli, tmp_path):
    header = ["Work Request #", "Quantity", "Units Total Price", "Weekly Reference Logged Date"]
    path = write_csv(tmp_path / "crew.csv", header, [["WR-1", "5", "500", "9999-12-31"]])
    snap = ("snapshot", "--file", str(path), "--key", "Work Request #")
    assert cli(*snap).returncode == 0
    write_csv(path, header, [["WR-1", "6", "500", "9999-12-31"]])
    assert cli(*snap).returncode == 0
    found = orjson.loads(cli("diff", "--format", "json").stdout)["sheets"][0]["violations"]
    assert [v["rule"] for v in found["ongoing"]] == ["invalid-date"]


@pytest.mark.parametrize("branch", ["..", "a b", "x.lock", "HEAD", "-x", "@", "refs/heads/y"])
def test_a_branch_name_git_cannot_take_is_refused_before_anything_is_written(
    repo, cli, tmp_path, branch
):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "2"]])
    objects = git(repo, "count-objects")
    result = cli("--branch", branch, "snapshot", "--file", str(path), "--key", "WR")
    assert result.returncode == 2 and "branch name" in result.stderr
    assert git(repo, "count-objects") == objects


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("close_grace_days", "3000000"),
        ("severity_high", '"NaN"'),
        ("timeout", '"inf"'),
        ("retry_budget", "-1.0"),
    ],
)
def test_settings_out_of_range_are_usage_errors(repo, cli, tmp_path, setting, value):
    crew_snapshots(repo, tmp_path, cli, 2)
    (repo / "auditor.toml").write_text(f"{setting} = {value}\n")
    result = cli("diff")
    assert result.returncode == 2 and f"setting {setting!r}" in result.stderr
    (repo / "pyproject.toml").write_text("tool = 5\n")
    (repo / "auditor.toml").unlink()
    assert cli("diff").returncode == 2


def test_a_stale_lock_is_named(repo, cli, tmp_path):
    path = crew_snapshots(repo, tmp_path, cli, 1)
    lock = repo / ".git" / "refs" / "heads" / "snapshots.lock"
    lock.write_text("")
    write_csv(path, ["WR", "Qty"], [["WR-1", "9"], ["WR-2", "5"]])
    result = cli("snapshot", "--file", str(path), "--key", "WR")
    assert result.returncode == 4 and f"locked by {lock}" in result.stderr


def test_a_sheet_id_with_leading_zeros_is_the_same_sheet(repo, cli, api_env, emulator):
    emulator.add_sheet(billing.make_sheet(rows=3))
    for sheet_id in ("0" + SHEET, SHEET):
        assert cli("snapshot", env={**api_env, "SOURCE_SHEET_ID": sheet_id}).returncode == 0
    assert git(repo, "ls-tree", "--name-only", "snapshots:snapshots") == SHEET


def test_a_fetch_time_before_the_last_snapshot_is_refused(repo, cli, tmp_path):
    path = crew_snapshots(repo, tmp_path, cli, 2)
    result = cli("snapshot", "--file", str(path), "--key", "WR", "--fetched-at", "2026-11-19")
    assert result.returncode == 2 and "before the last snapshot's fetch time" in result.stderr


def test_a_command_line_mistake_is_one_line(repo, cli):
    for args in (("diff", "-rf"), ("--bogus",), ("diff", "--format", "xml")):
        result = cli(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("auditor: error: ")


def test_a_column_the_sheet_never_had_is_a_usage_error(repo, cli, tmp_path):
    crew_snapshots(repo, tmp_path, cli, 2)
    result = cli("history", "WR-1", "--column", "Nope")
    assert result.returncode == 2 and "no column 'Nope' in sheet crew" in result.stderr


def test_a_huge_key_does_not_empty_the_markdown(repo, cli, tmp_path):
    huge = "K" * 3_000_000
    path = write_csv(tmp_path / "crew.csv", ["WR", "Qty"], [["WR-1", "1"]])
    snap = ("snapshot", "--file", str(path), "--key", "WR")
    assert cli(*snap).returncode == 0
    write_csv(path, ["WR", "Qty"], [["WR-1", "2"], [huge, "3"]])
    assert cli(*snap).returncode == 0
    markdown = cli("diff", "--format", "markdown").stdout
    assert "| row added |  | KKK" in markdown and "| cell |  | WR-1 | Qty | 1 | 2 |" in markdown
    assert "Output cut" not in markdown and len(markdown) < 4096


def test_changing_the_key_of_a_sheet_is_refused_not_a_mass_removal(repo, cli, tmp_path):
    path = write_csv(tmp_path / "crew.csv", ["WR", "Pole", "Qty"], [["WR-1", "P-1", "2"]])
    assert cli("snapshot", "--file", str(path), "--key", "Pole").returncode == 0
    result = cli("snapshot", "--file", str(path), "--key", "WR,Pole")
    assert result.returncode == 2
    assert "was keyed by 'Pole' and would now be keyed by 'WR', 'Pole'" in result.stderr


def test_a_diff_of_the_baseline_alone_says_so(repo, cli, tmp_path):
    crew_snapshots(repo, tmp_path, cli, 1)
    result = cli("diff")
    assert result.returncode == 2 and "there is one snapshot so far, the baseline" in result.stderr
