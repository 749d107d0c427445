"""The tool against rules of the real API that the emulator once let through: one index
for the columns of a request, writers only with include=writerInfo."""

from __future__ import annotations

import orjson
import pytest

from auditor.audit.settings import load_settings
from auditor.commands.report import build_report, publish_report
from auditor.config import Config
from auditor.outputs import audit_sheet
from auditor.outputs.audit_sheet import COLUMNS
from demo import billing
from tests.conftest import TOKEN
from tests.helpers import git
from tests.test_publish import pair

SHEET = billing.SHEET_ID
AUDIT = 55


@pytest.fixture
def audit(emulator) -> dict:
    """A new audit sheet: one column of the user's own, no rows."""
    sheet = {
        "id": AUDIT,
        "name": "Billing audit",
        "columns": [{"id": 1, "index": 0, "title": "Note", "type": "TEXT_NUMBER", "primary": True}],
    }
    emulator.add_sheet(sheet)
    return sheet


def publish(store, emulator, tmp_path) -> audit_sheet.Published:
    config = Config(
        token=TOKEN, api_base=emulator.base_url, audit_sheet_id=str(AUDIT), retry_budget=3
    )
    report = build_report(store, load_settings(config))
    workbook = tmp_path / "report.xlsx"
    workbook.write_bytes(b"PK report")
    return publish_report(store, config, report, lambda: workbook)


def test_the_audit_columns_go_in_with_one_request_at_one_index(store, emulator, audit, tmp_path):
    pair(store, 3)
    assert publish(store, emulator, tmp_path).posted == 5
    assert emulator.requests.count(("POST", f"/sheets/{AUDIT}/columns")) == 1
    titles = [column["title"] for column in audit["columns"]]
    assert titles == ["Note"] + [title for title, _ in COLUMNS]
    assert [column["index"] for column in audit["columns"]] == list(range(len(COLUMNS) + 1))


def test_a_snapshot_names_who_last_changed_each_row(repo, cli, api_env, emulator):
    sheet = billing.make_sheet(rows=4)
    emulator.add_sheet(sheet)
    env = {**api_env, "SOURCE_SHEET_ID": str(SHEET)}
    assert cli("snapshot", env=env).returncode == 0
    with emulator.lock:
        billing.set_cell(sheet, 2, "Quantity", 77, "lee@example.com", "2026-11-24T10:00:00Z")
    assert cli("snapshot", env=env).returncode == 0
    rows = orjson.loads(git(repo, "show", f"snapshots:snapshots/{SHEET}/rows.json"))
    changed = str(sheet["rows"][1]["id"])
    assert rows[changed]["modified_by"] == "lee@example.com"
    assert rows[str(sheet["rows"][0]["id"])]["modified_by"] == "billing@example.com"
    history = orjson.loads(cli("history", changed, "--format", "json").stdout)
    assert [v["modified_by"] for v in history["versions"]] == [
        "billing@example.com",
        "lee@example.com",
    ]


def test_the_audit_sheet_says_who_changed_a_cell(repo, cli, api_env, emulator, audit):
    sheet = billing.make_sheet(rows=4)
    emulator.add_sheet(sheet)
    env = {**api_env, "SOURCE_SHEET_ID": str(SHEET), "AUDIT_SHEET_ID": str(AUDIT)}
    assert cli("snapshot", env=env).returncode == 0
    with emulator.lock:
        billing.set_cell(sheet, 2, "Foreman", "Z. Kim", "lee@example.com", "2026-11-24T10:00:00Z")
    assert cli("snapshot", env=env).returncode == 0
    result = cli("report", "--out", "reports", env=env)
    assert result.returncode == 0, result.stderr
    titles = {column["id"]: column["title"] for column in audit["columns"]}
    rows = [{titles[c["columnId"]]: c.get("value") for c in r["cells"]} for r in audit["rows"]]
    foreman = next(row for row in rows if row.get("Column") == "Foreman")
    assert (foreman["Changed by"], foreman["Attribution"]) == ("lee@example.com", "row")
