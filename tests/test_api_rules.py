"""The tool against rules of the real API that the emulator once let through: one index
for the columns of a request, writers only with include=writerInfo, a page past the end,
429s without Retry-After, and the 500,000-cell limit of a sheet."""

from __future__ import annotations

import math
import types
from itertools import pairwise

import orjson
import pytest

from auditor import smartsheet_client
from auditor.audit.settings import load_settings
from auditor.commands.read import read_smartsheet
from auditor.commands.report import build_report, publish_report
from auditor.config import Config
from auditor.outputs import audit_sheet
from auditor.outputs.audit_sheet import AUDIT_ID, COLUMNS
from auditor.smartsheet_client import SmartsheetApi
from auditor.sources import api as api_module
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


def test_reads_stop_by_total_row_count_though_a_page_past_the_end_is_not_empty(
    store, emulator, monkeypatch
):
    """The API answers a page past the end with the last page: a reader that paged until
    an empty page would never stop."""
    monkeypatch.setattr(api_module, "PAGE_SIZE", 7)
    emulator.add_sheet(billing.make_sheet(rows=30))
    api = SmartsheetApi(TOKEN, emulator.base_url, 2, 3)
    past = api.get(f"/sheets/{SHEET}", "sheet", page=9, pageSize=7)
    assert [row["rowNumber"] for row in past["rows"]] == [29, 30]
    emulator.requests.clear()
    sheets = read_smartsheet(store, api, Config(sheets=(str(SHEET),))).sheets
    api.close()
    assert len(sheets[0].rows) == 30
    assert emulator.requests.count(("GET", f"/sheets/{SHEET}")) == math.ceil(30 / 7)


def test_the_audit_ids_are_read_page_by_page_to_the_total(
    store, emulator, audit, monkeypatch, tmp_path
):
    pair(store, 3)
    publish(store, emulator, tmp_path)
    monkeypatch.setattr(audit_sheet, "READ_PAGE", 2)
    emulator.requests.clear()
    again = publish(store, emulator, tmp_path)
    assert (again.posted, again.already, again.rows_on_sheet) == (0, 5, 5)
    assert emulator.requests.count(("GET", f"/sheets/{AUDIT}")) == math.ceil(5 / 2)


def test_a_429_without_retry_after_is_backed_off_until_the_minute_has_passed(emulator, monkeypatch):
    """The API documents no Retry-After: the client waits longer each time on its own. The
    emulator's clock moves only when the client sleeps, so nothing really waits."""
    emulator.add_sheet(billing.make_sheet(rows=1))
    now = [0.0]
    emulator.clock = lambda: now[0]
    emulator.requests_per_minute = 2
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    fake_time = types.SimpleNamespace(monotonic=smartsheet_client.time.monotonic, sleep=sleep)
    monkeypatch.setattr(smartsheet_client, "time", fake_time)
    api = SmartsheetApi(TOKEN, emulator.base_url, 2, 120)
    path = f"/sheets/{SHEET}/version"
    assert [api.get(path, "version")["version"] for _ in range(3)] == [1, 1, 1]
    api.close()
    assert sum(pauses) >= 60 and sum(pauses[:-1]) < 60
    assert pauses[0] < 1 and max(pauses) <= smartsheet_client.MAX_BACKOFF * 1.25
    doubling = pauses[:5]
    assert all(b >= 1.6 * a for a, b in pairwise(doubling)), pauses


def test_an_audit_sheet_full_by_its_cells_stops_before_posting(
    repo, store, cli, api_env, emulator, audit
):
    """20,000 rows of 27 columns would be 540,000 cells: such a sheet holds 18,518 rows."""
    pair(store, 3)
    extra = [f"Reviewer note {n}" for n in range(7)]
    audit["columns"] += [
        {"id": 100 + n, "index": n + 1, "title": title, "type": "TEXT_NUMBER"}
        for n, title in enumerate([title for title, _ in COLUMNS] + extra)
    ]
    audit_id = next(c["id"] for c in audit["columns"] if c["title"] == AUDIT_ID)
    audit["rows"] = [
        {"id": emulator.new_id(), "cells": [{"columnId": audit_id, "value": f"old {n}"}]}
        for n in range(18_515)
    ]
    audit["totalRowCount"] = len(audit["rows"])
    result = cli("report", env={**api_env, "AUDIT_SHEET_ID": str(AUDIT)})
    assert result.returncode == 3, result.stdout + result.stderr
    assert "holds 18,515 rows and this pair adds 5: more than the 18,518" in result.stderr
    assert "500,000-cell limit leaves 27 columns" in result.stderr
    assert "set AUDIT_SHEET_ID" in result.stderr and result.stderr.count("\n") == 1
    assert len(audit["rows"]) == 18_515
