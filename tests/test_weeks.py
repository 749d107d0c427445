"""Invoice marks and billed weeks: a mark is its week's billed baseline for the rules and for
`auditor weeks`, which shows each week's billed total against now, exactly, by work
request, read from the week files each snapshot keeps."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import orjson
import pytest

from auditor.audit.evaluate import History, violations_of, violations_path
from auditor.audit.settings import load_settings
from auditor.audit.weeks import WeekReader, billed_weeks, blob_id, week_rows
from auditor.commands.invoice import invoice_week, list_marks
from auditor.commands.report import build_report
from auditor.config import Config
from auditor.errors import DamagedSnapshot, UsageError
from auditor.outputs.audit_sheet import WEEK_EVENT, audit_rows
from auditor.outputs.excel import write_report
from auditor.outputs.markdown import diff_markdown
from auditor.snapshot.model import Column, Sheet
from demo.billing import COLUMNS
from tests.helpers import as_rows, git, snapshot_at
from tests.test_rules import WEEK, line
from tests.test_run import clone, run, world  # noqa: F401 -- the emulator's world fixture

SETTINGS = load_settings(Config())
CONFIG = Config()
SHEET = "77"
# The week ending 2026-11-13 ends at 2026-11-14T00:00Z and closes a day later.
ROWS = {"1": line(1), "2": line(2), "3": line(3), "4": line(4, **{WEEK: "2026-11-20"})}


def sheet(rows: dict, sheet_id: str = SHEET) -> Sheet:
    columns = [Column(title, n, id=n + 1) for n, (title, _) in enumerate(COLUMNS)]
    return Sheet(sheet_id, f"Billing {sheet_id}", columns, as_rows(rows))


@pytest.fixture
def take(store):
    def snapshot(when: str, *sheets: Sheet) -> str:
        result = snapshot_at(store, list(sheets), when, SETTINGS)
        assert result.commit is not None
        return result.commit

    return snapshot


def invoice(store, week: str, at: str = "HEAD", **options):
    return invoice_week(store, CONFIG, SETTINGS, week, at=at, **options)


def week_of(store, ending: str, sheet_id: str = SHEET, revision: str = "HEAD"):
    found = billed_weeks(store, SETTINGS, revision, sheet_id)
    return next(week for week in found.weeks if str(week.week_ending) == ending)


def closed_edits(store, commit: str) -> set[tuple]:
    history = History(store, commit)
    found = violations_of(history, store.info(commit), SHEET, SETTINGS)
    return {(v.key, v.column) for v in found.values() if v.rule == "closed-period-edit"}


def test_a_price_edit_in_an_invoiced_week_shows_its_exact_difference(store, take):
    take("2026-11-14T10:00:00", sheet(ROWS))
    invoice(store, "2026-11-13", note="INV-1047")
    take("2026-11-16T10:00:00", sheet({**ROWS, "2": line(2, **{"Units Total Price": 430.1})}))
    week = week_of(store, "2026-11-13")
    assert week.baseline.kind == "invoice" and week.baseline.tag == "billed/77/2026-11-13"
    assert week.billed_total == Decimal("1276.5") and week.current_total == Decimal("1281.1")
    assert week.delta == Decimal("4.6") and isinstance(week.delta, Decimal)
    assert (week.rows_added, week.rows_removed, week.rows_changed) == (0, 0, 1)
    moved = [request for request in week.work_requests if request.moved]
    assert [(r.work_request, r.delta) for r in moved] == [("WR-2", Decimal("4.6"))]
    # The next week is still open at HEAD: neither closed nor invoiced, it is not listed.
    listed = billed_weeks(store, SETTINGS, "HEAD", SHEET).weeks
    assert [str(week.week_ending) for week in listed] == ["2026-11-13"]


def test_an_invoice_mark_overrides_the_calendar_baseline(store, take):
    take("2026-11-14T10:00:00", sheet(ROWS))
    # Closed by the calendar (2026-11-15T00:00Z), not yet invoiced: an edit.
    late = {**ROWS, "1": line(1, Quantity=3)}
    before = take("2026-11-16T10:00:00", sheet(late))
    assert closed_edits(store, before) == {("1", "Quantity")}
    assert week_of(store, "2026-11-13").baseline.kind == "calendar"
    invoice(store, "2026-11-13")  # invoiced from the snapshot with the late edit
    assert closed_edits(store, before) == set()  # its stored violations are stale now
    after = take("2026-11-16T12:00:00", sheet({**late, "2": line(2, Quantity=9)}))
    assert closed_edits(store, after) == {("2", "Quantity")}
    stored = store.read_path(after, violations_path(SHEET)).decode()
    assert '"key":"2"' in stored and '"key":"1"' not in stored
    week = week_of(store, "2026-11-13")
    assert week.baseline.kind == "invoice" and week.baseline.commit == before
    assert week.rows_changed == 1


def test_rows_added_and_removed_after_invoicing(store, take):
    take("2026-11-14T10:00:00", sheet(ROWS))
    invoice(store, "2026-11-13")
    rows = {key: row for key, row in ROWS.items() if key != "3"}
    rows["9"] = line(9, **{"Units Total Price": "$1,000.25"})
    take("2026-11-16T10:00:00", sheet(rows))
    week = week_of(store, "2026-11-13")
    assert (week.rows_added, week.rows_removed, week.rows_changed) == (1, 1, 0)
    assert week.delta == Decimal("1000.25") - Decimal("425.5")
    requests = {r.work_request: (r.rows_added, r.rows_removed) for r in week.work_requests}
    assert requests == {"WR-1": (0, 0), "WR-2": (0, 0), "WR-3": (0, 1), "WR-9": (1, 0)}


def test_two_sheets_have_marks_and_weeks_of_their_own(store, take):
    other = {"1": line(1, **{"Units Total Price": 10})}
    take("2026-11-14T10:00:00", sheet(ROWS), sheet(other, "88"))
    with pytest.raises(UsageError, match="holds 2 sheets; name one with --sheet"):
        invoice(store, "2026-11-13")
    invoice(store, "2026-11-13", sheet="88")
    take("2026-11-16T10:00:00", sheet(ROWS), sheet({"1": line(1, Quantity=7)}, "88"))
    found = billed_weeks(store, SETTINGS).weeks
    assert [(w.sheet_id, w.baseline.kind, w.delta) for w in found] == [
        ("77", "calendar", Decimal(0)),
        ("88", "invoice", Decimal("415.5")),
    ]
    assert [mark.tag for mark in list_marks(store)] == ["billed/88/2026-11-13"]


def test_force_moves_a_mark_and_keeps_the_old_target(store, take):
    first = take("2026-11-14T10:00:00", sheet(ROWS))
    second = take("2026-11-16T10:00:00", sheet({**ROWS, "1": line(1, Quantity=3)}))
    invoice(store, "2026-11-13", at="HEAD~1", note="INV-1")
    assert invoice(store, "2026-11-13", at="HEAD~1").unchanged
    with pytest.raises(UsageError, match=r"already marks snapshot .* add --force"):
        invoice(store, "2026-11-13")
    moved = invoice(store, "2026-11-13", force=True, note="INV-1 re-issued")
    assert moved.replaced == first
    [mark] = list_marks(store)
    assert mark.commit == second and mark.replaced == [first] and mark.note == "INV-1 re-issued"
    invoice(store, "2026-11-13", at="HEAD~1", force=True)
    [mark] = list_marks(store)
    assert mark.commit == first and mark.replaced == [first, second]
    kind = git(store.repo.working_dir, "cat-file", "-t", "billed/77/2026-11-13")
    assert kind == "tag"


def test_invoice_refuses_what_it_cannot_mark(store, take, cli):
    take("2026-11-14T10:00:00", sheet(ROWS))
    for week, why in [
        ("2026-02-30", "is not a date; give it as YYYY-MM-DD"),
        ("13/11/2026", "is not a date"),
        ("2026-11-12", "has week ending 2026-11-12 .* nearest week-ending dates: 2026-11-13"),
        ("2026-11-20", "had not ended when snapshot"),
    ]:
        with pytest.raises(UsageError, match=why):
            invoice(store, week)
    with pytest.raises(UsageError, match="digits"):
        invoice(store, "2026-11-13", sheet="../x")
    result = cli("invoice", "2026-11-13", "--sheet", "../../heads/snapshots")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "digits" in result.stderr
    assert git(store.repo.working_dir, "tag", "--list") == ""


def test_the_week_files_give_what_the_rows_give(store, take):
    """A snapshot's stored week rows equal those found from its rows.json; a week whose rows
    did not change keeps its file's object."""
    first = take("2026-11-14T10:00:00", sheet(ROWS))
    second = take(
        "2026-11-16T10:00:00", sheet({**ROWS, "4": line(4, Quantity=1, **{WEEK: "2026-11-20"})})
    )
    reader = WeekReader(History(store, second), SETTINGS)
    for commit in (first, second):
        stored = reader.stored(commit, SHEET)
        assert stored is not None
        rows = History(store, commit).rows(commit, SHEET)
        found = week_rows(rows, SETTINGS)
        assert {week: reader.rows(commit, SHEET, week) for week in stored} == found
    closed = dt.date(2026, 11, 13)
    assert reader.stored(first, SHEET)[closed] == reader.stored(second, SHEET)[closed]


