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

from demo import billing
from tests.conftest import TOKEN
from tests.helpers import typed_sheet


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
    with pytest.raises(ApiError, match="1160"):
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
    emulator.add_folder("Audit", folder_id=7)
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
        [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            "0",
            "--sheet",
            str(sample),
            "--latency",
            "0.01",
        ],
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


def call(emulator, method: str, path: str, body=None, token: str = TOKEN, **params):
    """A raw request, as any client sends it; the status and the parsed answer."""
    answer = requests.request(
        method,
        emulator.base_url + path,
        params=params,
        data=None if body is None else orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=5,
    )
    assert "Retry-After" not in answer.headers
    return answer.status_code, answer.json()


def columns_of(emulator, sheet_id) -> dict[str, int]:
    return {c["title"]: c["id"] for c in emulator.sheets[sheet_id]["columns"]}


def test_the_columns_of_one_request_share_one_index(emulator, sheet_id):
    path = f"/sheets/{sheet_id}/columns"
    status, body = call(
        emulator,
        "POST",
        path,
        [
            {"title": "A", "type": "TEXT_NUMBER", "index": 1},
            {"title": "B", "type": "DATE", "index": 2},
        ],
    )
    assert (status, body["errorCode"]) == (400, 1135)
    assert (
        body["message"] == "Input column index 2 is different from the first input column index 1."
    )
    new = [{"title": title, "type": "TEXT_NUMBER", "index": 1} for title in ("A", "B", "C")]
    status, body = call(emulator, "POST", path, new)
    assert status == 200 and [c["index"] for c in body["result"]] == [1, 2, 3]
    titles = [c["title"] for c in emulator.sheets[sheet_id]["columns"]]
    assert titles[:5] == ["Foreman", "A", "B", "C", "Work Request #"]
    refused = [
        ([{"title": "D", "type": "TEXT_NUMBER"}], 1012),
        ([{"title": "D", "type": "TEXT_NUMBER", "index": 99}], 1031),
        ([{"title": "D", "type": "WORDS", "index": 1}], 1031),
        ([{"title": "A", "type": "TEXT_NUMBER", "index": 1}], 1056),
        ([{"title": "D", "type": "TEXT_NUMBER", "index": 1}] * 2, 1133),
        ([{"title": "D", "type": "TEXT_NUMBER", "index": 1}, {"title": "E", "type": "DATE"}], 1135),
    ]
    for columns, code in refused:
        assert call(emulator, "POST", path, columns)[1]["errorCode"] == code, columns


def test_writers_only_with_include_writer_info(emulator, sheet_id):
    row = emulator.sheets[sheet_id]["rows"][0]["id"]
    for path in (f"/sheets/{sheet_id}", f"/sheets/{sheet_id}/rows/{row}"):
        _, plain = call(emulator, "GET", path)
        _, named = call(emulator, "GET", path, include="writerInfo")
        plain, named = plain.get("rows", [plain])[0], named.get("rows", [named])[0]
        assert "modifiedBy" not in plain and "createdBy" not in plain
        assert named["modifiedBy"]["email"] == "billing@example.com" and "modifiedAt" in plain
    added = {
        "toBottom": True,
        "cells": [{"columnId": columns_of(emulator, sheet_id)["Foreman"], "value": "x"}],
    }
    _, body = call(emulator, "POST", f"/sheets/{sheet_id}/rows", [added])
    assert "modifiedBy" not in body["result"][0]


def test_rows_and_cells_as_the_api_sends_them(emulator):
    emulator.add_sheet(typed_sheet())
    sheet = emulator.sheets[1]
    sheet["rows"] += [{"id": 10, "parentId": 9, "cells": []}]
    sheet["rows"] += [{"id": 11, "parentId": 9, "cells": [{"columnId": 100, "value": 3.0}]}]
    sheet["rows"] += [{"id": 13, "parentId": 8, "cells": []}]
    _, body = call(emulator, "GET", "/sheets/1")
    first, *children = body["rows"]
    assert (first["rowNumber"], first["expanded"], first["parentId"]) == (1, True, 8)
    assert [(r["id"], r["parentId"], r.get("siblingId")) for r in children] == [
        (10, 9, None),
        (11, 9, 10),
        (13, 8, 9),
    ]
    cells = {cell["columnId"]: cell for cell in first["cells"]}
    assert cells[101]["displayValue"] == "12" and cells[106]["displayValue"] == "3"
    assert "displayValue" not in cells[102] and "displayValue" not in cells[105]
    assert children[1]["cells"][0] == {"columnId": 100, "value": 3.0}
    assert [len(r["cells"]) for r in children] == [14, 14, 14]
    _, sparse = call(emulator, "GET", "/sheets/1", exclude="nonexistentCells")
    assert [len(r["cells"]) for r in sparse["rows"][1:]] == [0, 1, 0]


