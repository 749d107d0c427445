"""The emulator speaks the reference's API: the real SDK's typed calls work against it."""

import io
import subprocess
import sys

import orjson
import pytest
import requests
import smartsheet
from smartsheet.exceptions import ApiError
from smartsheet.models import Column, ExplicitNull, Row, Sheet
from smartsheet.smartsheet import AbstractUserCalcBackoff

from demo import billing
from tests.conftest import TOKEN
from tests.helpers import typed_sheet


class NoWait(AbstractUserCalcBackoff):
    """Retry at once, up to three times: keeps the SDK's own retry loop fast in tests."""

    def calc_backoff(self, previous_attempts, total_elapsed_time, error_result):
        return 0 if previous_attempts < 3 else -1


@pytest.fixture
def client(emulator):
    sdk = smartsheet.Smartsheet(
        access_token=TOKEN, api_base=emulator.base_url, max_retry_time=NoWait()
    )
    sdk.errors_as_exceptions(True)
    return sdk


@pytest.fixture
def sheet_id(emulator):
    return emulator.add_sheet(billing.make_sheet(rows=12))


def test_get_sheet_paging_version_and_if_version_after(client, sheet_id):
    whole = client.Sheets.get_sheet(sheet_id)
    assert (whole.total_row_count, len(whole.rows), whole.version) == (12, 12, 1)
    page = client.Sheets.get_sheet(sheet_id, page_size=5, page=3)
    assert [r.row_number for r in page.rows] == [11, 12]
    assert client.Sheets.get_sheet_version(sheet_id).version == 1
    unchanged = client.Sheets.get_sheet(sheet_id, if_version_after=1)
    assert unchanged.version == 1 and list(unchanged.rows) == []
    first_column = whole.columns[0].id
    narrow = client.Sheets.get_sheet(sheet_id, column_ids=[first_column])
    assert [len(r.cells) for r in narrow.rows] == [1] * 12


def test_object_values_need_include_and_level(client, emulator):
    emulator.add_sheet(typed_sheet())
    plain = client.Sheets.get_sheet(1)
    assert plain.columns[7].type == "TEXT_NUMBER"
    assert plain.rows[0].cells[7].object_value is None
    full = client.Sheets.get_sheet(1, include="objectValue", level=2)
    assert full.columns[7].type == "MULTI_PICKLIST"
    assert list(full.rows[0].cells[7].object_value.values) == ["b", "a"]


def test_add_rows_validates_and_records_who_wrote(client, emulator, sheet_id):
    columns = client.Sheets.get_columns(sheet_id, include_all=True).data
    by_title = {c.title: c.id for c in columns}
    row = Row(
        {
            "toBottom": True,
            "cells": [
                {"columnId": by_title["Foreman"], "value": "=1+1", "format": ",,1,,,,,,,22,,,,,,,"},
                {"columnId": by_title["Units Completed?"], "value": True},
                {"columnId": by_title["Snapshot Date"], "value": ExplicitNull()},
            ],
        }
    )
    result = client.Sheets.add_rows(sheet_id, [row])
    assert result.message == "SUCCESS" and result.version == 2
    assert emulator.sheets[sheet_id]["rows"][-1]["createdBy"]["email"] == "owner@example.com"
    with pytest.raises(ApiError, match="1042"):
        client.Sheets.add_rows(
            sheet_id,
            [
                Row(
                    {
                        "toBottom": True,
                        "cells": [
                            {
                                "columnId": by_title["Weekly Reference Logged Date"],
                                "value": "next friday",
                            }
                        ],
                    }
                )
            ],
        )
    with pytest.raises(ApiError, match="1062"):
        client.Sheets.add_rows(sheet_id, [Row({"toBottom": True, "cells": []})] * 501)
    assert len(emulator.sheets[sheet_id]["rows"]) == 13