def test_weeks_json_holds_the_issue_fields_money_as_decimal_text(store, take, cli):
    take("2026-11-14T10:00:00", sheet(ROWS))
    invoice(store, "2026-11-13")
    take("2026-11-16T10:00:00", sheet({**ROWS, "2": line(2, **{"Units Total Price": 0.3})}))
    result = cli("weeks", "--format", "json", "--since", "2026-11-01")
    assert result.returncode == 0, result.stderr
    [week] = json.loads(result.stdout)["weeks"]
    assert week["baseline"]["kind"] == "invoice" and week["baseline"]["tag"]
    assert week["delta"] == "-425.2" and week["billed_total"] == "1276.5"
    assert set(week) >= {"week_ending", "current_total", "rows_added", "rows_removed"}
    assert {"work_request", "delta", "rows_changed"} <= set(week["work_requests"][0])
    assert (
        json.loads(cli("weeks", "--format", "json", "--since", "2026-11-14").stdout)["weeks"] == []
    )
    table = cli("weeks", "--by", "work-request")
    assert "WR-2" in table.stdout and "-425.20" in table.stdout
    markdown = cli("weeks", "--format", "markdown")
    assert "| 77 | 2026-11-13 |" in markdown.stdout
    bad = cli("weeks", "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday' is not a date" in bad.stderr


def test_a_mark_is_pushed_by_run_and_seen_by_a_fresh_clone(cli, origin, world, tmp_path):  # noqa: F811
    _, _, env = world
    first = clone(origin, tmp_path, "first")
    done = run(cli, first, env, "1", "--fetched-at", "2026-11-23T08:00:00Z", "--no-publish")
    assert done.returncode == 0, done.stderr
    sheet_id = env["SOURCE_SHEET_ID"]
    marked = cli("invoice", "2026-09-19", "--sheet", sheet_id, "--note", "INV-7", cwd=first)
    assert marked.returncode == 0, marked.stderr
    again = run(cli, first, env, "2", "--fetched-at", "2026-11-23T10:00:00Z", "--no-publish")
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
    assert git(origin, "tag", "--list") == f"billed/{sheet_id}/2026-09-19"
    fresh = clone(origin, tmp_path, "fresh")
    listed = cli("invoice", "--list", cwd=fresh)
    assert f"billed/{sheet_id}/2026-09-19" in listed.stdout and "INV-7" in listed.stdout
    weeks = json.loads(cli("weeks", "--format", "json", cwd=fresh).stdout)["weeks"]
    invoiced = [week for week in weeks if week["baseline"]["kind"] == "invoice"]
    assert [week["week_ending"] for week in invoiced] == ["2026-09-19"]
    # A checkout without tags (as CI's): the run fetches the marks before it audits.
    bare = tmp_path / "bare"
    git(tmp_path, "clone", "-q", "--no-tags", str(origin), str(bare))
    done = run(cli, bare, env, "3", "--fetched-at", "2026-11-23T12:00:00Z", "--no-publish")
    assert done.returncode == 0, done.stderr
    assert git(bare, "tag", "--list") == f"billed/{sheet_id}/2026-09-19"


def test_the_report_the_markdown_and_the_audit_sheet_show_the_billed_weeks(store, take, tmp_path):
    first = take("2026-11-14T10:00:00", sheet(ROWS))
    invoice(store, "2026-11-13", note="INV-1047")
    edited = {**ROWS, "2": line(2, **{"Units Total Price": 430.1})}
    last = take("2026-11-16T10:00:00", sheet(edited))
    report = build_report(store, SETTINGS)
    book = openpyxl.load_workbook(write_report(tmp_path / "report.xlsx", report))

    def table(title: str) -> list[dict]:
        header = [cell.value for cell in book[title][1]]
        return [dict(zip(header, row, strict=True)) for row in book[title].iter_rows(min_row=2)]

    [week] = table("Billed weeks")
    assert week["Week ending"].value == dt.datetime(2026, 11, 13)
    assert week["Baseline"].value == "invoice billed/77/2026-11-13"
    assert (week["Billed"].value, week["Now"].value) == (1276.5, 1281.1)
    assert week["Difference"].value == pytest.approx(4.6)
    assert week["Difference"].number_format.startswith('"$"')
    assert (week["Rows changed"].value, week["Severity"].value) == (1, "medium")
    [request] = table("Billed by work request")
    assert (request["Work request"].value, request["Difference"].value) == ("WR-2", 4.6)
    with zipfile.ZipFile(tmp_path / "report.xlsx") as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    assert any("barChart" in chart and "Difference from the bill" in chart for chart in charts)

    opening = diff_markdown(report.diff, events=report.events, weeks=report.weeks).splitlines()[2]
    assert opening.endswith(
        "\\$4.60 moved in 1 billed week (1 invoiced, 0 closed; 1 work request) since they "
        "were billed.**"
    )

    trees = {SHEET: (store.sheet_trees(first)[SHEET], store.sheet_trees(last)[SHEET])}
    rows = audit_rows(report, trees)
    [shift] = [row for row in rows if row.values["Event or rule"] == WEEK_EVENT]
    assert shift.values["Week ending"] == "2026-11-13"
    assert (shift.values["Old"], shift.values["New"], shift.values["Delta"]) == (
        Decimal(0),
        Decimal("4.6"),
        Decimal("4.6"),
    )
    assert shift.values["Details"] == (
        "now $4.60 from what was billed (invoice mark billed/77/2026-11-13); was $0.00"
    )
    again = [row.audit_id for row in audit_rows(build_report(store, SETTINGS), trees)]
    assert shift.audit_id in again  # the same pair posts the same row, once


def swap_file(store, path: str, data: bytes) -> None:
    """A hand edit of the tip: `path` holds `data` in a commit made in its place."""
    work = store.repo.working_dir
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], cwd=work, input=data, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    index = {**os.environ, "GIT_INDEX_FILE": str(Path(store.repo.git_dir) / "swap-index")}
    for args in (
        ["read-tree", "snapshots"],
        ["update-index", "--cacheinfo", f"100644,{blob},{path}"],
    ):
        subprocess.run(["git", *args], cwd=work, env=index, check=True)
    tree = subprocess.run(
        ["git", "write-tree"], cwd=work, env=index, capture_output=True, text=True
    ).stdout.strip()
    commit = git(
        work, "commit-tree", tree, "-p", "snapshots~1", "-m", store.info("snapshots").message
    )
    git(work, "update-ref", "refs/heads/snapshots", commit)


