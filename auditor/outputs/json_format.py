"""The contract's JSON documents (`--format json`)."""

from __future__ import annotations

from typing import Any

import orjson

from auditor.audit.model import Violations
from auditor.diff.model import Diff, RowHistory, Side
from auditor.snapshot.model import SheetData
from auditor.store.message import LogEntry
from auditor.text import iso


def dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def side(value: Side) -> dict[str, str]:
    return {"commit": value.commit, "time": iso(value.time)}


def diff_document(diff: Diff, violations: dict[str, Violations] | None = None) -> dict[str, Any]:
    violations = violations or {}
    sheets = []
    for sheet in diff.sheets:
        audit = violations.get(sheet.sheet_id, Violations([], [], [], []))
        # A sheet that joined or left lists no rows: what it held, and why.
        audience = (
            {"rows": sheet.rows, "reason": sheet.reason}
            if sheet.status in ("added", "removed")
            else {}
        )
        sheets.append(
            {
                "sheet_id": sheet.sheet_id,
                "name": sheet.name,
                "status": sheet.status,
                **({"renamed_from": sheet.renamed_from} if sheet.renamed_from is not None else {}),
                **audience,
                "rows_added": [{"key": r.key, "row": r.row} for r in sheet.rows_added],
                "rows_removed": [{"key": r.key, "row": r.row} for r in sheet.rows_removed],
                "cells_changed": [
                    {"key": c.key, "column": c.column, "old": c.old, "new": c.new}
                    for c in sheet.cells_changed
                ],
                "formulas_changed": [
                    {"key": c.key, "column": c.column, "old": c.old, "new": c.new}
                    for c in sheet.formulas_changed
                ],
                "columns_added": sheet.columns_added,
                "columns_removed": sheet.columns_removed,
                "columns_renamed": [{"old": old, "new": new} for old, new in sheet.columns_renamed],
                "violations": audit.to_json(),
            }
        )
    return {
        "from": side(diff.old),
        "to": side(diff.new),
        "sheets": sheets,
        "summary": {
            "rows_added": sum(len(s.rows_added) for s in diff.sheets),
            "rows_removed": sum(len(s.rows_removed) for s in diff.sheets),
            "cells_changed": sum(len(s.cells_changed) for s in diff.sheets),
            "violations_new": sum(len(audit.new) for audit in violations.values()),
        },
    }


def log_document(entries: list[LogEntry]) -> list[dict[str, Any]]:
    return [
        {
            "commit": entry.commit,
            "time": iso(entry.time),
            "subject": entry.subject,
            "rows": entry.rows,
            "rows_added": entry.rows_added,
            "rows_removed": entry.rows_removed,
            "cells_changed": entry.cells_changed,
        }
        for entry in entries
    ]


def show_document(snapshot: Side, sheets: list[SheetData]) -> dict[str, Any]:
    return {
        "commit": snapshot.commit,
        "time": iso(snapshot.time),
        "sheets": [
            {
                "sheet_id": sheet.meta["id"],
                "name": sheet.meta["name"],
                "columns": sheet.meta["columns"],
                "rows": [
                    {
                        "key": key,
                        "row": row.cells,
                        "formulas": row.formulas,
                        "modified_by": row.modified_by,
                        "modified_at": row.modified_at,
                    }
                    for key, row in sheet.rows.items()
                ],
            }
            for sheet in sheets
        ],
    }


def history_document(history: RowHistory) -> dict[str, Any]:
    versions = []
    for version in history.versions:
        entry = {
            "commit": version.commit,
            "time": iso(version.time),
            "change": version.change,
            "columns": version.columns,
            "row": version.row.cells,
            "formulas": version.row.formulas,
            "modified_by": version.row.modified_by,
            "modified_at": version.row.modified_at,
        }
        if history.column:
            entry["value"] = version.row.cells.get(history.column)
        versions.append(entry)
    return {
        "sheet_id": history.sheet_id,
        "key": history.key,
        "column": history.column,
        "versions": versions,
    }
