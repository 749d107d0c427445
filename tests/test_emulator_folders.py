"""Folders, workspaces and the listings that find sheets, against the real SDK: token pages
(short and empty ones included), the parameters the API refuses, the removed nested GETs,
sheet copies and their `source`, and the latency, request counts and rate-limit peaks that
benchmarks read."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from smartsheet.exceptions import ApiError
from smartsheet.models import ContainerDestination, Folder, Sheet, Workspace

from demo import billing
from tests.conftest import TOKEN
from tests.test_emulator import call


def a_sheet(emulator, name: str, rows: int = 2, **place) -> int:
    sheet = billing.make_sheet(rows=rows, name=name)
    sheet["id"] = emulator.new_id()
    return emulator.add_sheet(sheet, **place)


@pytest.fixture
def tree(emulator) -> dict[str, int]:
    """A workspace holding a sheet and a folder; the folder two sheets and a sub-folder;
    the sub-folder one sheet. Another sheet is in no folder at all."""
    ids = {"workspace": emulator.add_workspace("Crews")}
    ids["top"] = emulator.add_folder("Billing", workspace=ids["workspace"])
    ids["sub"] = emulator.add_folder("North", folder=ids["top"])
    ids["loose"] = a_sheet(emulator, "Crew list", workspace=ids["workspace"])
    ids["a"] = a_sheet(emulator, "Billing A", folder=ids["top"])
    ids["b"] = a_sheet(emulator, "Billing B", folder=ids["top"])
    ids["deep"] = a_sheet(emulator, "Billing North", folder=ids["sub"])
    ids["home"] = a_sheet(emulator, "Scratch")
    return ids


def every_page(list_page, **params) -> list[list]:
    """Each page of a token-paged listing, following lastKey until there is none."""
    pages, key = [], None
    while True:
        page = list_page(last_key=key, **params)
        pages.append(list(page.data))
        key = page.last_key
        if key is None:
            return pages


def test_nested_folders_and_workspaces_are_walked_by_their_children(client, tree):
    found = [
        (type(item).__name__, item.id)
        for page in every_page(
            client.Workspaces.get_workspace_children, workspace_id=tree["workspace"]
        )
        for item in page
    ]
    assert found == [("Folder", tree["top"]), ("Sheet", tree["loose"])]
    top = every_page(client.Folders.get_folder_children, folder_id=tree["top"])
    assert [(type(i).__name__, i.id) for i in top[0]] == [
        ("Folder", tree["sub"]),
        ("Sheet", tree["a"]),
        ("Sheet", tree["b"]),
    ]
    sub = every_page(client.Folders.get_folder_children, folder_id=tree["sub"])
    assert [(i.name, i.access_level) for i in sub[0]] == [("Billing North", "OWNER")]
    sheets_only = client.Folders.get_folder_children(tree["top"], children_resource_types="sheets")
    assert [item.id for item in sheets_only.data] == [tree["a"], tree["b"]]
    folders_only = client.Folders.get_folder_children(
        tree["top"], children_resource_types=["folders", "reports"]
    )
    assert [type(item) for item in folders_only.data] == [Folder]


def test_pages_may_be_short_or_empty_and_only_lastkey_says_more_remain(client, emulator):
    folder = emulator.add_folder("Billing")
    made = [a_sheet(emulator, f"Billing {n:02}", rows=0, folder=folder) for n in range(7)]
    emulator.token_page_sizes = (0, 1, 3)
    pages = every_page(client.Folders.get_folder_children, folder_id=folder, max_items=100)
    assert [len(page) for page in pages] == [0, 1, 3, 0, 1, 2]
    assert [sheet.id for page in pages for sheet in page] == made
    first = client.Folders.get_folder_children(folder, max_items=100)
    assert list(first.data) == [] and first.last_key, "an empty first page, with more to come"


def test_max_items_fills_pages_in_hundreds(client, emulator):
    folder = emulator.add_folder("Big")
    for n in range(250):
        a_sheet(emulator, f"Billing {n:03}", rows=0, folder=folder)
    pages = every_page(client.Folders.get_folder_children, folder_id=folder, max_items=100)
    assert [len(page) for page in pages] == [100, 100, 50]
    assert len({sheet.id for page in pages for sheet in page}) == 250
    default = client.Folders.get_folder_children(folder)
    assert len(default.data) == 100 and default.last_key
    whole = client.Folders.get_folder_children(folder, max_items=1000)
    assert len(whole.data) == 250 and whole.last_key is None


def test_a_listing_changed_between_pages_goes_on_after_the_last_item_served(client, emulator):
    folder = emulator.add_folder("Billing")
    made = [a_sheet(emulator, f"Billing {n}", rows=0, folder=folder) for n in range(4)]
    emulator.token_page_sizes = (2,)
    first = client.Folders.get_folder_children(folder)
    with emulator.lock:
        del emulator.sheets[made[0]]
    rest = every_page(client.Folders.get_folder_children, folder_id=folder)
    second = client.Folders.get_folder_children(folder, last_key=first.last_key)
    assert [s.id for s in first.data] + [s.id for s in second.data] == made
    assert [s.id for page in rest for s in page] == made[1:]


def test_parameters_the_api_refuses(emulator, tree):
    children = f"/folders/{tree['top']}/children"
    for max_items in ("50", "150", "1100", "0", "x", "-100"):
        status, body = call(emulator, "GET", children, maxItems=max_items)
        assert (status, body["errorCode"]) == (400, 1018), max_items
    refused = [
        ({"childrenResourceTypes": "sheets,pages"}, 1018),
        ({"childrenResourceTypes": "templates"}, 1018),
        ({"include": "everything"}, 1018),
        ({"include": "ownerInfo"}, 1146),
        ({"lastKey": "not-a-key"}, 1018),
        ({"page": "2"}, 1018),
        ({"pageSize": "100"}, 1018),
        ({"includeAll": "true"}, 1018),
    ]
    for params, code in refused:
        assert call(emulator, "GET", children, **params)[1]["errorCode"] == code, params
    assert call(emulator, "GET", children, childrenResourceTypes="templates,sheets")[0] == 200
    emulator.token_page_sizes = (1,)
    _, page = call(emulator, "GET", f"/workspaces/{tree['workspace']}/children")
    status, body = call(emulator, "GET", children, lastKey=page["lastKey"])
    assert (status, body["errorCode"]) == (400, 1018), "a key of another listing"
    _, page = call(emulator, "GET", children, childrenResourceTypes="sheets")
    assert call(emulator, "GET", children, lastKey=page["lastKey"])[1]["errorCode"] == 1018
    assert call(emulator, "GET", "/workspaces", paginationType="offset")[1]["errorCode"] == 1018
    assert call(emulator, "GET", "/workspaces", maxItems="10")[1]["errorCode"] == 1018
    assert call(emulator, "GET", f"/folders/{tree['top']}/metadata", include="x")[0] == 400


def test_unknown_folders_and_workspaces_are_404_and_the_nested_gets_are_gone(
    client, emulator, tree
):
    for unknown in (
        lambda: client.Folders.get_folder_children(404),
        lambda: client.Folders.get_folder_metadata(404),
        lambda: client.Workspaces.get_workspace_children(404),
        lambda: client.Workspaces.get_workspace_metadata(404),
    ):
        with pytest.raises(ApiError) as error:
            unknown()
        assert (error.value.error.result.status_code, error.value.error.result.code) == (404, 1006)
    for removed in (f"/folders/{tree['top']}", f"/workspaces/{tree['workspace']}"):
        status, body = call(emulator, "GET", removed, include="sheets")
        assert (status, body["errorCode"]) == (404, 1006) and "sheets" not in body
    assert call(emulator, "GET", f"/workspaces/{tree['workspace']}/folders")[0] == 404


def test_items_have_the_fields_of_smartsheets_own_scenarios(emulator, tree):
    """Field names as in smartsheet/smartsheet-sdk-tests `mappings/scenarios/` (Get Folder
    Children, Get Folder/Workspace Metadata, List Workspaces): children carry a
    resourceType, folders no accessLevel, source only when asked for."""
    _, page = call(emulator, "GET", f"/folders/{tree['top']}/children")
    folder, sheet = page["data"][0], page["data"][1]
    dated = {"id", "name", "permalink", "createdAt", "modifiedAt"}
    assert set(folder) == dated | {"resourceType"} and folder["resourceType"] == "folder"
    assert set(sheet) == dated | {"accessLevel", "resourceType"} and "lastKey" not in page
    _, folder = call(emulator, "GET", f"/folders/{tree['sub']}/metadata")
    assert set(folder) == dated
    _, workspace = call(emulator, "GET", f"/workspaces/{tree['workspace']}/metadata")
    assert set(workspace) == dated | {"accessLevel"}
    _, listed = call(emulator, "GET", "/workspaces", paginationType="token", maxItems=100)
    assert listed == {
        "data": [
            {
                "id": tree["workspace"],
                "name": "Crews",
                "accessLevel": "OWNER",
                "permalink": f"https://app.smartsheet.com/workspaces/{tree['workspace']}",
            }
        ]
    }


def test_workspaces_are_listed_page_by_page(client, emulator):
    made = [emulator.add_workspace(f"Crew {n}") for n in range(5)]
    emulator.token_page_sizes = (2,)
    pages = every_page(client.Workspaces.list_workspaces, max_items=100)
    assert [[w.id for w in page] for page in pages] == [made[:2], made[2:4], made[4:]]
    assert all(isinstance(w, Workspace) for page in pages for w in page)


def test_copies_carry_their_source_wherever_they_are(client, emulator, tree):
    destination = ContainerDestination(
        {"destination_type": "folder", "destination_id": tree["sub"], "new_name": "Copy of A"}
    )
    made = client.Sheets.copy_sheet(tree["a"], destination, include=["data"]).result
    assert (made.name, made.access_level) == ("Copy of A", "OWNER")
    original, copy = client.Sheets.get_sheet(tree["a"]), client.Sheets.get_sheet(made.id)
    assert copy.source is None, "source only with include=source"
    assert client.Sheets.get_sheet(made.id, include="source").source.id == tree["a"]
    assert [c.title for c in copy.columns] == [c.title for c in original.columns]
    assert not {c.id for c in copy.columns} & {c.id for c in original.columns}
    values = [[cell.value for cell in row.cells] for row in original.rows]
    assert [[cell.value for cell in row.cells] for row in copy.rows] == values
    assert not {r.id for r in copy.rows} & {r.id for r in original.rows}
    children = client.Folders.get_folder_children(tree["sub"], include="source")
    assert [(s.name, s.source and s.source.id) for s in children.data] == [
        ("Billing North", None),
        ("Copy of A", tree["a"]),
    ]
    home = ContainerDestination({"destination_type": "home", "new_name": "Empty copy"})
    bare = client.Sheets.copy_sheet(tree["b"], home).result
    assert list(client.Sheets.get_sheet(bare.id).rows) == []
    assert ("sheet", bare.id) not in emulator.places
    seeded = emulator.copy_sheet(tree["b"], "Billing B - Copy", folder=tree["top"])
    listed = client.Sheets.list_sheets(include="source", include_all=True).data
    sources = {sheet.name: sheet.source.id for sheet in listed if sheet.source}
    assert sources == {
        "Copy of A": tree["a"],
        "Empty copy": tree["b"],
        "Billing B - Copy": tree["b"],
    }
    assert len(emulator.sheets[seeded]["rows"]) == 2


def test_copies_the_api_refuses(emulator, tree):
    path = f"/sheets/{tree['a']}/copy"
    to_folder = {"destinationType": "folder", "destinationId": tree["top"], "newName": "x"}
    refused = [
        ({**to_folder, "destinationId": 404}, {}, 404, 1006),
        ({"destinationType": "folder", "newName": "x"}, {}, 400, 1012),
        ({"destinationType": "home"}, {}, 400, 1012),
        ({"destinationType": "shelf", "newName": "x"}, {}, 400, 1031),
        (to_folder, {"include": "data,comments"}, 400, 1018),
        (to_folder, {"exclude": "rows"}, 400, 1018),
    ]
    for body, params, status, code in refused:
        answer = call(emulator, "POST", path, body, **params)
        assert (answer[0], answer[1]["errorCode"]) == (status, code), (body, params)
    status, body = call(emulator, "POST", path, {**to_folder, "destinationType": "FOLDER"})
    assert status == 200 and body["result"]["name"] == "x"
    assert call(emulator, "POST", "/sheets/404/copy", to_folder)[0] == 404


def test_list_sheets_pages_by_offset_and_filters_by_modification(client, emulator, tree):
    emulator.sheets[tree["b"]]["modifiedAt"] = "2026-11-23T10:00:00Z"
    names = [s.name for s in client.Sheets.list_sheets(include_all=True).data]
    assert names == sorted(names, key=str.casefold) and len(names) == 5
    page = client.Sheets.list_sheets(page_size=2, page=9, include="sheetVersion")
    assert (page.page_number, page.total_pages, page.total_count) == (3, 3, 5)
    assert [s.version for s in page.data] == [1]
    since = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    recent = client.Sheets.list_sheets(modified_since=since)
    assert [s.id for s in recent.data] == [tree["b"]]
    assert call(emulator, "GET", "/sheets", include="ownerInfo")[1]["errorCode"] == 1146
    assert call(emulator, "GET", "/sheets", modifiedSince="yesterday")[1]["errorCode"] == 1018


def test_folders_and_workspaces_made_through_the_sdk(client, emulator):
    workspace = client.Workspaces.create_workspace(Workspace({"name": "Crews"})).result
    assert (workspace.name, workspace.access_level) == ("Crews", "OWNER")
    folder = client.Workspaces.create_folder_in_workspace(workspace.id, Folder({"name": "A"}))
    inner = client.Folders.create_folder_in_folder(folder.result.id, Folder({"name": "B"}))
    columns = [{"title": "What", "type": "TEXT_NUMBER", "primary": True}]
    sheet = client.Folders.create_sheet_in_folder(
        inner.result.id, Sheet({"name": "Billing", "columns": columns})
    )
    children = client.Folders.get_folder_children(inner.result.id)
    assert [item.id for item in children.data] == [sheet.result.id]
    assert call(emulator, "POST", "/workspaces", {"title": "x"})[1]["errorCode"] == 1012


def test_moves_take_sheets_out_of_a_listing(client, emulator, tree):
    emulator.move("sheet", tree["a"], folder=tree["sub"])
    emulator.move("sheet", tree["b"])
    top = client.Folders.get_folder_children(tree["top"])
    assert [item.id for item in top.data] == [tree["sub"]]
    sub = client.Folders.get_folder_children(tree["sub"])
    assert [item.id for item in sub.data] == [tree["deep"], tree["a"]]
    with pytest.raises(ValueError, match="no folder 404"):
        emulator.move("sheet", tree["a"], folder=404)


def test_latency_is_paid_by_each_request_and_requests_overlap(emulator, tree):
    emulator.latency = 0.2
    start = time.monotonic()
    assert call(emulator, "GET", f"/sheets/{tree['a']}/version")[0] == 200
    assert time.monotonic() - start >= 0.2
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: call(emulator, "GET", f"/sheets/{tree['a']}/version"), range(8))
        )
    elapsed = time.monotonic() - start
    assert [status for status, _ in answers] == [200] * 8
    assert 0.2 <= elapsed < 0.8, f"8 requests at once took {elapsed:.2f} s"


def test_kept_alive_requests_wait_only_for_the_latency(emulator, tree):
    """Headers and body in two writes once cost every kept-alive request 40 ms (Nagle's
    algorithm against the client's delayed ACK): more than the latency a benchmark sets."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    start = time.monotonic()
    for _ in range(20):
        session.get(f"{emulator.base_url}/sheets/{tree['a']}/version", timeout=5)
    elapsed = time.monotonic() - start
    session.close()
    assert elapsed < 0.4, f"20 requests on one connection took {elapsed:.2f} s"


def test_requests_are_counted_by_route(client, emulator, tree):
    emulator.requests.clear()
    every_page(client.Folders.get_folder_children, folder_id=tree["top"])
    client.Sheets.get_sheet_version(tree["a"])
    client.Sheets.get_sheet_version(tree["b"])
    call(emulator, "GET", "/sheets/1/version", token="bad")
    assert emulator.request_counts() == {
        ("GET", "/folders/{id}/children"): 1,
        ("GET", "/sheets/{id}/version"): 3,
    }
    assert len(emulator.requests) == 4


def test_the_rate_limit_refusals_and_the_busiest_minute_are_kept(emulator, tree):
    now = [0.0]
    emulator.clock = lambda: now[0]
    emulator.requests_per_minute = 5
    version = f"/sheets/{tree['a']}/version"
    statuses = []
    for second in (0, 10, 20, 30, 40, 50, 55, 61, 75):
        now[0] = float(second)
        statuses.append(call(emulator, "GET", version)[0])
    assert statuses == [200] * 5 + [429] * 2 + [200] * 2
    assert emulator.rate_limited == {TOKEN: 2}
    assert emulator.peak_per_minute(TOKEN) == 5
    assert emulator.peak_per_minute("another-token") == 0
