"""Whatever people type into a sheet is stored exactly and shown as inert text everywhere.

A property test: arbitrary sheet names, column titles, folder names and cell text (control
characters, markup, formula prefixes, tabs, newlines, spaces, dots, slashes, unicode, very
long) go through a snapshot, a diff and every output. The snapshot reads back exactly, git
fsck --strict stays clean, and no output interprets the text: no formula cell in the
workbook, no markup or escape byte in terminal or markdown output, no unexpected error.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rich.console import Console

from auditor.audit.evaluate import audit_pair
from auditor.audit.settings import load_settings
from auditor.commands.diff import diff_revisions
from auditor.commands.history import row_history
from auditor.commands.report import make_report
from auditor.commands.show import show_snapshot
from auditor.commands.snapshot import take_snapshot
from auditor.config import Config
from auditor.errors import UsageError
from auditor.markup import escape
from auditor.outputs.json_format import diff_document
from auditor.outputs.markdown import diff_markdown
from auditor.outputs.table import print_diff, print_history, print_snapshot
from auditor.outputs.xlsx_rows import excel_text
from auditor.sources.smartsheet_rows import sheet_from_api
from auditor.store.gitstore import Store
from auditor.text import inert
from tests.helpers import AUTHOR, git

HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://x","y")',
    "+A1",
    "-5",
    "@SUM(A1)",
    "[b]1000[/b] real value is 5",
    "[/b]",
    "[link=http://example.com]click[/link]",
    ":smile:",
    "\x1b[2J\x1b[H",
    "\x1b]52;c;cGF3bmVk\x07",
    "tab\there",
    "line\nbreak",
    "\r\n",
    " padded ",
    "..",
    "a/b",
    ".git",
    "_id",
    "_x0041_",
    "<script>alert(1)</script>",
    "| pipe | @team",
    "\u202eevil",
    "\u0000\u0085\u2028",
    "Facturación 2026 (v2)",
    "zero\u200bwidth\ufeff\u061c\U000e0041",
    "1" * 25,
]
text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=12),
    st.text(min_size=1, max_size=3).map(lambda t: t * 3000),
)
# Folder names that work (four times in five), else any text, which may be refused.
FOLDERS = st.sampled_from(["Billing 2026", "x.rows", "Facturación (v2)", "7", "a-b_c.d"])
titles = st.lists(text.filter(lambda t: t != ""), min_size=1, max_size=4, unique=True)
cell = st.one_of(text, st.integers(-(10**15), 10**15))
CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u2028-\u202e\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)


def api_sheet(name: str, columns: list[str], rows: list[list[object]], first: int) -> dict:
    """A sheet as the API sends it; row ids count up from `first`."""
    return {
        "id": 7,
        "name": name,
        "columns": [
            {"id": 100 + n, "index": n, "title": title, "type": "TEXT_NUMBER"}
            for n, title in enumerate(columns)
        ],
        "rows": [
            {
                "id": first + r,
                "modifiedBy": {"email": "kim@example.com"},
                "cells": [
                    {"columnId": 100 + n, "value": value}
                    for n, value in enumerate(values)
                    if value != ""
                ],
            }
            for r, values in enumerate(rows)
        ],
    }


@st.composite
def cases(draw):
    columns = draw(titles)
    width = len(columns)
    row = st.lists(cell, min_size=width, max_size=width)
    before = draw(st.lists(row, min_size=1, max_size=3))
    after = [list(values) for values in before[1:]] + [draw(row)]
    for values in after[:-1]:
        values[draw(st.integers(0, width - 1))] = draw(cell)
    folder = draw(FOLDERS if draw(st.integers(0, 4)) else text)
    return draw(text), folder, columns, before, after


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, markup=False, emoji=False, highlight=False, width=100_000)
    return console, out


def assert_inert(output: str, where: str) -> None:
    bad = CONTROL.search(output)
    assert bad is None, f"{where}: raw {bad.group()!r} in the output"


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cases())
def test_sheet_text_is_stored_exactly_and_shown_inert(shared_repo, tmp_path, case):
    name, folder, columns, before, after = case
    branch = f"b{len(git(shared_repo, 'branch', '--list')) + 1}"
    store = Store(shared_repo, branch)
    config = Config(branch=branch, money_columns=())
    rules = load_settings(config)
    times = [dt.datetime(2026, 11, 20, h, tzinfo=dt.UTC) for h in (8, 10)]
    try:
        sheets = [
            sheet_from_api(api_sheet(name, columns, rows, first), sheet_id=folder)
            for rows, first in ((before, 1000), (after, 1001))
        ]
        for sheet, when in zip(sheets, times, strict=True):
            take_snapshot(
                store,
                [sheet],
                author=AUTHOR,
                fetched_at=when,
                settings=rules,
                allow_mass_removal=True,
            )
    except UsageError as error:
        assert str(error).startswith("snapshot folder name "), error
        assert git(shared_repo, "branch", "--list", branch) == ""
        event("folder name refused")
        return
    event("snapshotted")
    tree = store.sheet_trees(store.tip())[sheets[0].sheet_id]
    stored = store.sheet_files(tree)
    assert stored.all_rows() == sheets[1].rows
    assert stored.meta["name"] == name
    assert [column["title"] for column in stored.meta["columns"]] == columns

    diff = diff_revisions(store, "HEAD~1", "HEAD")
    violations = audit_pair(store, diff, rules)
    document = orjson.loads(orjson.dumps(diff_document(diff, violations)))
    changed = {(c["key"], c["column"]): c["new"] for c in document["sheets"][0]["cells_changed"]}
    for key, row in sheets[1].rows.items():
        for title, value in row.cells.items():
            if (key, title) in changed:
                assert changed[key, title] == value

    console, out = terminal()
    print_diff(console, diff, 50, Config(), violations)
    print_snapshot(console, show_snapshot(store, "HEAD")[1], 50)
    print_history(console, row_history(store, "1000"))
    shown = out.getvalue()
    assert_inert(shown, "terminal")
    assert inert(name) in shown
    for title in columns:
        assert inert(title) in shown

    markdown = diff_markdown(diff, 50, 1024 * 1024, violations)
    assert_inert(markdown, "markdown")
    assert escape(name) in markdown

    message = git(shared_repo, "log", "-1", "--format=%B", branch)
    assert_inert(message.replace("\n", " "), "commit message")
    assert len(message) < 16_384

    written = make_report(store, rules, force=True, out=tmp_path).path
    assert_workbook_inert(written, columns)
    store.close()
    assert git(shared_repo, "fsck", "--strict", "--no-dangling") == ""


def assert_workbook_inert(path: Path, columns: list[str]) -> None:
    with zipfile.ZipFile(path) as archive:
        for part in archive.namelist():
            if part.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in archive.read(part), f"a formula in {part}"
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for value in row:
                assert value.data_type != "f", f"{sheet.title}!{value.coordinate}"
    who = {"Added by", "Added at (UTC)", "Last editor", "Deleted between"}
    allowed = {"Sheet", "Row key", *who, *(excel_text(title) for title in columns)}
    for title in ("Rows added", "Rows removed"):
        headers = [c.value for c in next(book[title].iter_rows(max_row=1))]
        assert set(headers) <= allowed, headers
