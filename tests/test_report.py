"""The Excel report, read back: sheets, headers, values, formats, fills, charts, safe text."""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import replace
from decimal import Decimal

import openpyxl
import pytest

from auditor.audit.settings import load_settings
from auditor.commands.report import build_report, make_report, trend
from auditor.commands.snapshot import take_snapshot
from auditor.config import Config
from auditor.outputs.excel import write_report
from auditor.snapshot.model import Column, Sheet
from demo.billing import COLUMNS
from tests.helpers import AUTHOR, as_rows, git
from tests.test_rules import line

SHEETS = [
    "Summary",
    "Changes",
    "Rows added",
    "Rows removed",
    "Schema changes",
    "Violations",
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
        take_snapshot(
            store,
            [sheet],
            author=AUTHOR,
            fetched_at=dt.datetime.fromisoformat(when),
            money_columns=("Units Total Price",),
            settings=settings,
        )

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
    assert header[:10] == [
        "Sheet",
        "Row key",
        "Work request",
        "Change",
        "Column",
        "Old",
        "New",
        "Delta",
        "Money impact (USD)",
        "Severity",
    ]
    assert header[11:] == ["Changed by", "Changed at (UTC)", "Attribution"]
    assert changes.freeze_panes == "A2" and changes.auto_filter.ref.startswith("A1:N")
    by_kind = {(row[3].value, row[4].value): row for row in changes.iter_rows(min_row=2)}
    price = by_kind["cell changed", "Units Total Price"]
    assert price[8].value == pytest.approx(212.75) and price[8].number_format.startswith('"$"')
    assert price[9].value == "medium"
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for area in changes.conditional_formatting
        for rule in area.rules
    }
    assert rules['AND($J2="medium",$I2<>0)'].endswith("FFEB9C")
    assert rules['AND($J2="high",$I2<>0)'].endswith("FFC7CE")
    assert price[10].value == dt.datetime(2026, 11, 13) and price[10].number_format == "yyyy-mm-dd"
    assert price[11].value == "kim@example.com"
    assert price[12].value == dt.datetime(2026, 11, 16, 9, 30)
    assert by_kind["column renamed", "Crew lead"][5].value == "Foreman"

    added = book["Rows added"]
    titles = [cell.value for cell in added[1]]
    row = {titles[n]: cell for n, cell in enumerate(next(added.iter_rows(min_row=2)))}
    assert row["Crew lead"].value == "=1+1" and row["Crew lead"].data_type == "s"
    assert row["CU Description"].value == '=HYPERLINK("http://x","y")'
    assert row["CU Description"].data_type == "s"

    violations = book["Violations"]
    listed = {(r[1].value, r[3].value, r[4].value) for r in violations.iter_rows(min_row=2)}
    assert ("new", "closed-period-edit", "1") in listed
    assert ("new", "closed-period-edit", "3") in listed

    summary = {r[0].value: r[1].value for r in book["Summary"].iter_rows() if r and r[0].value}
    assert summary["Rows added"] == 1 and summary["Rows removed"] == 1
    assert summary["Net money impact (USD)"] == pytest.approx(212.75 + 425.5 - 425.5)
    assert book["Summary"]["A4"].value.startswith("Sheet Billing =2026")
    assert book["Summary"]["A4"].data_type == "s"

    trend_rows = list(book["Trend"].iter_rows(min_row=2, values_only=True))
    assert [r[2] for r in trend_rows] == [3, 3]
    assert trend_rows[1][3] == pytest.approx(425.5 * 2 + 638.25)
    with zipfile.ZipFile(result.path) as archive:
        charts = [
            archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")
        ]
    assert len(charts) == 3
    assert (
        sum("<lineChart>" in c for c in charts) == 2 and sum("<barChart>" in c for c in charts) == 1
    )
    assert "Guide" in book.sheetnames and book["Guide"]["A1"].value == "Summary"


def guide_and_summary(path) -> tuple[dict[str, str], dict[str, str]]:
    book = openpyxl.load_workbook(path)
    guide = {row[0].value: row[1].value for row in book["Guide"].iter_rows()}
    meanings = {r[0].value: r[2].value for r in book["Summary"].iter_rows() if len(r) > 2}
    return guide, meanings


def test_the_guide_speaks_of_the_configured_columns(store, pair, tmp_path):
    guide, meanings = guide_and_summary(make_report(store, pair, out=tmp_path).path)
    assert "money impact counts the money column (Units Total Price) only" in guide["Changes"]
    assert "missing-required: Work Request # or the week-ending date is empty" in guide["Rules"]
    assert "negative-amount: a quantity or price below zero" in guide["Rules"]
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
    changes, rules = guide["Changes"], guide["Rules"]
    assert "counts the money columns (Labor, Units Total Price) only" in changes
    assert "missing-required: Job # or the week-ending date is empty" in rules
    assert "negative-amount: a quantity, price or Labor below zero" in rules
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