def test_a_page_past_the_end_is_the_last_page(emulator, sheet_id):
    _, body = call(emulator, "GET", f"/sheets/{sheet_id}", page=7, pageSize=5)
    assert [row["rowNumber"] for row in body["rows"]] == [11, 12]
    assert body["totalRowCount"] == 12
    assert call(emulator, "GET", f"/sheets/{sheet_id}", page=0)[1]["errorCode"] == 1018
    assert call(emulator, "GET", f"/sheets/{sheet_id}", pageSize="x")[1]["errorCode"] == 1018
    unfiltered = call(emulator, "GET", f"/sheets/{sheet_id}", rowsModifiedSince="2026-01-01")
    assert unfiltered == (400, unfiltered[1]) and unfiltered[1]["errorCode"] == 1146


def test_writes_the_api_refuses(emulator, sheet_id):
    emulator.sheets[sheet_id]["columns"][6]["options"] = ["North", "South", "East", "West"]
    titles = columns_of(emulator, sheet_id)
    path = f"/sheets/{sheet_id}/rows"

    def add(title, value, **cell):
        row = {"toBottom": True, "cells": [{"columnId": titles[title], "value": value, **cell}]}
        return call(emulator, "POST", path, [row])

    assert add("Foreman", "x" * 4000)[0] == 200
    assert add("Foreman", "x" * 4001)[1]["errorCode"] == 1041
    assert add("Quantity", 9007199254740992)[0] == 200
    assert add("Quantity", 9007199254740993)[1]["errorCode"] == 1148
    assert add("Quantity", -1e300)[1]["errorCode"] == 1148
    assert add("Area", "Up")[1]["errorCode"] == 1042
    assert add("Area", "Up", strict=False)[0] == 200
    assert add("Area", "North")[0] == 200
    assert add("Units Completed?", "yes")[1]["errorCode"] == 1042
    assert add("Foreman", {"nested": 1})[1]["errorCode"] == 1038
    assert add("Foreman", None, objectValue={"objectType": "CONTACT"})[1]["errorCode"] == 1146
    many = [{"toBottom": True, "cells": []}] * 501
    assert call(emulator, "POST", path, many)[1]["errorCode"] == 1160
    mixed = [{"toBottom": True, "cells": []}, {"toTop": True, "cells": []}]
    assert call(emulator, "POST", path, mixed)[1]["errorCode"] == 1123
    assert call(emulator, "POST", path, [{"toTop": True, "toBottom": True}])[1]["errorCode"] == 1062
    assert len(emulator.sheets[sheet_id]["rows"]) == 12 + 4


def test_a_bulk_write_fails_whole_unless_partial_success(emulator, sheet_id):
    path, titles = f"/sheets/{sheet_id}/rows", columns_of(emulator, sheet_id)
    rows = [
        {"cells": [{"columnId": titles["Quantity"], "value": 5}]},
        {"cells": [{"columnId": titles["Quantity"], "value": 2**60}]},
    ]
    status, body = call(emulator, "POST", path, rows)
    assert (status, body["errorCode"], body["detail"]) == (400, 1148, {"index": 1})
    assert len(emulator.sheets[sheet_id]["rows"]) == 12
    status, body = call(emulator, "POST", path, rows, allowPartialSuccess="true")
    assert (status, body["message"], body["resultCode"]) == (200, "PARTIAL_SUCCESS", 3)
    assert [(f["index"], f["error"]["errorCode"]) for f in body["failedItems"]] == [(1, 1148)]
    assert len(body["result"]) == 1 and len(emulator.sheets[sheet_id]["rows"]) == 13
    first = emulator.sheets[sheet_id]["rows"][0]["id"]
    updates = [{"id": first, "cells": rows[0]["cells"]}, {"id": 7, "cells": rows[0]["cells"]}]
    _, body = call(emulator, "PUT", path, updates, allowPartialSuccess="True")
    assert body["failedItems"][0]["rowId"] == 7 and body["failedItems"][0]["index"] == 1


