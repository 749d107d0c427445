"""Table rows streamed into the workbook: read back with openpyxl and from the raw XML."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook

from auditor.errors import UsageError
from auditor.outputs.xlsx_rows import DATE, DATETIME, MAX_TEXT, body, check_openpyxl, save

MONEY = '"$"#,##0.00'


def written(path: Path, rows: list[tuple], formats: list[str | None] | None = None) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Table")
    sheet.append(["A", "B", "C"])
    save(book, [body(sheet, rows, formats or [])], path)
    return path


def read(path: Path) -> list[list[openpyxl.cell.Cell]]:
    return [list(row) for row in openpyxl.load_workbook(path)["Table"].iter_rows(min_row=2)]


def test_text_stays_text(tmp_path):
    texts = ["=1+1", '=HYPERLINK("http://x","y")', "+A1", "-5", "@SUM(A1)", "a<b&c>", " pad "]
    cells = read(written(tmp_path / "t.xlsx", [(text,) for text in texts]))
    assert [row[0].value for row in cells] == texts
    assert all(row[0].data_type == "s" for row in cells)
    assert [row[0].quotePrefix for row in cells] == [True] * 5 + [False] * 2


def test_characters_xml_cannot_carry_are_escaped_the_excel_way(tmp_path):
    """Excel and LibreOffice decode `_xHHHH_` back to the character (checked by hand with
    `soffice --convert-to csv`); openpyxl's reader leaves the escape as it is."""
    path = written(
        tmp_path / "t.xlsx", [("bell\x07",), ("literal _x0041_",), ("\t\n",), ("a\r\nb",)]
    )
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "bell_x0007_" in xml and "literal _x005F_x0041_" in xml
    assert '<t xml:space="preserve">\t\n</t>' in xml
    assert [row[0].value for row in read(path)] == [
        "bell_x0007_",
        "literal _x005F_x0041_",
        "\t\n",
        "a_x000D_\nb",
    ]


def test_numbers_dates_and_formats(tmp_path):
    eastern = dt.timezone(dt.timedelta(hours=-5))
    rows = [
        (Decimal("1234.50"), 7, dt.date(2026, 11, 13)),
        (2.5, True, dt.datetime(2026, 11, 16, 4, 30, tzinfo=eastern)),
        (float("nan"), Decimal("Infinity"), None),
    ]
    path = written(tmp_path / "t.xlsx", rows, [MONEY])
    cells = read(path)
    assert cells[0][0].value == pytest.approx(1234.5) and cells[0][0].number_format == MONEY
    assert cells[0][1].value == 7 and cells[0][1].number_format == "General"
    assert cells[0][2].value == dt.datetime(2026, 11, 13) and cells[0][2].number_format == DATE
    assert cells[1][1].value == "Yes"  # a checkbox as it reads, in both programs
    assert cells[1][2].value == dt.datetime(2026, 11, 16, 9, 30)
    assert cells[1][2].number_format == DATETIME
    assert [cells[2][0].value, cells[2][1].value] == ["nan", "Infinity"]
    assert cells[2][0].data_type == "s"
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert 'r="B4"' in xml and 'r="C4"' not in xml


def test_text_over_excels_limit_is_cut(tmp_path):
    cells = read(written(tmp_path / "t.xlsx", [("x" * (MAX_TEXT + 10), ["a", "b"])]))
    assert len(cells[0][0].value) == MAX_TEXT
    assert cells[0][1].value == '["a","b"]'


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("disk full")


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = written(tmp_path / "t.xlsx", [("old",)])
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"):
        written(path, [("new",)] * 5000 + [(Unprintable(),)])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


def test_escaped_text_is_cut_at_excels_limit_between_escapes(tmp_path):
    rows = [("\x1f" * 6000,), ("ab" + "\x07" * 6000,)]
    cells = read(written(tmp_path / "t.xlsx", rows))
    assert [len(row[0].value) for row in cells] == [MAX_TEXT, 2 + 7 * ((MAX_TEXT - 2) // 7)]
    assert all(row[0].value.endswith("_") for row in cells)


def test_an_openpyxl_it_was_not_tested_with_is_refused_clearly():
    check_openpyxl("3.1.5")
    with pytest.raises(UsageError, match=r"openpyxl 3.2.0 is installed, .* 'openpyxl>=3.1,<3.2'"):
        check_openpyxl("3.2.0")


def test_integers_excel_would_round_are_text(tmp_path):
    cells = read(written(tmp_path / "t.xlsx", [(12345678901234567, 2**53 - 1)]))
    assert cells[0][0].value == "12345678901234567" and cells[0][0].data_type == "s"
    assert cells[0][1].value == 2**53 - 1
