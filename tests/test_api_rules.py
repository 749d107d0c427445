"""The tool against rules of the real API that the emulator once let through: one index
for the columns of a request."""

from __future__ import annotations

import pytest

from auditor.audit.settings import load_settings
from auditor.commands.report import build_report, publish_report
from auditor.config import Config
from auditor.outputs import audit_sheet
from auditor.outputs.audit_sheet import COLUMNS
from tests.conftest import TOKEN
from tests.test_publish import pair

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