def test_refusals_use_the_documented_codes(emulator, sheet_id):
    sheet = f"/sheets/{sheet_id}"
    missing_token = requests.get(emulator.base_url + sheet, timeout=5)
    assert (missing_token.status_code, missing_token.json()["errorCode"]) == (401, 1001)
    assert call(emulator, "GET", sheet, token="nope")[1]["errorCode"] == 1002
    assert call(emulator, "GET", "/sheets/42")[1]["errorCode"] == 1006
    assert call(emulator, "GET", f"{sheet}/rows/1/columns/2/history")[0] == 404
    assert call(emulator, "POST", "/folders/7/sheets", {"name": "x"})[0] == 404
    wrong_type = requests.post(
        emulator.base_url + sheet + "/rows",
        data=b"[]",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"},
        timeout=5,
    )
    assert (wrong_type.status_code, wrong_type.json()["errorCode"]) == (415, 1124)
    new_sheet = {"name": "Audit", "columns": [{"title": "A", "type": "DATE", "primary": True}]}
    assert call(emulator, "POST", "/sheets", new_sheet)[1]["errorCode"] == 1057
    emulator.sheets[sheet_id]["accessLevel"] = "VIEWER"
    status, body = call(emulator, "POST", f"{sheet}/rows", [{"cells": []}])
    assert (status, body["errorCode"]) == (403, 1004)


def test_a_sheet_holds_20000_rows_and_500000_cells(emulator):
    sheet = billing.make_sheet(rows=0, extra_columns=7)
    sheet["rows"] = [{"id": n, "cells": []} for n in range(1, 19_999)]
    sheet_id = emulator.add_sheet(sheet)
    path, rows = f"/sheets/{sheet_id}/rows", [{"cells": []}] * 3
    assert call(emulator, "POST", path, rows)[1]["errorCode"] == 1061
    assert call(emulator, "POST", path, rows[:2])[0] == 200
    column = {"title": "One more", "type": "TEXT_NUMBER", "index": 0}
    status, body = call(emulator, "POST", f"/sheets/{sheet_id}/columns", [column])
    assert (status, body["errorCode"]) == (400, 1061) and "cells" in body["message"]


def test_rate_limits_per_token_without_retry_after(emulator, sheet_id):
    """300 requests a minute per token; cell history and file uploads cost 10 each and
    have their own 30 a minute. The clock is the emulator's: nothing waits."""
    now = [0.0]
    emulator.clock = lambda: now[0]
    emulator.tokens["lee-token"] = "lee@example.com"
    row, column = emulator.sheets[sheet_id]["rows"][0]["id"], columns_of(emulator, sheet_id)["CU"]
    history = f"/sheets/{sheet_id}/rows/{row}/columns/{column}/history"
    assert [call(emulator, "GET", history)[0] for _ in range(31)] == [200] * 30 + [429]
    _, refused = call(emulator, "GET", history)
    assert (refused["errorCode"], refused["message"]) == (4003, "Rate limit exceeded.")
    assert call(emulator, "GET", f"/sheets/{sheet_id}/version")[0] == 429, "300 used"
    assert call(emulator, "GET", history, token="lee-token")[0] == 200
    now[0] = 60.0
    assert call(emulator, "GET", f"/sheets/{sheet_id}/version")[0] == 200
    emulator.requests_per_minute, now[0] = 3, 120.0
    answers = [call(emulator, "GET", f"/sheets/{sheet_id}/version")[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_file_uploads_have_their_own_rate_limit(client, emulator, sheet_id):
    emulator.attachments_per_minute = 2
    report = ("report.xlsx", io.BytesIO(b"PK"), "application/vnd.ms-excel")
    for _ in range(2):
        client.Attachments.attach_file_to_sheet(sheet_id, report)
    with pytest.raises(ApiError, match="4003"):
        client.Attachments.attach_file_to_sheet(sheet_id, report)
    link = {"attachmentType": "LINK", "url": "https://example.com", "name": "Docs"}
    status, body = call(emulator, "POST", f"/sheets/{sheet_id}/attachments", link)
    assert status == 200 and body["result"]["attachmentType"] == "LINK"
    file_as_json = {"attachmentType": "FILE", "name": "x"}
    assert (
        call(emulator, "POST", f"/sheets/{sheet_id}/attachments", file_as_json)[1]["errorCode"]
        == 1051
    )
