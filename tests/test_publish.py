"""Publishing audit rows to the emulator's audit sheet: exactly once, whatever fails."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import replace

import pytest

from auditor.audit.settings import load_settings
from auditor.commands.report import build_report, publish_report
from auditor.commands.snapshot import take_snapshot
from auditor.config import Config
from auditor.outputs import audit_sheet
from auditor.outputs.audit_sheet import AUDIT_ID, COLUMNS, audit_rows
from auditor.snapshot.model import Column, Sheet
from demo.billing import COLUMNS as BILLING_COLUMNS
from emulator.server import PALETTE
from tests.conftest import TOKEN
from tests.helpers import as_rows
from tests.test_rules import line

AUDIT_SHEET = 77
WEEK_OPEN = "2026-11-20"


def billing(rows: dict) -> Sheet:
    columns = [Column(title, n, id=n + 1) for n, (title, _) in enumerate(BILLING_COLUMNS)]
    return Sheet("s", "Billing 2026", columns, as_rows(rows))


def snap(store, rows: dict, when: str) -> str:
    result = take_snapshot(
        store,
        [billing(rows)],
        author=("auditor", "auditor@example.com"),
        fetched_at=dt.datetime.fromisoformat(when),
        money_columns=("Units Total Price",),
        settings=load_settings(Config()),
    )
    return result.commit


def pair(store, count: int) -> None:
    """Two snapshots where `count` quantities changed in an open week (no violations)."""
    before = {str(n): line(n, **{"Weekly Reference Logged Date": WEEK_OPEN}) for n in range(count)}
    after = {key: {**row, "Quantity": 3} for key, row in before.items()}
    after["0"]["Foreman"] = '=HYPERLINK("http://x","y")'
    after["1"]["Units Total Price"] = 5000
    snap(store, before, "2026-11-21T08:00:00+00:00")
    snap(store, after, "2026-11-21T10:00:00+00:00")


@pytest.fixture(params=["http", "https"])
def scheme(request: pytest.FixtureRequest) -> str:
    """Every publishing test with the emulator runs over TLS too: a transport's own retries
    can hide there, as the SDK's session's did, on https only."""
    return request.param


@pytest.fixture
def audit(emulator):
    sheet = {
        "id": AUDIT_SHEET,
        "name": "Billing audit",
        "columns": [{"id": 1, "index": 0, "title": "Note", "type": "TEXT_NUMBER", "primary": True}],
        "rows": [],
    }
    emulator.add_sheet(sheet)
    return sheet


def report(cli, api_env, *args):
    return cli("report", *args, env={**api_env, "AUDIT_SHEET_ID": str(AUDIT_SHEET)})


def ids(sheet) -> list[str]:
    column = next(c["id"] for c in sheet["columns"] if c["title"] == AUDIT_ID)
    return [c["value"] for row in sheet["rows"] for c in row["cells"] if c["columnId"] == column]


def cells(sheet, row) -> dict:
    titles = {c["id"]: c["title"] for c in sheet["columns"]}
    return {titles[c["columnId"]]: c.get("value") for c in row["cells"]}


def test_rows_columns_colours_and_attachment(repo, store, cli, api_env, emulator, audit):
    pair(store, 3)
    result = report(cli, api_env)
    assert result.returncode == 0, result.stderr
    assert "5 rows posted, 0 already there" in result.stdout
    assert [c["title"] for c in audit["columns"]] == ["Note"] + [title for title, _ in COLUMNS]
    by_column = {
        (cells(audit, row)["Row key"], cells(audit, row)["Column"]): (cells(audit, row), row)
        for row in audit["rows"]
    }
    price, price_row = by_column["1", "Units Total Price"]
    assert price["Money impact (USD)"] == 4574.5 and price["Severity"] == "high"
    assert price["Old"] == 425.5 and price["New"] == 5000 and price["Delta"] == 4574.5
    assert price["Week ending"] == WEEK_OPEN and price["Status"] == "change"
    assert price["Snapshots"].count("..") == 1 and price["Time (UTC)"] == "2026-11-21 10:00"
    high = PALETTE.index("#FFCCD2")
    assert price_row["format"].split(",")[9] == str(high)
    foreman, foreman_row = by_column["0", "Foreman"]
    assert foreman["New"] == '=HYPERLINK("http://x","y")' and "format" not in foreman_row
    assert all("formula" not in cell for row in audit["rows"] for cell in row["cells"])
    quantity, _ = by_column["2", "Quantity"]
    assert quantity["Old"] == 2 and quantity["New"] == 3 and quantity["Delta"] == 1
    written = next(line for line in result.stdout.splitlines() if "written to" in line)
    attached = emulator.attachments[AUDIT_SHEET]
    assert [a["name"] for a in attached] == [written.split("/")[-1].split()[0]]
    assert attached[0]["data"][:2] == b"PK"


def test_publishing_a_pair_twice_changes_nothing(repo, store, cli, api_env, emulator, audit):
    pair(store, 3)
    assert report(cli, api_env).returncode == 0
    rows, version = [dict(r) for r in audit["rows"]], audit["version"]
    again = report(cli, api_env, "--force")
    assert again.returncode == 0, again.stderr
    assert "0 rows posted, 5 already there" in again.stdout
    assert audit["rows"] == rows and audit["version"] == version
    assert len(emulator.attachments[AUDIT_SHEET]) == 1


def test_a_renamed_audit_id_column_stops_before_anything_is_posted_again(
    repo, store, cli, api_env, emulator, audit
):
    pair(store, 3)
    assert report(cli, api_env).returncode == 0
    next(c for c in audit["columns"] if c["title"] == AUDIT_ID)["title"] = "Audit key"
    columns = [dict(column) for column in audit["columns"]]
    again = report(cli, api_env, "--force")
    assert again.returncode == 3, again.stdout + again.stderr
    assert again.stderr.count("\n") == 1 and "renamed or removed" in again.stderr
    assert f"no '{AUDIT_ID}' column" in again.stderr and "Traceback" not in again.stderr
    assert audit["columns"] == columns and len(audit["rows"]) == 5
    assert len(emulator.attachments[AUDIT_SHEET]) == 1


def test_a_sheet_with_rows_but_no_audit_id_column_is_not_written(
    repo, store, cli, api_env, emulator, audit
):
    """Not an audit sheet: a billing sheet left out of SOURCE_SHEET_ID, a tracker..."""
    pair(store, 3)
    note = audit["columns"][0]["id"]
    audit["rows"] = [{"id": emulator.new_id(), "cells": [{"columnId": note, "value": "mine"}]}]
    audit["totalRowCount"] = 1
    result = report(cli, api_env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"no '{AUDIT_ID}' column" in result.stderr and result.stderr.count("\n") == 1
    assert [c["title"] for c in audit["columns"]] == ["Note"] and len(audit["rows"]) == 1
    assert AUDIT_SHEET not in emulator.attachments


def test_a_source_sheet_is_refused_as_the_audit_sheet(repo, store, cli, api_env, audit):
    pair(store, 3)
    env = {**api_env, "SOURCE_SHEET_ID": f"12,{AUDIT_SHEET}", "AUDIT_SHEET_ID": str(AUDIT_SHEET)}
    result = cli("report", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "SOURCE_SHEET_ID" in result.stderr and result.stderr.count("\n") == 1
    assert [c["title"] for c in audit["columns"]] == ["Note"] and audit["rows"] == []


def test_a_failed_batch_fails_the_run_and_the_next_run_finishes(
    repo, store, cli, api_env, emulator, audit
):
    pair(store, 700)
    emulator.inject(rf"^/sheets/{AUDIT_SHEET}/rows$", method="POST", status=503, count=99, skip=1)
    failed = report(cli, api_env)
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert failed.stderr.count("\n") == 1 and "adding 202 audit rows" in failed.stderr
    assert "HTTP 503" in failed.stderr and "Traceback" not in failed.stderr
    assert len(audit["rows"]) == 500
    emulator.faults.clear()
    finished = report(cli, api_env, "--force")
    assert finished.returncode == 0, finished.stderr
    assert "202 rows posted, 500 already there" in finished.stdout
    assert len(ids(audit)) == 702 and len(set(ids(audit))) == 702


@pytest.mark.parametrize("lost", [{"status": 500}, {"drop": True}], ids=["5xx", "dropped"])
def test_a_lost_answer_is_not_posted_again(repo, store, cli, api_env, emulator, audit, lost):
    """Rows added, then the answer lost: a 5xx, or the connection closed with no answer at
    all, which the SDK's session sent again beneath the client over https."""
    pair(store, 3)
    emulator.inject(rf"^/sheets/{AUDIT_SHEET}/rows$", method="POST", applied=True, **lost)
    result = report(cli, api_env)
    assert result.returncode == 0, result.stderr
    assert len(ids(audit)) == 5 and len(set(ids(audit))) == 5
    posts = [r for r in emulator.requests if r == ("POST", f"/sheets/{AUDIT_SHEET}/rows")]
    assert len(posts) == 1


