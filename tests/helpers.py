"""Helpers shared by the tests: git in a folder, CSV files."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.snapshot.model import Row, Sheet

if TYPE_CHECKING:
    from auditor.audit.settings import Settings
    from auditor.commands.snapshot import SnapshotResult
    from auditor.store.gitstore import Store

AUTHOR = ("auditor", "auditor@users.noreply.github.com")
MONEY = ("Units Total Price",)


def snapshot_at(
    store: Store, sheets: list[Sheet], when: str, settings: Settings | None = None
) -> SnapshotResult:
    """A snapshot of `sheets` fetched at `when` (ISO; UTC where it names no offset), as the
    tool's own author, the price its money column, with the rules of `settings`."""
    from auditor.commands.snapshot import take_snapshot

    moment = dt.datetime.fromisoformat(when)
    return take_snapshot(
        store,
        sheets,
        author=AUTHOR,
        fetched_at=moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC),
        money_columns=MONEY,
        settings=settings,
    )


GIT_ENV = {
    "GIT_AUTHOR_NAME": "someone",
    "GIT_AUTHOR_EMAIL": "someone@example.com",
    "GIT_COMMITTER_NAME": "someone",
    "GIT_COMMITTER_EMAIL": "someone@example.com",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    return result.stdout.strip()


def workflow_step(workflow: Path, name: str) -> str:
    """The shell script of a workflow's step, by the step's name."""
    lines = workflow.read_text().splitlines()
    at = next(n for n, line in enumerate(lines) if line.strip() == f"- name: {name}")
    start = next(n for n in range(at, len(lines)) if lines[n].strip() == "run: |") + 1
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start:]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        body.append(line[indent:])
    return "\n".join(body).strip() + "\n"


def as_rows(rows: dict[str, dict[str, Any]]) -> dict[str, Row]:
    """Rows written compactly, as layout 1 stored them: cells, with the row's metadata
    under `_id`, `_parent`, `_modified_at`, `_modified_by` and `_formulas`."""
    return {key: as_row(row) for key, row in rows.items()}


def as_row(row: dict[str, Any]) -> Row:
    return Row.from_json(dict(row), layout=1)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _column(index, title, kind, **extra):
    return {"id": 100 + index, "index": index, "title": title, "type": kind, **extra}


def typed_sheet() -> dict:
    """A sheet with a cell of every column type, in the API's shape (objectValue included)."""
    columns = [
        _column(0, "Text", "TEXT_NUMBER", primary=True),
        _column(1, "Number", "TEXT_NUMBER"),
        _column(2, "Date", "DATE"),
        _column(3, "Stamp", "DATETIME", systemColumnType="MODIFIED_DATE"),
        _column(4, "Abstract", "ABSTRACT_DATETIME"),
        _column(5, "Done", "CHECKBOX"),
        _column(6, "Pick", "PICKLIST", options=["a", "b"]),
        _column(7, "Multi", "MULTI_PICKLIST"),
        _column(8, "Contact", "CONTACT_LIST"),
        _column(9, "Contacts", "MULTI_CONTACT_LIST"),
        _column(10, "Duration", "DURATION"),
        _column(11, "Price", "TEXT_NUMBER"),
        _column(12, "Unchecked", "CHECKBOX"),
        _column(13, "Legacy multi", "MULTI_PICKLIST"),
    ]
    cells = [
        {"columnId": 100, "value": "hello"},
        {"columnId": 101, "value": 12.0, "formula": "=SUM([Price]@row)"},
        {"columnId": 102, "value": "2026-11-20"},
        {"columnId": 103, "value": "2026-11-20T09:30:00-05:00"},
        {"columnId": 104, "value": 1795651200000},
        {"columnId": 105, "value": True},
        {"columnId": 106, "value": 3},
        {
            "columnId": 107,
            "value": "b, a",
            "objectValue": {"objectType": "MULTI_PICKLIST", "values": ["b", "a"]},
        },
        {
            "columnId": 108,
            "value": "kim@example.com",
            "objectValue": {"objectType": "CONTACT", "email": "kim@example.com", "name": "Kim"},
        },
        {
            "columnId": 109,
            "value": "Kim, Lee",
            "objectValue": {
                "objectType": "MULTI_CONTACT",
                "values": [
                    {"objectType": "CONTACT", "email": "lee@example.com", "name": "Lee"},
                    {"objectType": "CONTACT", "email": "kim@example.com", "name": "Kim"},
                ],
            },
        },
        {"columnId": 110, "value": "4d 6h"},
        {"columnId": 111, "value": "$1,234.50", "displayValue": "$1,234.50"},
        {"columnId": 112, "value": False},
        {"columnId": 113, "value": "x,y , z"},
    ]
    data = {
        "id": 1,
        "name": "Types",
        "columns": columns,
        "rows": [
            {
                "id": 9,
                "parentId": 8,
                "modifiedAt": "2026-11-20T10:00:00Z",
                "modifiedBy": {"email": "kim@example.com"},
                "cells": cells,
            }
        ],
    }
    return data


TYPED_ROW = as_row(
    {
        "Text": "hello",
        "Number": 12,
        "Date": "2026-11-20",
        "Stamp": "2026-11-20T14:30:00Z",
        "Abstract": "2026-11-26T00:00:00Z",
        "Done": True,
        "Pick": 3,
        "Multi": ["a", "b"],
        "Contact": "kim@example.com",
        "Contacts": ["kim@example.com", "lee@example.com"],
        "Duration": "4d 6h",
        "Price": 1234.5,
        "Legacy multi": ["x", "y", "z"],
        "_id": 9,
        "_parent": 8,
        "_modified_at": "2026-11-20T10:00:00Z",
        "_modified_by": "kim@example.com",
        "_formulas": {"Number": "=SUM([Price]@row)"},
    }
)
