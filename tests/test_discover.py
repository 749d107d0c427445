"""Every billing sheet, found as the business makes them: folders and workspaces searched
through their sub-folders over several token pages, globs, copies followed by `source`;
a sheet joining or leaving the audit is one event, never a flood of rows; a sheet that
cannot be read is carried forward."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from auditor.audit.settings import load_settings
from auditor.commands.diff import diff_revisions
from auditor.commands.history import row_history
from auditor.commands.log import log_entries
from auditor.commands.read import GONE, read_smartsheet
from auditor.commands.report import build_report
from auditor.commands.snapshot import snapshot_with
from auditor.config import Config
from auditor.errors import SourceError, UsageError
from auditor.smartsheet_client import SmartsheetApi
from auditor.sources.discover import discover
from auditor.store.gitstore import Store
from demo import billing
from tests.conftest import TOKEN
from tests.helpers import git


def sheet(number: int, name: str, rows: int = 6) -> dict:
    made = billing.make_sheet(rows=rows, seed=number, name=name)
    made["id"] = 1000 + number
    return made


@pytest.fixture
def api(emulator):
    client = SmartsheetApi(TOKEN, emulator.base_url, 2, 3)
    yield client
    client.close()


@pytest.fixture
def office(emulator):
    """A folder with a sub-folder and an archived sheet, and a workspace with a folder;
    listings come in pages of 1, 0 and 2 items, so only `lastKey` says when they end."""
    emulator.token_page_sizes = (1, 0, 2)
    top = emulator.add_folder("Billing")
    sub = emulator.add_folder("North crews", folder=top)
    space = emulator.add_workspace("Contracts")
    inner = emulator.add_folder("2026", workspace=space)
    emulator.add_sheet(sheet(1, "Billing North"), folder=top)
    emulator.add_sheet(sheet(2, "Billing South"), folder=top)
    emulator.add_sheet(sheet(3, "North crew 7"), folder=sub)
    emulator.add_sheet(sheet(4, "Billing 2025 Archive"), folder=sub)
    emulator.add_sheet(sheet(5, "Contract rates"), workspace=space)
    emulator.add_sheet(sheet(6, "Contract billing"), folder=inner)
    return {"top": top, "sub": sub, "space": space}


def test_folders_and_workspaces_are_searched_through_every_page(api, office):
    config = Config(
        sheets=("1006",),
        folders=(str(office["top"]),),
        workspaces=(str(office["space"]),),
        exclude_names=("*Archive*",),
    )
    found = discover(api, config)
    top, space = office["top"], office["space"]
    assert [(f.sheet_id, f.why) for f in found.audited] == [
        ("1006", "listed"),
        ("1001", f"folder {top}"),
        ("1002", f"folder {top}"),
        ("1003", f"folder {top}"),
        ("1005", f"workspace {space}"),
    ]
    assert [(e.sheet_id, e.name, e.why) for e in found.excluded] == [
        ("1004", "Billing 2025 Archive", "exclude_names *Archive*")
    ]


def test_include_names_keeps_only_the_names_it_matches(api, office):
    config = Config(folders=(str(office["top"]),), include_names=("Billing *",))
    found = discover(api, config)
    assert found.sheet_ids == ["1001", "1002", "1004"]
    assert {e.sheet_id: e.why for e in found.excluded} == {"1003": "not in include_names Billing *"}


def test_copies_are_followed_by_their_source_wherever_they_live(api, emulator, office):
    first = emulator.copy_sheet(1001, "Billing North (1)", workspace=office["space"])
    second = emulator.copy_sheet(first, "X_")
    emulator.copy_sheet(1005, "Copy of rates")
    found = discover(api, Config(sheets=("1001",), follow_copies=True))
    assert [(f.sheet_id, f.why) for f in found.audited] == [
        ("1001", "listed"),
        (str(first), "copy of 1001"),
        (str(second), f"copy of {first}"),
    ]


def test_an_unknown_folder_is_an_error_naming_it(api, emulator):
    with pytest.raises(SourceError, match="folder 999: not found or not shared"):
        discover(api, Config(folders=("999",)))
    with pytest.raises(SourceError, match="workspace 998: not found"):
        discover(api, Config(workspaces=("998",)))


def test_check_lists_what_is_audited_and_why(cli, api_env, office, tmp_path, repo):
    (repo / "auditor.toml").write_text('exclude_names = ["*Archive*"]\n')
    env = {**api_env, "SOURCE_FOLDER_ID": str(office["top"])}
    lines = cli("check", env=env).stdout.splitlines()
    sheet_lines = [line for line in lines if " sheet 10" in line]
    assert sheet_lines[0].startswith("ok   sheet 1001: readable: 'Billing North', 6 rows")
    assert sheet_lines[0].endswith(f"(folder {office['top']})")
    assert sheet_lines[-1] == (
        "ok   sheet 1004: 'Billing 2025 Archive' left out: exclude_names *Archive*"
    )


T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def run(store: Store, api: SmartsheetApi, config: Config, when: str):
    read = read_smartsheet(store, api, config)
    at = dt.datetime.fromisoformat(when)
    return read, snapshot_with(store, config, load_settings(config), read, at)


def test_a_sheet_that_joins_is_its_own_baseline(store, api, emulator, office):
    config = Config(folders=(str(office["sub"]),))
    run(store, api, config, "2026-11-20T08:00:00+00:00")
    emulator.add_sheet(sheet(7, "North crew 9", rows=12), folder=office["sub"])
    result = run(store, api, config, "2026-11-20T10:00:00+00:00")[1]
    joined = {diff.sheet_id: diff for diff in result.diffs}["1007"]
    assert (joined.status, joined.rows, joined.rows_added) == ("added", 12, [])
    assert joined.reason == f"folder {office['sub']}"
    report = build_report(store, load_settings(config))
    assert [(e.kind, e.sheet_id) for e in report.events] == [("sheet added", "1007")]
    assert not any(audit.new for audit in report.violations.values())
    message = git(store.repo.working_dir, "log", "-1", "--format=%B", "snapshots")
    assert f"North crew 9 (v1): 12 rows (first snapshot, folder {office['sub']})" in message


def test_a_sheet_that_leaves_is_one_event_and_keeps_its_history(store, api, emulator, office):
    top = str(office["top"])
    config = Config(folders=(top,), exclude_names=("*Archive*",))
    run(store, api, config, "2026-11-20T08:00:00+00:00")
    emulator_row_ids = [row["id"] for row in emulator.sheets[1002]["rows"]]
    del emulator.sheets[1002]
    emulator.sheets[1003]["name"] = "North crew 7 Archive"
    emulator.move("sheet", 1001)
    refused = r"sheet 1001: no longer in folder \d+ and 2 more; this read would take 3 of the 3"
    with pytest.raises(SourceError, match=refused):
        run(store, api, config, "2026-11-30T08:00:00+00:00")
    read = read_smartsheet(store, api, config)
    at = dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)
    settings = load_settings(config)
    result = snapshot_with(store, config, settings, read, at, allow_mass_removal=True)
    assert read.left == {
        "1001": f"no longer in folder {top}",
        "1002": GONE,
        "1003": "renamed 'North crew 7 Archive', left out by exclude_names *Archive*",
    }
    assert sorted(store.sheet_trees(result.commit)) == []
    assert log_entries(store).entries[0].subject == "3 sheets: 3 left"
    pair = diff_revisions(store, "HEAD~1", "HEAD")
    assert [(d.sheet_id, d.status, d.rows_removed) for d in pair.sheets] == [
        ("1001", "removed", []),
        ("1002", "removed", []),
        ("1003", "removed", []),
    ]
    report = build_report(store, load_settings(config))
    left = {e.sheet_id: e for e in report.events}
    assert [e.kind for e in report.events] == ["sheet left"] * 3
    assert left["1002"].old == f"6 rows; {GONE}"
    billed = sum(
        Decimal(str(billing.value_of(sheet(2, "x"), n, "Units Total Price"))) for n in range(1, 7)
    )
    assert left["1002"].money_impact == -billed
    assert not any(audit.resolved for audit in report.violations.values())
    history = git(store.repo.working_dir, "log", "--format=%h", "snapshots", "--", "snapshots/1002")
    assert len(history.split()) == 2
    # Its rows' history is still there to ask for, up to its last snapshot.
    key = str(emulator_row_ids[0])
    rows = row_history(store, key, sheet="1002")
    assert [v.commit for v in rows.versions] == [store.rev_parse("snapshots~1")]
    for unknown in ("1099", "../1002", ".."):
        with pytest.raises(UsageError, match=f"no sheet '{re.escape(unknown)}' in these"):
            row_history(store, key, sheet=unknown)


def test_another_jobs_sheets_are_carried_not_removed(store, api, emulator, office):
    emulator.add_sheet(sheet(8, "Listed elsewhere"))
    run(store, api, Config(sheets=("1008",)), "2026-11-20T08:00:00+00:00")
    config = Config(folders=(str(office["sub"]),))
    read, result = run(store, api, config, "2026-11-20T10:00:00+00:00")
    assert read.left == {}
    assert sorted(store.sheet_trees(result.commit)) == ["1003", "1004", "1008"]


def test_another_jobs_sheets_do_not_dilute_the_mass_leave_guard(store, api, emulator, office):
    run(store, api, Config(sheets=("1005", "1006", "1001")), "2026-11-20T08:00:00+00:00")
    config = Config(folders=(str(office["sub"]),))
    run(store, api, config, "2026-11-20T10:00:00+00:00")
    del emulator.sheets[1003], emulator.sheets[1004]
    refused = "this read would take 2 of the 2 sheets it audits out of the audit"
    with pytest.raises(SourceError, match=refused):
        run(store, api, config, "2026-11-20T12:00:00+00:00")


def test_a_sheet_that_cannot_be_read_is_carried_forward(store, api, emulator, office):
    config = Config(folders=(str(office["sub"]),))
    first = run(store, api, config, "2026-11-20T08:00:00+00:00")[1]
    billing.set_cell(emulator.sheets[1003], 1, "Quantity", 99)
    emulator.sheets[1003]["version"] += 1
    billing.set_cell(emulator.sheets[1004], 1, "Quantity", 98)
    emulator.sheets[1004]["version"] += 1
    emulator.inject(r"^/sheets/1004$", status=503, count=50)
    read, result = run(store, api, config, "2026-11-20T10:00:00+00:00")
    assert list(read.failed) == ["1004"] and "HTTP 503" in read.failed["1004"]
    trees = store.sheet_trees(result.commit)
    assert trees["1004"] == store.sheet_trees(first.commit)["1004"]
    assert trees["1003"] != store.sheet_trees(first.commit)["1003"]
    assert read.failed["1004"].endswith("; carried forward as it was")
    # A sheet that joins but cannot be read has nothing to carry: it is not recorded yet.
    emulator.add_sheet(sheet(7, "North crew 9"), folder=office["sub"])
    emulator.inject(r"^/sheets/1007$", status=503, count=50)
    read, result = run(store, api, config, "2026-11-20T12:00:00+00:00")
    assert read.failed["1007"].endswith("; not in the audit yet: the next run tries again")
    assert "1007" not in store.sheet_trees(store.tip())


def test_run_exits_3_when_a_sheet_is_carried_forward(cli, api_env, emulator, office):
    env = {**api_env, "SOURCE_FOLDER_ID": str(office["sub"])}
    assert cli("snapshot", env=env).returncode == 0
    emulator.sheets[1004]["version"] += 1
    emulator.inject(r"^/sheets/1004$", status=503, count=50)
    result = cli("snapshot", env=env)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1
    assert "sheet 1004" in result.stderr and "carried forward as it was" in result.stderr


def test_a_copy_made_with_the_same_rows_joins_without_a_flood(store, api, emulator, office):
    config = Config(sheets=("1001",), follow_copies=True)
    run(store, api, config, "2026-11-20T08:00:00+00:00")
    made = emulator.copy_sheet(1001, "Copy of Billing North")
    read, result = run(store, api, config, "2026-11-20T10:00:00+00:00")
    joined = {d.sheet_id: d for d in result.diffs}[str(made)]
    assert (joined.status, joined.reason, joined.rows_added) == ("added", "copy of 1001", [])
    assert read.origins[str(made)] == "copy:1001"


@pytest.mark.parametrize(
    "answer",
    [
        {"data": [{"id": 1001, "name": "Billing North"}], "totalCount": 8, "totalPages": 1},
        {"data": "x", "totalCount": 8, "totalPages": 1},
        [],
    ],
    ids=["fewer than totalCount", "data not a list", "not an object"],
)
def test_a_sheet_list_that_looks_cut_is_refused_not_read_as_copies_leaving(
    store, api, emulator, office, answer
):
    config = Config(sheets=("1001",), follow_copies=True)
    emulator.copy_sheet(1001, "Copy of Billing North")
    first = run(store, api, config, "2026-11-20T08:00:00+00:00")[1]
    emulator.inject(r"^/sheets$", status=200, json=answer)
    with pytest.raises(SourceError, match=r"^sheet list: "):
        run(store, api, config, "2026-11-20T10:00:00+00:00")
    assert store.tip() == first.commit


def test_a_children_answer_that_is_not_an_object_is_refused(api, emulator, office):
    emulator.inject(rf"^/folders/{office['top']}/children", status=200, json=[])
    with pytest.raises(SourceError, match="the children response has no data list"):
        discover(api, Config(folders=(str(office["top"]),)))


def test_nothing_changed_costs_the_listings_and_the_versions(store, emulator, office):
    emulator.token_page_sizes = ()
    emulator.latency = 0.01
    api = SmartsheetApi(TOKEN, emulator.base_url, 2, 3)
    few = Config(sheets=("1005", "1006"))
    run(store, api, few, "2026-11-20T08:00:00+00:00")
    first = api.requests
    read = run(store, api, few, "2026-11-20T10:00:00+00:00")[0]
    assert (read.skipped, api.requests - first) == (["1005", "1006"], 2)  # a check each
    many = Config(folders=(str(office["top"]),))
    run(store, api, many, "2026-11-20T12:00:00+00:00")
    first = api.requests
    read, result = run(store, api, many, "2026-11-20T14:00:00+00:00")
    api.close()
    assert (result.commit, sorted(read.skipped)) == (None, ["1001", "1002", "1003", "1004"])
    # Two folders' listings, and the versions of all four from one page of the sheet list.
    assert api.requests - first == 2 + 1
    assert emulator.peak_per_minute(TOKEN) <= 300


def test_a_version_that_moves_without_a_data_change_is_read_once(store, api, emulator, office):
    config = Config(sheets=("1001",))
    first = run(store, api, config, "2026-11-20T08:00:00+00:00")[1]
    emulator.sheets[1001]["version"] += 3  # a formatting edit: the data is the same
    read, result = run(store, api, config, "2026-11-20T10:00:00+00:00")
    assert (result.commit, [s.sheet_id for s in read.sheets]) == (None, ["1001"])
    assert store.seen_versions(store.sheet_trees(first.commit)) == {"1001": 4}
    read, result = run(store, api, config, "2026-11-20T12:00:00+00:00")
    assert (read.sheets, read.skipped) == ([], ["1001"])


def test_the_versions_seen_travel_with_the_branch(store, tmp_path, repo):
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    trees = {"7": "a" * 40, "8": "b" * 40}
    store.note_versions(trees, {"7": 12, "8": 3}, ("a", "a@example.com"), T0)
    store.share_notes(str(bare), push=True)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    fresh = Store(other, "snapshots")
    assert fresh.seen_versions(trees) == {}
    fresh.share_notes(str(bare), push=False)
    # Another job moved the tip: sheet 8's folder changed, sheet 7's did not.
    assert fresh.seen_versions({"7": "a" * 40, "8": "c" * 40}) == {"7": 12}
    fresh.close()


def test_a_damaged_versions_note_is_ignored_and_written_again(store, repo):
    git(repo, "update-ref", store.notes_ref, git(repo, "hash-object", "-w", "notes.txt"))
    assert store.seen_versions({"7": "a" * 40}) == {}
    store.note_versions({"7": "a" * 40}, {"7": 5}, ("a", "a@example.com"), T0)
    assert store.seen_versions({"7": "a" * 40}) == {"7": 5}


def test_a_sheet_a_new_glob_leaves_out_is_not_said_to_be_renamed(store, api, office):
    run(store, api, Config(folders=(str(office["sub"]),)), "2026-11-20T08:00:00+00:00")
    config = Config(folders=(str(office["sub"]),), exclude_names=("*Archive*",))
    read = run(store, api, config, "2026-11-20T10:00:00+00:00")[0]
    assert read.left == {
        "1004": "named 'Billing 2025 Archive', left out by exclude_names *Archive*"
    }


def test_a_sheet_that_comes_back_is_compared_with_its_last_snapshot(store, api, emulator, office):
    config = Config(folders=(str(office["top"]),), exclude_names=("*Archive*",))
    billing.set_cell(emulator.sheets[1001], 2, "Work Request #", None)
    run(store, api, config, "2026-11-20T08:00:00+00:00")
    emulator.sheets[1001]["name"] = "Billing North Archive"
    emulator.sheets[1001]["version"] += 1
    read = run(store, api, config, "2026-11-20T10:00:00+00:00")[0]
    assert list(read.left) == ["1001"]
    week = billing.value_of(emulator.sheets[1001], 1, "Weekly Reference Logged Date")
    billing.set_cell(emulator.sheets[1001], 1, "Units Total Price", 999999)
    emulator.sheets[1001]["name"] = "Billing North"
    emulator.sheets[1001]["version"] += 1
    billing.set_cell(emulator.sheets[1002], 1, "Quantity", 55)
    emulator.sheets[1002]["version"] += 1
    result = run(store, api, config, "2026-11-30T08:00:00+00:00")[1]
    assert log_entries(store).entries[0].subject == "2 sheets: +0 rows, -0 rows, 2 cells, 1 back"
    back = {d.sheet_id: d for d in result.diffs}["1001"]
    assert back.status == "changed" and back.reason.startswith("back in the audit (folder")
    assert [(c.column, c.new) for c in back.cells_changed] == [("Units Total Price", 999999)]
    pair = diff_revisions(store, "HEAD~1", "HEAD")
    assert [c.column for c in pair.sheets[0].cells_changed] == ["Units Total Price"]
    report = build_report(store, load_settings(config))
    audit = report.violations["1001"]
    new = [(v.rule, v.column) for v in audit.new]
    assert week < "2026-11-23" and ("closed-period-edit", "Units Total Price") in new
    # What it held when it left is not new again: the empty work request is still open.
    assert [v.rule for v in audit.ongoing] == ["missing-required"]
    assert "missing-required" not in [rule for rule, _ in new]
    assert pair.sheets[0].compared_with == store.rev_parse("snapshots~2")
    # Its rows' history tells the same: changed while out, not removed and added again.
    key = str(emulator.sheets[1001]["rows"][0]["id"])
    cell = row_history(store, key, sheet="1001", column="Units Total Price")
    assert [(v.change, v.commit) for v in cell.versions] == [
        ("added", store.rev_parse("snapshots~2")),
        ("changed", store.rev_parse("snapshots")),
    ]
