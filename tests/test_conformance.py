"""Smartsheet's own cross-SDK scenarios, replayed against the emulator.

Every scenario of `tests/data/smartsheet_sdk_tests` (see its NOTICE.md) that touches an
operation the emulator serves is sent to it over HTTP, after setting up the state the
scenario assumes: the sheet of its URL (or the sheets a listing lists), with the columns
and rows it names. The answer must
have the scenario's HTTP status and the same fields, nested fields included, with the same
values wherever the request and that state decide them (cell values and display values,
column attributes, error codes and messages, which items of a bulk request failed); ids,
versions, row numbers and times are the server's own and are not compared.

A scenario the emulator answers differently, for a reason it owns up to, is listed in
KNOWN_DIFFERENCES, and must still differ: one that starts to match is to be taken off the
list. Operations the emulator does not serve at all are listed in OUT_OF_SCOPE (scenario by
scenario, and must be refused as not found) and OUT_OF_SCOPE_FILES (files not copied).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from tests.conftest import TOKEN

DATA = Path(__file__).parent / "data" / "smartsheet_sdk_tests"
SCENARIOS = {
    scenario["scenario"]: scenario
    for path in sorted(DATA.glob("*_scenarios.json"))
    for scenario in orjson.loads(path.read_bytes())
}
# The user the scenarios' responses name as the writer of what they create.
USER = "john.doe@smartsheet.com"

NOT_EVALUATED = "formulas are stored as written but not evaluated: their cells have no value"
LINKS = "hyperlinks to sheets and reports are not emulated (refused with 1146)"
OBJECTS = "objectValue writes and predecessor columns are not emulated (refused with 1146)"
KNOWN_DIFFERENCES = {
    "Add Rows - Assign Formulae": NOT_EVALUATED,
    "Update Rows - Assign Formulae": NOT_EVALUATED,
    "Add Rows - Assign Values - Hyperlink SheetID": LINKS,
    "Add Rows - Assign Values - Hyperlink ReportID": LINKS,
    "Update Rows - Assign Values - Hyperlink SheetID": LINKS,
    "Update Rows - Assign Values - Hyperlink ReportID": LINKS,
    "Serialization - Rows": LINKS,
    "Add Rows - Assign Object Value - Predecessor List": OBJECTS,
    "Add Rows - Assign Object Value - Predecessor List (using floats)": OBJECTS,
    "Serialization - Predecessor": OBJECTS,
    "Serialization - Cell Link": "cell links (linkInFromCell) are not emulated (refused with 1146)",
    "Serialization - Image": "cell images are not emulated: no image, and no row-level version "
    "or accessLevel in GET row",
    "Assume User - Can Be Set": "the emulator has no admins, so an Assume-User header is "
    "refused (1030)",
    "List Sheets - Include Owner Info": "owners are not emulated: include=ownerInfo is refused "
    "(1146)",
}
OUT_OF_SCOPE = {
    "Serialization - Home": "GET /home",
    "Serialization - Groups": "POST /groups",
    "Serialization - Discussion": "POST /sheets/{id}/rows/{id}/discussions",
    "Serialization - Contact": "GET /contacts/{id}",
    "Serialization - Folder": "POST /home/folders",
    "Serialization - User": "POST /users",
    "Serialization - AlternateEmail": "POST /users/{id}/alternateemails",
    "Serialization - IndexResult": "GET /users",
    "Serialization - Image Urls": "POST /imageurls",
    "Serialization - Favorite": "POST /favorites",
    "Serialization - Report": "GET /reports/{id}",
    "Serialization - Share": "POST /sheets/{id}/shares",
    "Serialization - Send via Email": "POST /sheets/{id}/emails",
    "Serialization - Row Email": "POST /sheets/{id}/rows/emails",
    "Serialization - Template": "GET /templates/public",
    "Serialization - Update Request": "POST /sheets/{id}/updaterequests",
    "Serialization - Sent Update Requests": "GET /sheets/{id}/sentupdaterequests/{id}",
    "Serialization - Sheet Settings": "PUT /sheets/{id} (sheet settings)",
    "Serialization - Container Destination": "POST /folders/{id}/copy",
    "Serialization - Cross Sheet Reference": "POST /sheets/{id}/crosssheetreferences",
}
# The scenario files of smartsheet-sdk-tests not copied here: no scenario in them touches an
# operation the emulator serves (each of these answers 404 from it).
OUT_OF_SCOPE_FILES = {
    "automation_rules.json": "automation rules: GET, PUT and DELETE /sheets/{id}/automationrules",
    "columns_scenarios.json": "updating a column: PUT /sheets/{id}/columns/{id}",
    "misc_scenarios.json": "moving and copying rows: POST /sheets/{id}/rows/move and /copy",
    "sight_scenarios.json": "Sights (dashboards): /sights",
}
REPLAYED = sorted(name for name in SCENARIOS if name not in OUT_OF_SCOPE)

# The state the scenarios assume: the sheet of their URL with two text columns and two
# rows, unless they say otherwise here (columns by id: title and type; rows by id: values).
FRUIT = {101: ("Fruit", "TEXT_NUMBER"), 102: ("Description", "TEXT_NUMBER")}
ROWS = {10: {101: "Apple", 102: "Red Fruit"}, 11: {101: "Banana", 102: "Yellow Fruit"}}
CLEARED = {10: {101: "Apple"}}
# The sheets a listing scenario lists (by id: name and the token's access), instead of the
# sheet of the URL.
LISTED = {1: ("Copy of Sample Sheet", "OWNER"), 2: ("Task Tracking Document", "EDITOR_SHARE")}
STATES: dict[str, dict[str, Any]] = {
    "Update Rows - Clear Value - Text Number": {"rows": CLEARED},
    "Update Rows - Clear Value - Cell Link": {"rows": CLEARED},
    "Update Rows - Clear Value - Hyperlink": {
        "rows": {10: {101: {"value": "Google", "hyperlink": {"url": "http://google.com"}}}}
    },
    "Update Rows - Clear Value - Checkbox": {
        "columns": {100: ("Fruit", "TEXT_NUMBER"), 101: ("Ripe", "CHECKBOX")},
        "rows": {10: {101: True}},
    },
    "Update Rows - Clear Value - Predecessor List": {
        "columns": {**FRUIT, 123: ("Predecessors", "PREDECESSOR")},
        "rows": {10: {123: "2FS"}},
    },
    "Serialization - BulkFailure": {
        "columns": {1: ("Name", "TEXT_NUMBER"), 2: ("Notes", "TEXT_NUMBER")}
    },
    "Serialization - Cell Link": {
        "columns": {**FRUIT, 3: ("Linked", "TEXT_NUMBER")},
        "rows": {2: {101: "old"}},
    },
    "Serialization - Image": {
        "columns": {6: ("Photo", "TEXT_NUMBER")},
        "rows": {2: {6: "puppy.jpg"}},
    },
    "Serialization - Predecessor": {
        "columns": {1: ("Task", "TEXT_NUMBER"), 2: ("Predecessors", "PREDECESSOR")},
        "rows": {3: {1: "Dig"}},
    },
    "Serialization - Rows": {
        "columns": {1: ("Name", "TEXT_NUMBER")}
        | {n: (f"Link {n}", "TEXT_NUMBER") for n in (2, 3, 5)},
    },
    "Assume User - Can Be Set": {"columns": {234: ("Primary Column", "TEXT_NUMBER")}},
    "List Sheets - No Params": {"sheets": LISTED},
    "List Sheets - Include Owner Info": {"sheets": LISTED},
}
# Compared by value wherever they appear; other fields only by name.
DECIDED = frozenset(
    {
        "message",
        "resultCode",
        "errorCode",
        "index",
        "columnId",
        "value",
        "displayValue",
        "formula",
        "url",
        "title",
        "type",
        "options",
        "primary",
        "validation",
        "width",
        "systemColumnType",
        "prefix",
        "suffix",
        "fill",
        "name",
        "description",
        "attachmentType",
        "parentType",
        "email",
        "accessLevel",
        "expanded",
    }
)
# Row fields the scenarios' hand-made answers give or leave out inconsistently (a second
# new row with a siblingId in one scenario and without it in the next): compared when both
# sides have them. The same for the rowId of an error's detail on adding rows.
ROW_OPTIONAL = frozenset({"siblingId", "sheetId"})


def test_every_scenario_is_replayed_or_out_of_scope():
    assert set(OUT_OF_SCOPE) <= set(SCENARIOS)
    assert set(KNOWN_DIFFERENCES) <= set(REPLAYED)
    paths = list(DATA.glob("*_scenarios.json"))
    assert not {path.name for path in paths} & set(OUT_OF_SCOPE_FILES)
    files = [orjson.loads(path.read_bytes()) for path in paths]
    assert len(SCENARIOS) == sum(map(len, files)), "two scenarios share a name"


@pytest.mark.parametrize("name", REPLAYED)
def test_scenario(emulator, name):
    scenario = SCENARIOS[name]
    set_up(emulator, name, scenario)
    status, body = send(emulator, scenario["request"])
    expected = scenario["response"]
    found = differences(expected["jsonBody"], body)
    if status != expected.get("status", 200):
        found.append(f"HTTP {status}, expected {expected.get('status', 200)}")
    if name in KNOWN_DIFFERENCES:
        assert found, f"{name!r} now matches: take it off KNOWN_DIFFERENCES"
    else:
        assert not found, found


@pytest.mark.parametrize("name", sorted(OUT_OF_SCOPE))
def test_operations_out_of_scope_are_not_found(emulator, name):
    set_up(emulator, name, SCENARIOS[name])
    status, body = send(emulator, SCENARIOS[name]["request"])
    assert (status, body["errorCode"]) == (404, 1006)


def set_up(emulator, name: str, scenario: dict) -> None:
    emulator.tokens[TOKEN] = USER
    state = STATES.get(name, {})
    columns = state.get("columns", FRUIT)
    rows = state.get("rows", ROWS)
    path = scenario["request"]["urlPath"].split("/")
    sheet_id = int(path[2]) if path[1] == "sheets" and len(path) > 2 else 1
    for listed_id, (name, access) in state.get("sheets", {sheet_id: ("Fruit", "OWNER")}).items():
        add_sheet(emulator, listed_id, name, access, columns, rows)


def add_sheet(emulator, sheet_id: int, name: str, access: str, columns: dict, rows: dict) -> None:
    emulator.add_sheet(
        {
            "id": sheet_id,
            "name": name,
            "accessLevel": access,
            "permalink": "https://app.smartsheet.com/sheets/fruit",
            "createdAt": "2017-10-17T23:16:08Z",
            "modifiedAt": "2017-10-17T23:20:18Z",
            "columns": [
                {"id": column_id, "index": n, "title": title, "type": kind}
                | ({"primary": True} if n == 0 else {})
                | {"validation": False, "width": 150}
                for n, (column_id, (title, kind)) in enumerate(columns.items())
            ],
            "rows": [
                {
                    "id": row_id,
                    "createdAt": "2017-10-17T23:16:08Z",
                    "modifiedAt": "2017-10-17T23:20:18Z",
                    "cells": [_cell(column_id, value) for column_id, value in values.items()],
                }
                for row_id, values in rows.items()
            ],
        }
    )


def _cell(column_id: int, value: Any) -> dict[str, Any]:
    return {"columnId": column_id, **(value if isinstance(value, dict) else {"value": value})}


def send(emulator, request: dict) -> tuple[int, Any]:
    body = request.get("body")
    answer = requests.request(
        request["method"],
        emulator.base_url + request["urlPath"],
        params=request.get("queryParameters"),
        headers={"Authorization": f"Bearer {TOKEN}", **request.get("headers", {})},
        data=None if body is None else orjson.dumps(body),
        timeout=10,
    )
    return answer.status_code, answer.json()


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where `actual` has other fields than `expected`, or other values in DECIDED fields."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return _dict_differences(expected, actual, path)
    if isinstance(expected, list) and isinstance(actual, list):
        if path.endswith("cells"):
            return _cell_differences(expected, actual, path)
        if len(expected) != len(actual):
            return [f"{path}: {len(actual)} items, expected {len(expected)}"]
        return [
            found
            for n, (want, got) in enumerate(zip(expected, actual, strict=True))
            for found in differences(want, got, f"{path}[{n}]")
        ]
    if type(expected) is not type(actual):
        return [f"{path}: {actual!r}, expected {expected!r}"]
    name = path.rsplit(".", 1)[-1].split("[")[0]
    if name in DECIDED and expected != actual:
        return [f"{path}: {actual!r}, expected {expected!r}"]
    return []


def _dict_differences(expected: dict, actual: dict, path: str) -> list[str]:
    optional = set()
    if "cells" in expected:
        optional = ROW_OPTIONAL
    elif path.endswith("detail"):
        optional = {"rowId"}
    wanted, given = set(expected) - optional, set(actual) - optional
    found = [f"{path}.{key}: missing" for key in sorted(wanted - given)]
    found += [f"{path}.{key}: not expected" for key in sorted(given - wanted)]
    for key in sorted(set(expected) & set(actual)):
        found += differences(expected[key], actual[key], f"{path}.{key}")
    return found


def _cell_differences(expected: list, actual: list, path: str) -> list[str]:
    """Cells by column. A scenario's answer shows the cells its sheet has; an emulated
    sheet may have more columns, whose cells must then be empty: `{columnId}` alone."""
    by_column = {cell.get("columnId"): cell for cell in actual}
    found = []
    for cell in expected:
        got = by_column.pop(cell["columnId"], None)
        if got is None:
            found.append(f"{path}: no cell of column {cell['columnId']}")
        else:
            found += differences(cell, got, f"{path}[{cell['columnId']}]")
    found += [f"{path}: {cell} not empty" for cell in by_column.values() if len(cell) > 1]
    return found