def test_columns_whose_answer_was_lost_are_not_added_twice(
    repo, store, cli, api_env, emulator, audit
):
    pair(store, 3)
    emulator.inject(rf"^/sheets/{AUDIT_SHEET}/columns$", method="POST", status=502, applied=True)
    result = report(cli, api_env)
    assert result.returncode == 0, result.stderr
    titles = [column["title"] for column in audit["columns"]]
    assert titles == ["Note"] + [title for title, _ in COLUMNS]
    assert len(ids(audit)) == 5 and all(i.startswith("a") and len(i) == 20 for i in ids(audit))


def test_rate_limited_posts_are_retried(repo, store, cli, api_env, emulator, audit):
    pair(store, 3)
    emulator.inject(
        rf"^/sheets/{AUDIT_SHEET}/rows$", method="POST", status=429, error_code=4003, count=2
    )
    result = report(cli, api_env)
    assert result.returncode == 0, result.stderr
    assert Counter(ids(audit)).most_common(1)[0][1] == 1 and len(ids(audit)) == 5


def filler(emulator, audit, count: int) -> None:
    """Rows already on the audit sheet (from earlier pairs), put there directly, with the
    audit columns an earlier publish added."""
    audit["columns"] += [
        {"id": 100 + n, "index": n + 1, "title": title, "type": kind}
        for n, (title, kind) in enumerate(COLUMNS)
    ]
    audit_id = 100 + len(COLUMNS) - 1
    audit["rows"] = [
        {"id": emulator.new_id(), "cells": [{"columnId": audit_id, "value": f"old {n}"}]}
        for n in range(count)
    ]
    audit["totalRowCount"] = count


