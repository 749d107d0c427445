"""A table declared as columns: its header, widths, filter, colouring and charts follow the
declaration, read back from the written workbook."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart

from auditor.outputs.xlsx_rows import save
from auditor.outputs.xlsx_tables import Chart, Colouring, Column, Table, write_table

MONEY = '"$"#,##0.00'


@dataclass(frozen=True)
class Item:
    label: str
    severity: str
    day: dt.date
    amount: Decimal


# The severity and money columns on the left, unlike any table of the report.
ITEMS = Table(
    "Items",
    [
        Column("Amount", 15, "amount", MONEY),
        Column("Severity", 9, "severity"),
        Column("Label", 30, lambda item: item.label.title()),
        Column("Day", 12, "day"),
    ],
    colouring=Colouring(severity="Severity"),
    categories="Day",
    charts=[
        Chart(LineChart, "Amounts", ("Amount",), axis="USD"),
        Chart(BarChart, "Again", ("Amount",)),
    ],
)
LINES = [
    Item("one", "high", dt.date(2026, 11, 13), Decimal("1500")),
    Item("two", "low", dt.date(2026, 11, 20), Decimal("-2.5")),
    Item("three", "medium", dt.date(2026, 11, 27), Decimal("0")),
]


def written(path: Path, table: Table, lines: list[Item]) -> Path:
    book = Workbook(write_only=True)
    save(book, [write_table(book, table, lines)], path)
    return path


def parts(path: Path, prefix: str) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if n.startswith(prefix))
        return [archive.read(name).decode() for name in names]


def test_everything_follows_the_declared_columns(tmp_path):
    path = written(tmp_path / "t.xlsx", ITEMS, LINES)
    sheet = openpyxl.load_workbook(path)["Items"]
    assert [cell.value for cell in sheet[1]] == ["Amount", "Severity", "Label", "Day"]
    widths = [sheet.column_dimensions[letter].width for letter in "ABCD"]
    # At least the declared width, wider where the header or a value needs it.
    assert widths == [15, 13, 30, 15]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D4"
    first = next(sheet.iter_rows(min_row=2))
    assert first[0].value == 1500 and first[0].number_format == MONEY
    assert first[2].value == "One" and first[3].value == dt.datetime(2026, 11, 13)
    rules = {
        (str(area.sqref), rule.formula[0])
        for area in sheet.conditional_formatting
        for rule in area.rules
    }
    assert rules == {("A2:D4", f'$B2="{severity}"') for severity in ("high", "medium", "low")}

    charts = parts(path, "xl/charts/chart")
    assert len(charts) == 2 and "<lineChart>" in charts[0] and "<barChart>" in charts[1]
    for chart in charts:
        assert "<f>'Items'!A1</f>" in chart and "<f>'Items'!$A$2:$A$4</f>" in chart
        assert "<f>'Items'!$D$2:$D$4</f>" in chart  # the categories: the Day column
    (drawing,) = parts(path, "xl/drawings/drawing")
    anchors = re.findall(r"<from><col>(\d+)</col><colOff>0</colOff><row>(\d+)</row>", drawing)
    assert anchors == [("5", "1"), ("5", "18")]  # F2 and F19: one blank column right of the table


def test_an_empty_table_has_its_header_and_says_so(tmp_path):
    path = written(tmp_path / "t.xlsx", ITEMS, [])
    sheet = openpyxl.load_workbook(path)["Items"]
    assert [cell.value for cell in sheet[1]] == ["Amount", "Severity", "Label", "Day"]
    assert sheet.auto_filter.ref is None and sheet.max_row == 2
    assert sheet["A2"].value == "None in this pair"
    assert not list(sheet.conditional_formatting) and not parts(path, "xl/charts/")


def test_a_table_unfiltered_and_a_column_it_lacks(tmp_path):
    unfiltered = Table("Items", ITEMS.columns, filtered=False)
    sheet = openpyxl.load_workbook(written(tmp_path / "t.xlsx", unfiltered, LINES))["Items"]
    assert sheet.auto_filter.ref is None and not list(sheet.conditional_formatting)
    assert ITEMS.letter("Day") == "D"
    with pytest.raises(KeyError, match="Items has no column 'Week'"):
        ITEMS.letter("Week")
