"""The Excel report, read back: sheets, headers, values, formats, fills, charts, safe text."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from dataclasses import replace
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from auditor.audit.settings import load_settings
from auditor.commands.report import build_report, make_report, trend
from auditor.config import Config
from auditor.outputs.excel import write_report
from auditor.outputs.markdown import diff_markdown
from auditor.snapshot.model import Column, Sheet
from demo.billing import COLUMNS
from tests.helpers import as_rows, git, snapshot_at
from tests.test_rules import line

SHEETS = [
    "Summary",
    "Changes",
    "Rows added",
    "Rows removed",
    "Schema changes",
    "Violations",
    "Billed weeks",
    "Billed by work request",
    "Trend",
    "Guide",
]


def billing(rows: dict, renamed: bool = False) -> Sheet:
    titles = [title for title, _ in COLUMNS]
    if renamed:
        titles[0] = "Crew lead"
    columns = [Column(title, n, id=n + 1) for n, title in enumerate(titles)]
    if renamed:
        rows = {
            k: {("Crew lead" if c == "Foreman" else c): v for c, v in r.items()}
            for k, r in rows.items()
        }
    return Sheet("s", "Billing =2026", columns, as_rows(rows))


@pytest.fixture
def pair(store):
    settings = load_settings(Config())

    def take(sheet: Sheet, when: str) -> None:
        snapshot_at(store, [sheet], when, settings)

    take(billing({"1": line(1), "2": line(2), "3": line(3)}), "2026-11-14T12:00:00+00:00")
    take(
        billing(
            {
                "1": line(
                    1,
                    Quantity=3,
                    **{"Units Total Price": 638.25},
                    _modified_by="kim@example.com",
                    _modified_at="2026-11-16T09:30:00Z",
                ),
                "2": line(2),
                "4": line(4, Foreman="=1+1", **{"CU Description": '=HYPERLINK("http://x","y")'}),
            },
            renamed=True,
        ),
        "2026-11-16T12:00:00+00:00",
    )
    return settings


def test_the_workbook_reads_back(store, pair, tmp_path):
    result = make_report(store, pair, out=tmp_path)
    assert result.path.name.startswith("audit-") and result.path.suffix == ".xlsx"
    book = openpyxl.load_workbook(result.path)
    assert book.sheetnames == SHEETS

    changes = book["Changes"]
    header = [cell.value for cell in changes[1]]
    # The billing line first.
    assert header[:6] == ["Work request", "Week ending", "CU", "Pole", "Change", "Column"]
    assert changes.freeze_panes == "A2" and changes.auto_filter.ref.startswith("A1:")
    rows = [dict(zip(header, row, strict=False)) for row in changes.iter_rows(min_row=2)]
    by_kind = {(row["Change"].value, row["Column"].value): row for row in rows}
    price = by_kind["cell changed", "Units Total Price"]
    for name in ("Old", "New", "Difference", "Money moved"):
        assert price[name].number_format.startswith('"$"'), name
    assert price["Money moved"].value == pytest.approx(212.75)
    assert price["Old"].value == pytest.approx(425.5) and price["New"].value == 638.25
    # $212.75 moved in a closed week: medium money, one step up; the quantity cell beside it
    # is rated by the same money, on Changes and on Violations.
    assert price["Severity"].value == "high"
    assert by_kind["cell changed", "Quantity"]["Severity"].value == "high"
    assert by_kind["cell changed", "Quantity"]["Old"].number_format == "General"
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for area in changes.conditional_formatting
        for rule in area.rules
    }
    severity = get_column_letter(header.index("Severity") + 1)
    assert rules[f'${severity}2="medium"'].endswith("FFEB9C")
    assert rules[f'${severity}2="high"'].endswith("FFC7CE")
    assert price["Week ending"].value == dt.datetime(2026, 11, 13)
    assert price["Week ending"].number_format == "yyyy-mm-dd"
    assert price["Week closed"].value == "Yes"
    assert price["Changed by"].value == "kim@example.com"
    assert price["Changed at (UTC)"].value == dt.datetime(2026, 11, 16, 9, 30)
    assert by_kind["column renamed", "Crew lead"]["Old"].value == "Foreman"
    removed = by_kind["row removed", None]
    assert removed["Old"].value.startswith("WR-") and "$425.50" in removed["Old"].value
    assert removed["Changed at (UTC)"].value == (
        "deleted between 2026-11-14 12:00 and 2026-11-16 12:00 UTC"
    )

    added = book["Rows added"]
    titles = [cell.value for cell in added[1]]
    assert titles[:6] == [
        "Work Request #",
        "Weekly Reference Logged Date",
        "CU",
        "Pole #",
        "Quantity",
        "Units Total Price",
    ]
    row = {titles[n]: cell for n, cell in enumerate(next(added.iter_rows(min_row=2)))}
    assert row["Crew lead"].value == "=1+1" and row["Crew lead"].data_type == "s"
    assert row["CU Description"].value == '=HYPERLINK("http://x","y")'
    assert row["CU Description"].data_type == "s"
    assert row["Units Total Price"].number_format.startswith('"$"')
    assert isinstance(row["Weekly Reference Logged Date"].value, dt.datetime)

    violations = book["Violations"]
    named = [cell.value for cell in violations[1]]
    assert named[:2] == ["Work request", "Week ending"]
    listed = [dict(zip(named, r, strict=False)) for r in violations.iter_rows(min_row=2)]
    keys = {(r["Status"].value, r["Rule"].value, r["Row key"].value) for r in listed}
    assert ("new", "closed-period-edit", "1") in keys
    assert ("new", "closed-period-edit", "3") in keys
    edit = next(r for r in listed if r["Column"].value == "Units Total Price")
    assert edit["Billed"].value == 425.5 and edit["Now"].value == 638.25
    assert edit["Difference"].value == pytest.approx(212.75)
    for name in ("Billed", "Now", "Difference"):
        assert edit[name].number_format.startswith('"$"'), name
    assert edit["Action"].value.startswith("credit or re-bill the difference")
    assert edit["Week ending"].value == dt.datetime(2026, 11, 13)
    # One severity per finding across the sheets.
    rated = {(r["Row key"].value, r["Column"].value): r["Severity"].value for r in listed}
    for row in rows:
        place = (row["Row key"].value, row["Column"].value)
        if place in rated:
            assert row["Severity"].value == rated[place], place

    summary = {r[0].value: r[1].value for r in book["Summary"].iter_rows() if r and r[0].value}
    assert summary["Rows added"] == 1 and summary["Rows removed"] == 1
    assert summary["Money moved, net"] == pytest.approx(212.75 + 425.5 - 425.5)
    assert summary["Money moved in closed weeks, gross"] == pytest.approx(212.75 + 425.5 * 2)
    assert book["Summary"]["A4"].value.startswith("Sheet Billing =2026")
    assert book["Summary"]["A4"].data_type == "s"
    assert book["Summary"]["A6"].value.startswith("$1,063.75 moved in closed weeks (net $212.75)")

    trend_rows = list(book["Trend"].iter_rows(min_row=2, values_only=True))
    assert [r[2] for r in trend_rows] == [3, 3]
    assert trend_rows[1][3] == pytest.approx(425.5 * 2 + 638.25)
    with zipfile.ZipFile(result.path) as archive:
        charts = [
            archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")
        ]
    # Money from zero, no flat row count.
    assert len(charts) == 3  # two on Trend, one on Billed weeks
    line_chart = next(c for c in charts if "<lineChart>" in c)
    assert '<c:min val="0"' in line_chart or '<min val="0"' in line_chart
    assert "Guide" in book.sheetnames and book["Guide"]["A1"].value == "Summary"


def test_a_violation_of_a_row_the_pair_did_not_change_has_its_billing_line(store, tmp_path):
    (tmp_path / "rates.csv").write_text("CU,unit_price\nXA-8,$212.75\n")
    settings = load_settings(Config(rate_table="rates.csv"), tmp_path)
    rows = {"1": line(1), "2": line(2, **{"Units Total Price": 428.0})}
    for when, quantity in (("2026-11-14T12:00:00+00:00", 2), ("2026-11-16T12:00:00+00:00", 5)):
        rows["1"] = line(1, Quantity=quantity, **{"Units Total Price": 212.75 * quantity})
        snapshot_at(store, [billing(rows)], when, settings)
    path = make_report(store, settings, out=tmp_path).path
    sheet = openpyxl.load_workbook(path)["Violations"]
    named = [cell.value for cell in sheet[1]]
    listed = [dict(zip(named, r, strict=False)) for r in sheet.iter_rows(min_row=2)]
    mismatch = next(r for r in listed if r["Rule"].value == "price-mismatch")
    assert (mismatch["Status"].value, mismatch["Row key"].value) == ("ongoing", "2")
    assert mismatch["Work request"].value == "WR-2"
    assert mismatch["Week ending"].value == dt.datetime(2026, 11, 13)
    # Now minus billed, as the message says: $428.00 is $2.50 over 2 x $212.75.
    assert (mismatch["Billed"].value, mismatch["Now"].value) == (425.5, 428.0)
    assert mismatch["Difference"].value == pytest.approx(2.5)
    assert "by $2.50" in mismatch["Message"].value
    # The markdown (the run's step summary) names its work request too.
    report = build_report(store, settings)
    text = diff_markdown(
        report.diff,
        violations=report.violations,
        events=report.events,
        violated_rows=report.violated_rows,
    )
    assert "| ongoing | medium | price-mismatch | WR-2 | 2 |" in text


def test_the_layout_reads_in_both_spreadsheet_programs(store, pair, tmp_path):
    """Row heights on the Guide, no text longer than its cell shows without wrapping, and
    an empty table that says so."""
    book = openpyxl.load_workbook(make_report(store, pair, out=tmp_path).path)
    guide = book["Guide"]
    width = guide.column_dimensions["B"].width
    for row in guide.iter_rows():
        lines = math.ceil(len(row[1].value) / width)
        height = guide.row_dimensions[row[0].row].height
        assert height is not None and height >= 15 * lines, row[0].value
    for name in ("Changes", "Rows added", "Rows removed", "Violations", "Trend"):
        sheet = book[name]
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    shown = sheet.column_dimensions[cell.column_letter].width
                    assert len(cell.value) <= shown, (name, cell.coordinate, cell.value)
        for cell in sheet[1]:
            shown = sheet.column_dimensions[cell.column_letter].width
            assert max(map(len, cell.value.split())) <= shown and len(cell.value) <= 2 * shown


def test_an_empty_table_says_none_in_this_pair(store, tmp_path):
    settings = load_settings(Config(), tmp_path)
    rows = {"1": line(1), "2": line(2)}
    for when, now in (
        ("2026-11-14T12:00:00+00:00", rows),
        ("2026-11-14T13:00:00+00:00", {**rows, "1": line(1, Quantity=3)}),
    ):
        snapshot_at(store, [billing(now)], when, settings)
    book = openpyxl.load_workbook(make_report(store, settings, out=tmp_path).path)
    for name in ("Rows added", "Rows removed", "Schema changes"):
        assert book[name]["A2"].value == "None in this pair", name


def guide_and_summary(path) -> tuple[dict[str, str], dict[str, str]]:
    book = openpyxl.load_workbook(path)
    guide = {row[0].value: row[1].value for row in book["Guide"].iter_rows()}
    meanings = {r[0].value: r[2].value for r in book["Summary"].iter_rows() if len(r) > 2}
    return guide, meanings


def test_the_guide_speaks_of_the_configured_columns(store, pair, tmp_path):
    guide, meanings = guide_and_summary(make_report(store, pair, out=tmp_path).path)
    assert "money moved counts the money column (Units Total Price) only" in guide["Changes"]
    # The rules' own text (RULES[...].describe), in the configuration's terms.
    assert guide["Rule: missing-required"].startswith(
        "Holds when Work Request # or Weekly Reference Logged Date is empty."
    )
    assert "Action: fill in the cell on the sheet." in guide["Rule: missing-required"]
    assert guide["Rule: negative-amount"].startswith(
        "Holds when Quantity or Units Total Price below zero."
    )
    assert "a $0 edit of a closed week is medium" in guide["Severity"]
    assert "(covered by waivers.csv)" in guide["Violations"]
    assert "(waivers.csv)" in meanings["Violations waived, high"]

    config = replace(
        Config(),
        money_columns=("Labor", "Units Total Price"),
        amount_columns=("Quantity", "Units Total Price", "Labor"),
        required_columns=("Job #", "Weekly Reference Logged Date"),
        waivers="approved-waivers.csv",
    )
    report = build_report(store, load_settings(config, tmp_path))
    guide, meanings = guide_and_summary(write_report(tmp_path / "other.xlsx", report))
    changes = guide["Changes"]
    rules = "\n".join(text for name, text in guide.items() if name.startswith("Rule: "))
    assert "counts the money columns (Labor, Units Total Price) only" in changes
    assert "Holds when Job # or Weekly Reference Logged Date is empty." in rules
    assert "Holds when Quantity, Units Total Price or Labor below zero." in rules
    assert "Work Request #" not in rules
    assert "(covered by approved-waivers.csv)" in guide["Violations"]
    assert "(approved-waivers.csv)" in meanings["Violations waived, low"]


def test_no_change_writes_nothing_unless_forced(store, pair, tmp_path):
    out = tmp_path / "reports"
    assert make_report(store, pair, "HEAD", "HEAD", out=out).path is None
    assert not out.exists()
    forced = make_report(store, pair, "HEAD", "HEAD", force=True, out=out)
    assert forced.path.exists()


def test_trend_reads_trailers_and_summaries(store, pair):
    points = trend(store, "HEAD", 10, ("Units Total Price",))
    assert [p.rows for p in points] == [3, 3]
    assert points[0].billed == Decimal("425.5") * 2 + Decimal("638.25")
    assert points[0].open_violations == 4


def test_the_report_command(repo, cli, pair):
    result = cli("report", "--from", "HEAD~1", "--to", "HEAD", "--out", "out")
    assert result.returncode == 0, result.stderr
    assert "written to out/audit-" in result.stdout
    assert cli("report", "--from", "HEAD", "--to", "HEAD").stdout.startswith("no change in")
    forced = cli("report", "--from", "HEAD", "--to", "HEAD", "--force", "--no-publish")
    assert forced.returncode == 0 and "written to reports/audit-" in forced.stdout
    assert git(repo, "status", "--porcelain", "--", "notes.txt") == "M  notes.txt"
