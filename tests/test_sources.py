import datetime as dt
from pathlib import Path

import openpyxl
import orjson
import pytest

from auditor.errors import SourceError, UsageError
from auditor.snapshot import canonical
from auditor.sources.files import read_file
from auditor.sources.smartsheet_rows import sheet_from_api
from demo.billing import make_sheet
from tests.helpers import TYPED_ROW, typed_sheet, write_csv

HEADER = ["Work Request #", "CU", "Quantity", "Units Total Price", "Weekly Reference Logged Date"]
MONEY = ("Units Total Price",)


def test_csv_rows_are_keyed_and_normalized(tmp_path):
    path = write_csv(
        tmp_path / "billing.csv",
        HEADER,
        [["WR-1", "XA-8", "2", "$425.50", "2026-11-20"], ["WR-2", "XA-8", "1", "212.75", ""]],
    )
    sheet = read_file(path, key_columns=["Work Request #", "CU"], money_columns=MONEY)
    assert sheet.sheet_id == "billing"
    assert sheet.rows['["WR-1","XA-8"]'].cells == {
        "Work Request #": "WR-1",
        "CU": "XA-8",
        "Quantity": 2,
        "Units Total Price": 425.5,
        "Weekly Reference Logged Date": "2026-11-20",
    }
    assert "Weekly Reference Logged Date" not in sheet.rows['["WR-2","XA-8"]'].cells


def test_xlsx_and_csv_of_the_same_data_snapshot_to_the_same_rows(tmp_path):
    rows = [["WR-1", "XA-8", 2, 425.5, dt.date(2026, 11, 20)], ["WR-2", "GW-1", 1, 385.2, None]]
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active.append(["not the data"])
    data = book.create_sheet("Billing")
    data.append(HEADER)
    for row in rows:
        data.append(row)
    book.save(tmp_path / "billing.xlsx")
    write_csv(
        tmp_path / "billing.csv",
        HEADER,
        [[r[0], r[1], r[2], f"${r[3]:,.2f}", r[4].isoformat() if r[4] else ""] for r in rows],
    )
    key = ["Work Request #"]
    from_xlsx = read_file(
        tmp_path / "billing.xlsx", key_columns=key, worksheet="Billing", money_columns=MONEY
    )
    from_csv = read_file(tmp_path / "billing.csv", key_columns=key, money_columns=MONEY)
    assert canonical.rows_json(from_xlsx.rows) == canonical.rows_json(from_csv.rows)
    with pytest.raises(UsageError, match="no worksheet 'Nope'; it has Cover, Billing"):
        read_file(tmp_path / "billing.xlsx", key_columns=key, worksheet="Nope")


def test_missing_key_column_names_it_and_the_columns(tmp_path):
    path = write_csv(tmp_path / "b.csv", ["A", "B"], [["1", "2"]])
    with pytest.raises(SourceError, match="key column 'WR' not found; columns are 'A', 'B'"):
        read_file(path, key_columns=["WR"])


def test_empty_key_names_the_rows(tmp_path):
    path = write_csv(tmp_path / "b.csv", ["WR", "Q"], [["W1", "1"], ["", "2"], ["W3", "3"]])
    with pytest.raises(SourceError, match=r"empty key \(WR\) in row\(s\) 3"):
        read_file(path, key_columns=["WR"])


def test_duplicate_key_names_the_key_and_both_rows(tmp_path):
    path = write_csv(tmp_path / "b.csv", ["WR", "Q"], [["W1", "1"], ["W2", "2"], ["W1", "3"]])
    with pytest.raises(SourceError, match=r"duplicate key 'W1' \(WR\) in rows 2, 4"):
        read_file(path, key_columns=["WR"])


def test_a_file_needs_a_key_and_a_known_type(tmp_path):
    path = write_csv(tmp_path / "b.csv", ["WR"], [["W1"]])
    with pytest.raises(UsageError, match="--key is required"):
        read_file(path)
    with pytest.raises(UsageError, match="unsupported file type"):
        read_file(tmp_path / "b.txt", key_columns=["WR"])
    with pytest.raises(SourceError, match="cannot read"):
        read_file(tmp_path / "missing.csv", key_columns=["WR"])


def test_saved_smartsheet_response_is_keyed_by_row_id(tmp_path):
    data = make_sheet(rows=5)
    path = tmp_path / "billing.json"
    path.write_bytes(orjson.dumps(data))
    sheet = read_file(path, money_columns=MONEY)
    first = data["rows"][0]
    row = sheet.rows[str(first["id"])]
    assert row.id == first["id"]
    assert row.modified_by == "billing@example.com"
    assert set(sheet.rows) == {str(r["id"]) for r in data["rows"]}
    assert sheet.columns[0].id == data["columns"][0]["id"]


DOCS = Path(__file__).parent / "data" / "smartsheet_docs"


def test_the_official_example_sheet_is_a_page_and_its_columns_deserialize():
    example = orjson.loads((DOCS / "get_sheet.json").read_bytes())
    with pytest.raises(SourceError, match="holds 0 of the sheet's 240 rows"):
        sheet_from_api(example)
    del example["totalRowCount"]
    sheet = sheet_from_api(example)
    assert sheet.name == "sheet 1"
    assert [c.type for c in sheet.columns] == ["TEXT_NUMBER", "MULTI_PICKLIST"]


def test_every_column_type_normalizes_as_the_contract_says():
    sheet = sheet_from_api(typed_sheet(), money_columns=["Price"])
    assert sheet.rows["9"] == TYPED_ROW