def test_a_full_audit_sheet_stops_before_posting(repo, store, cli, api_env, emulator, audit):
    pair(store, 3)
    filler(emulator, audit, 19_998)
    result = report(cli, api_env)
    assert result.returncode == 3
    assert "19,998 rows and this pair adds 5" in result.stderr
    assert "set AUDIT_SHEET_ID" in result.stderr and result.stderr.count("\n") == 1
    assert len(audit["rows"]) == 19_998


def test_a_nearly_full_audit_sheet_warns(repo, store, cli, api_env, emulator, audit):
    pair(store, 3)
    filler(emulator, audit, 16_500)
    result = report(cli, api_env)
    assert result.returncode == 0, result.stderr
    assert "holds 16,505 of Smartsheet's 20,000 rows" in result.stderr
    assert len(audit["rows"]) == 16_505


def test_a_report_over_30_mb_is_not_attached(store, emulator, audit, monkeypatch, caplog, tmp_path):
    pair(store, 3)
    monkeypatch.setattr(audit_sheet, "MAX_ATTACHMENT", 100)
    config = Config(
        token=TOKEN, api_base=emulator.base_url, audit_sheet_id=str(AUDIT_SHEET), retry_budget=3
    )
    report = build_report(store, load_settings(config))
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"x" * 200)
    with caplog.at_level(logging.WARNING, logger="auditor"):
        published = publish_report(store, config, report, lambda: big)
    assert published.posted == 5 and published.attached is None
    assert "over Smartsheet's 30 MB" in caplog.text
    assert AUDIT_SHEET not in emulator.attachments


def test_audit_ids_come_from_trees_and_events_not_commits(store):
    pair(store, 3)
    report = build_report(store, load_settings(Config()))
    trees = {"s": ("a" * 40, "b" * 40)}
    first = [row.audit_id for row in audit_rows(report, trees)]
    report.diff.old = replace(report.diff.old, commit="0" * 40)
    report.diff.new = replace(report.diff.new, commit="1" * 40)
    assert [row.audit_id for row in audit_rows(report, trees)] == first
    other = [row.audit_id for row in audit_rows(report, {"s": ("a" * 40, "c" * 40)})]
    assert len(set(first)) == 5 and not set(first) & set(other)