def test_a_week_file_edited_by_hand_is_not_believed(store, take, caplog):
    take("2026-11-14T10:00:00", sheet(ROWS))
    invoice(store, "2026-11-13")
    take("2026-11-16T10:00:00", sheet({**ROWS, "2": line(2, **{"Units Total Price": 430.1})}))
    true = week_of(store, "2026-11-13").current_total
    path = f"weeks/{SHEET}/2026-11-13.json"
    edited = store.read_path("snapshots", path).replace(b'"430.1"', b'"1"')
    swap_file(store, path, edited)
    assert week_of(store, "2026-11-13").current_total == true == Decimal("1281.1")
    assert "the week files do not match their index" in caplog.text
    # A file the index vouches for that is not a week file: damage, said so, exit 4.
    index = orjson.loads(store.read_path("snapshots", f"weeks/{SHEET}/index.json"))
    index["files"]["2026-11-13.json"] = blob_id(b"garbage{")
    swap_file(store, f"weeks/{SHEET}/index.json", orjson.dumps(index))
    swap_file(store, path, b"garbage{")
    with pytest.raises(DamagedSnapshot, match=r"2026-11-13.json in snapshot .* is not a week"):
        week_of(store, "2026-11-13")


def test_an_invoiced_week_is_closed_for_severity_too(store, take):
    rows = {**ROWS, "4": line(4, **{WEEK: "2026-11-20", "Work Request #": None})}
    # The week ending 2026-11-20 has ended, but the calendar closes it only on the 22nd.
    commit = take("2026-11-21T10:00:00", sheet(rows))

    def severity() -> str:
        history = History(store, commit)
        found = violations_of(history, store.info(commit), SHEET, SETTINGS).values()
        return next(v.severity for v in found if v.rule == "missing-required")

    assert severity() == "low"
    invoice(store, "2026-11-20")
    assert severity() == "medium"