def test_columns_attachments_and_new_sheets(client, emulator, sheet_id):
    added = client.Sheets.add_columns(
        sheet_id, [Column({"title": "Audit id", "type": "TEXT_NUMBER", "index": 1})]
    )
    assert added.result[0].title == "Audit id"
    assert client.Sheets.get_sheet(sheet_id).columns[1].title == "Audit id"
    report = ("report.xlsx", io.BytesIO(b"PK\x03\x04 report"), "application/vnd.ms-excel")
    attached = client.Attachments.attach_file_to_sheet(sheet_id, report)
    assert attached.result.name == "report.xlsx"
    simple = requests.post(
        f"{emulator.base_url}/sheets/{sheet_id}/attachments",
        data=b"plain upload",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "text/plain",
            "Content-Disposition": 'attachment; filename="notes.txt"',
        },
        timeout=5,
    )
    assert simple.json()["result"]["name"] == "notes.txt"
    assert [a["data"] for a in emulator.attachments[sheet_id]] == [
        b"PK\x03\x04 report",
        b"plain upload",
    ]
    new = client.Folders.create_sheet_in_folder(
        7,
        Sheet(
            {
                "name": "Audit",
                "columns": [{"title": "What", "type": "TEXT_NUMBER", "primary": True}],
            }
        ),
    )
    assert client.Sheets.get_sheet(new.result.id).name == "Audit"
    assert client.Server.server_info().formats.color[0] == "none"


def test_errors_have_smartsheet_shape_and_4003_is_retried_by_the_sdk(client, emulator, sheet_id):
    emulator.inject(f"/sheets/{sheet_id}$", status=429, error_code=4003, count=2)
    assert client.Sheets.get_sheet(sheet_id).version == 1
    with pytest.raises(ApiError) as error:
        client.Sheets.get_sheet(999)
    assert (error.value.error.result.status_code, error.value.error.result.code) == (404, 1006)
    assert error.value.error.result.ref_id.startswith("emu")
    bad = requests.get(
        f"{emulator.base_url}/sheets/{sheet_id}", headers={"Authorization": "Bearer x"}, timeout=5
    )
    assert bad.status_code == 401 and bad.json()["errorCode"] == 1002


def test_runs_as_a_command(tmp_path):
    sample = tmp_path / "sheet.json"
    sample.write_bytes(orjson.dumps(billing.make_sheet(rows=3)))
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--sheet", str(sample)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        base = line.split(" on ")[1].split(" ")[0]
        answer = requests.get(
            f"{base}/sheets/{billing.SHEET_ID}/version",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert answer.json() == {"version": 1}
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_cell_edits_and_their_history_through_the_sdk(client, emulator, sheet_id):
    emulator.tokens["lee-token"] = "lee@example.com"
    lee = smartsheet.Smartsheet(access_token="lee-token", api_base=emulator.base_url)
    lee.errors_as_exceptions(True)
    sheet = client.Sheets.get_sheet(sheet_id)
    row, column = sheet.rows[0].id, sheet.columns[12].id
    for token_client, value in ((client, 11), (lee, 12)):
        update = Row({"id": row})
        update.cells.append(smartsheet.models.Cell({"column_id": column, "value": value}))
        token_client.Sheets.update_rows(sheet_id, [update])
    history = client.Cells.get_cell_history(sheet_id, row, column, include_all=True)
    assert [(h.value, h.modified_by.email) for h in history.data] == [
        (12, "lee@example.com"),
        (11, "owner@example.com"),
    ]
    assert client.Sheets.get_row(sheet_id, row).modified_by is None
    assert (
        client.Sheets.get_row(sheet_id, row, include="writerInfo").modified_by.email
        == "lee@example.com"
    )


def test_cell_history_has_its_own_rate_limit(emulator, sheet_id):
    emulator.history_per_minute = 2
    url = f"{emulator.base_url}/sheets/{sheet_id}/rows/1/columns/2/history"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answers = [requests.get(url, headers=headers, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert (
        answers[2].json()["errorCode"] == 4003 and 0 < int(answers[2].headers["Retry-After"]) <= 60
    )
