"""Cell-level attribution from the emulator's cell history: within and beyond the budget,
under 429s, and marked in the report and on the audit sheet."""

from __future__ import annotations

import openpyxl
import pytest
import smartsheet

from demo import billing
from tests.conftest import TOKEN

SHEET = billing.SHEET_ID
EDITORS = {"lee-token": "lee@example.com", "kim-token": "kim@example.com"}


@pytest.fixture
def sheet(emulator):
    emulator.tokens.update(EDITORS)
    data = billing.make_sheet(rows=4)
    emulator.add_sheet(data)
    return data


def edit(emulator, token: str, row: int, title: str, value) -> None:
    """A change made in Smartsheet by the token's user, through the SDK's update_rows."""
    client = smartsheet.Smartsheet(access_token=token, api_base=emulator.base_url)
    client.errors_as_exceptions(True)
    data = emulator.sheets[SHEET]
    column = next(c["id"] for c in data["columns"] if c["title"] == title)
    update = smartsheet.models.Row({"id": data["rows"][row - 1]["id"]})
    update.cells.append(smartsheet.models.Cell({"column_id": column, "value": value}))
    client.Sheets.update_rows(SHEET, [update])


def key(sheet, row: int) -> str:
    return str(sheet["rows"][row - 1]["id"])


@pytest.fixture
def changed(repo, cli, api_env, emulator, sheet):
    env = {**api_env, "SOURCE_SHEET_ID": str(SHEET)}
    assert cli("snapshot", env=env).returncode == 0
    edit(emulator, "lee-token", 1, "Quantity", 77)
    edit(emulator, "kim-token", 1, "Foreman", "Z. Kim")
    edit(emulator, "kim-token", 2, "Units Total Price", 1234.5)
    result = cli("snapshot", env=env)
    assert result.returncode == 0, result.stderr
    return env


def changes(path) -> dict:
    sheet = openpyxl.load_workbook(path)["Changes"]
    header = [cell.value for cell in sheet[1]]
    rows = [
        dict(zip(header, row, strict=False)) for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    return {(r["Row key"], r["Column"]): (r["Changed by"], r["Attribution"]) for r in rows}


def report(cli, env, tmp_path):
    result = cli("report", "--attribute", "--no-publish", "--out", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    return result, next(tmp_path.glob("*.xlsx"))


def test_each_changed_tracked_cell_gets_its_editor(cli, changed, sheet, tmp_path):
    result, path = report(cli, changed, tmp_path)
    assert "cell attribution: 2 of 2 changed tracked cells" in result.stdout
    found = changes(path)
    assert found[key(sheet, 1), "Quantity"] == ("lee@example.com", "cell")
    assert found[key(sheet, 1), "Foreman"] == ("kim@example.com", "row")
    assert found[key(sheet, 2), "Units Total Price"] == ("kim@example.com", "cell")
    summary = openpyxl.load_workbook(path)["Summary"]
    figures = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert figures["Cells attributed"] == 2


def test_without_attribute_every_change_is_row_level(cli, changed, sheet, tmp_path):
    result = cli("report", "--no-publish", "--out", str(tmp_path), env=changed)
    assert result.returncode == 0 and "cell attribution" not in result.stdout
    found = changes(next(tmp_path.glob("*.xlsx")))
    assert found[key(sheet, 1), "Quantity"] == ("kim@example.com", "row")


def test_beyond_the_budget_cells_keep_the_row_modifier(repo, cli, changed, sheet, tmp_path):
    (repo / "auditor.toml").write_text("attribution_budget = 1\n")
    result, path = report(cli, changed, tmp_path)
    assert "cell attribution: 1 of 2 changed tracked cells" in result.stdout
    assert "(1 looked up)" in result.stdout
    kinds = sorted(kind for (_, column), (_, kind) in changes(path).items() if column != "Foreman")
    assert kinds == ["cell", "row"]


def test_a_cell_whose_row_is_gone_is_skipped(cli, changed, sheet, emulator, tmp_path):
    emulator.inject(rf"/rows/{key(sheet, 2)}/columns/\d+/history$", status=404, error_code=1006)
    result, path = report(cli, changed, tmp_path)
    assert "cell attribution: 1 of 2 changed tracked cells" in result.stdout
    assert "(2 looked up)" in result.stdout and "warning" not in result.stderr
    found = changes(path)
    assert found[key(sheet, 1), "Quantity"] == ("lee@example.com", "cell")
    assert found[key(sheet, 2), "Units Total Price"] == ("kim@example.com", "row")


def test_429s_are_waited_out(cli, changed, sheet, emulator, tmp_path):
    emulator.inject(r"/history$", status=429, error_code=4003, count=2, retry_after=0)
    result, path = report(cli, changed, tmp_path)
    assert "cell attribution: 2 of 2" in result.stdout
    assert changes(path)[key(sheet, 1), "Quantity"] == ("lee@example.com", "cell")


def test_the_rate_limit_stops_attribution_not_the_report(cli, changed, sheet, emulator, tmp_path):
    emulator.history_per_minute = 1
    result, path = report(cli, changed, tmp_path)
    assert "cell attribution: 1 of 2" in result.stdout
    assert "warning: cell attribution stopped after 1 of 2 cells" in result.stderr
    assert "Rate limit exceeded" in result.stderr
    kinds = [kind for (_, column), (_, kind) in changes(path).items() if column != "Foreman"]
    assert sorted(kinds) == ["cell", "row"]


def test_audit_rows_say_which_attribution(cli, changed, sheet, emulator, tmp_path):
    audit = {
        "id": 99,
        "name": "Audit",
        "columns": [{"id": 1, "title": "Note", "type": "TEXT_NUMBER", "primary": True}],
    }
    emulator.add_sheet(audit)
    env = {**changed, "AUDIT_SHEET_ID": "99"}
    result = cli("report", "--attribute", "--out", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    titles = {c["id"]: c["title"] for c in audit["columns"]}
    rows = [{titles[c["columnId"]]: c.get("value") for c in r["cells"]} for r in audit["rows"]]
    quantity = next(r for r in rows if r.get("Column") == "Quantity")
    assert (quantity["Changed by"], quantity["Attribution"]) == ("lee@example.com", "cell")
    foreman = next(r for r in rows if r.get("Column") == "Foreman")
    assert (foreman["Changed by"], foreman["Attribution"]) == ("kim@example.com", "row")
    assert TOKEN not in str(rows)