def test_tags_that_are_not_marks_of_the_branch_are_ignored_and_said(store, take, caplog):
    take("2026-11-16T10:00:00", sheet(ROWS))
    work = store.repo.working_dir
    tree = git(work, "rev-parse", "snapshots^{tree}")
    elsewhere = git(work, "commit-tree", tree, "-m", "not on the branch")
    git(work, "tag", "-a", "-m", "x", f"billed/{SHEET}/2026-11-13", elsewhere)
    git(work, "tag", "-a", "-m", "x", f"billed/{SHEET}/2026-11-06", tree)
    git(work, "tag", "billed/not-a-sheet", "snapshots")
    assert list_marks(store) == []
    assert week_of(store, "2026-11-13").baseline.kind == "calendar"
    assert f"tag billed/{SHEET}/2026-11-13 names no commit of the snapshots branch" in caplog.text
    assert f"tag billed/{SHEET}/2026-11-06 names no commit of the snapshots" in caplog.text
    assert "tag billed/not-a-sheet is not an invoice mark" in caplog.text


def test_an_invoice_that_loses_a_race_for_its_mark_says_so(store, take, monkeypatch):
    first = take("2026-11-14T10:00:00", sheet(ROWS))
    second = take("2026-11-16T10:00:00", sheet({**ROWS, "1": line(1, Quantity=3)}))
    write, raced = store.write_object, []

    def racing(kind: str, data: bytes) -> str:
        """Another process marks the week between this one's look and its write (the race
        is made, not waited for: this wraps the store's own writer)."""
        made = write(kind, data)
        if not raced:
            raced.append(kind)
            invoice(store, "2026-11-13", at=first)
        return made

    monkeypatch.setattr(store, "write_object", racing)
    with pytest.raises(UsageError, match=r"was just marked on snapshot .* by another invoice"):
        invoice(store, "2026-11-13", at=second)
    assert [mark.commit for mark in list_marks(store)] == [first]
