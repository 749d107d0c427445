"""A sample billing sheet in the shape of Smartsheet's `GET /sheets/{id}` response.

Deterministic for a seed, with the contract's columns and realistic values, so the demo,
the tests and the benchmarks share one sheet. The edit helpers change it the way people
do between scheduled runs, bumping the sheet's version as Smartsheet would.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

SHEET_ID = 4583173393803140
COLUMNS = [
    ("Foreman", "TEXT_NUMBER"),
    ("Work Request #", "TEXT_NUMBER"),
    ("Weekly Reference Logged Date", "DATE"),
    ("Dept #", "TEXT_NUMBER"),
    ("Customer Name", "TEXT_NUMBER"),
    ("Work Order #", "TEXT_NUMBER"),
    ("Area", "PICKLIST"),
    ("Pole #", "TEXT_NUMBER"),
    ("CU", "TEXT_NUMBER"),
    ("Work Type", "PICKLIST"),
    ("CU Description", "TEXT_NUMBER"),
    ("Unit of Measure", "PICKLIST"),
    ("Quantity", "TEXT_NUMBER"),
    ("Units Total Price", "TEXT_NUMBER"),
    ("Snapshot Date", "DATE"),
    ("Scope #", "TEXT_NUMBER"),
    ("Job #", "TEXT_NUMBER"),
    ("Units Completed?", "CHECKBOX"),
]
FOREMEN = ["J. Alvarez", "K. Brooks", "M. Chen", "R. Dubois", "S. Okafor", "T. Novak"]
CUSTOMERS = ["Northern Power & Light", "Lakeside Electric Co-op", "Valley Utilities"]
AREAS = ["North", "South", "East", "West"]
WORK_TYPES = ["Install", "Remove", "Transfer", "Replace"]
CUS = {
    "P40-2": ("Pole, wood, 40 ft class 2", "EA", Decimal("1850.00")),
    "P45-3": ("Pole, wood, 45 ft class 3", "EA", Decimal("2125.50")),
    "XA-8": ("Crossarm, 8 ft", "EA", Decimal("212.75")),
    "GW-1": ("Guy wire and anchor", "EA", Decimal("385.20")),
    "CN-AL": ("Conductor, aluminium", "FT", Decimal("3.45")),
    "TR-25": ("Transformer, 25 kVA", "EA", Decimal("4310.00")),
    "IN-PI": ("Insulator, pin type", "EA", Decimal("48.60")),
}
FIRST_WEEK = dt.date(2026, 9, 5)


def rate_table() -> dict[str, Decimal]:
    return {cu: price for cu, (_, _, price) in CUS.items()}


def make_sheet(
    rows: int = 60, seed: int = 7, extra_columns: int = 0, name: str = "Billing 2026"
) -> dict[str, Any]:
    rng = random.Random(seed)
    titles = COLUMNS + [(f"Note {n}", "TEXT_NUMBER") for n in range(1, extra_columns + 1)]
    columns = [
        {
            "id": 7000000000000000 + index * 1000003,
            "index": index,
            "title": title,
            "type": kind,
            **({"primary": True} if index == 0 else {}),
        }
        for index, (title, kind) in enumerate(titles)
    ]
    sheet = {
        "id": SHEET_ID,
        "name": name,
        "version": 1,
        "totalRowCount": 0,
        "accessLevel": "OWNER",
        "permalink": f"https://app.smartsheet.com/sheets/{SHEET_ID}",
        "createdAt": "2026-09-01T08:00:00Z",
        "modifiedAt": "2026-09-01T08:00:00Z",
        "columns": columns,
        "rows": [],
    }
    for number in range(rows):
        add_row(sheet, random_values(rng, number, extra_columns), rng=rng)
    sheet["version"] = 1
    return sheet


def random_values(rng: random.Random, number: int, extra_columns: int = 0) -> dict[str, Any]:
    cu = rng.choice(sorted(CUS))
    description, unit, price = CUS[cu]
    quantity = rng.randint(1, 400) if unit == "FT" else rng.randint(1, 6)
    week = FIRST_WEEK + dt.timedelta(weeks=number % 12)
    values: dict[str, Any] = {
        "Foreman": rng.choice(FOREMEN),
        "Work Request #": f"WR-{240100 + number // 3}",
        "Weekly Reference Logged Date": week.isoformat(),
        "Dept #": rng.choice([410, 420, 430]),
        "Customer Name": rng.choice(CUSTOMERS),
        "Work Order #": f"WO-{880000 + number}",
        "Area": rng.choice(AREAS),
        "Pole #": f"P-{rng.randint(10000, 99999)}",
        "CU": cu,
        "Work Type": rng.choice(WORK_TYPES),
        "CU Description": description,
        "Unit of Measure": unit,
        "Quantity": quantity,
        "Units Total Price": float(price * quantity),
        "Snapshot Date": (week + dt.timedelta(days=2)).isoformat(),
        "Scope #": f"S-{rng.randint(100, 999)}",
        "Job #": f"J-{rng.randint(5000, 5999)}",
        "Units Completed?": rng.random() < 0.7,
    }
    for n in range(1, extra_columns + 1):
        values[f"Note {n}"] = f"note {n} for line {number}"
    return values


def _column_id(sheet: dict[str, Any], title: str) -> int:
    for column in sheet["columns"]:
        if column["title"] == title:
            return column["id"]
    raise KeyError(title)


def _touch(sheet: dict[str, Any], row: dict[str, Any] | None, who: str, when: str) -> None:
    sheet["version"] += 1
    sheet["modifiedAt"] = when
    if row is not None:
        row["modifiedAt"] = when
        row["modifiedBy"] = {"email": who, "name": who.split("@")[0]}


def add_row(
    sheet: dict[str, Any],
    values: dict[str, Any],
    who: str = "billing@example.com",
    when: str = "2026-09-01T08:00:00Z",
    rng: random.Random | None = None,
) -> int:
    rng = rng or random.Random(len(sheet["rows"]))
    row_id = 1000000000000000 + rng.randrange(10**15) * 8 + len(sheet["rows"])
    cells = []
    for column in sheet["columns"]:
        value = values.get(column["title"])
        cell: dict[str, Any] = {"columnId": column["id"]}
        if value is not None:
            cell["value"] = value
            if column["title"] == "Units Total Price":
                cell["displayValue"] = f"${value:,.2f}"
        cells.append(cell)
    row = {"id": row_id, "rowNumber": len(sheet["rows"]) + 1, "cells": cells}
    sheet["rows"].append(row)
    sheet["totalRowCount"] = len(sheet["rows"])
    _touch(sheet, row, who, when)
    return row_id


def set_cell(
    sheet: dict[str, Any],
    row_number: int,
    title: str,
    value: Any,
    who: str = "billing@example.com",
    when: str = "2026-09-01T08:00:00Z",
) -> None:
    row = sheet["rows"][row_number - 1]
    column_id = _column_id(sheet, title)
    for cell in row["cells"]:
        if cell["columnId"] == column_id:
            cell.pop("displayValue", None)
            if value is None:
                cell.pop("value", None)
            else:
                cell["value"] = value
    _touch(sheet, row, who, when)


def delete_row(sheet: dict[str, Any], row_number: int, when: str = "2026-09-01T08:00:00Z") -> None:
    del sheet["rows"][row_number - 1]
    for number, row in enumerate(sheet["rows"], start=1):
        row["rowNumber"] = number
    sheet["totalRowCount"] = len(sheet["rows"])
    _touch(sheet, None, "", when)


def rename_column(
    sheet: dict[str, Any], old: str, new: str, when: str = "2026-09-01T08:00:00Z"
) -> None:
    for column in sheet["columns"]:
        if column["title"] == old:
            column["title"] = new
    _touch(sheet, None, "", when)


def value_of(sheet: dict[str, Any], row_number: int, title: str) -> Any:
    column_id = _column_id(sheet, title)
    for cell in sheet["rows"][row_number - 1]["cells"]:
        if cell["columnId"] == column_id:
            return cell.get("value")
    return None
