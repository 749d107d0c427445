"""The Smartsheet source over real HTTP against the emulator: types, paging, every fault.

After each failure the snapshots branch must be where it was.
"""

import subprocess
import time

import orjson
import pytest

from auditor.commands.read import read_smartsheet
from auditor.config import Config
from auditor.smartsheet_client import SmartsheetApi
from auditor.sources import api as api_module
from demo import billing
from tests.conftest import TOKEN
from tests.helpers import TYPED_ROW, git, typed_sheet

SHEET = str(billing.SHEET_ID)


@pytest.fixture
def sample(emulator):
    sheet = billing.make_sheet(rows=30)
    emulator.add_sheet(sheet)
    return sheet


def tip(repo):
    try:
        return git(repo, "rev-parse", "--verify", "-q", "snapshots")
    except subprocess.CalledProcessError:
        return None


def snapshot(cli, api_env, **extra):
    return cli("snapshot", env={**api_env, "SOURCE_SHEET_ID": SHEET, **extra})


def failed(result, text):
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and text in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_every_column_type_over_http(emulator, store):
    emulator.add_sheet(typed_sheet())
    api = SmartsheetApi(TOKEN, emulator.base_url, 2, 3)
    read = read_smartsheet(store, api, Config(sheets=("1",), money_columns=("Price",)))
    sheets, skipped = read.sheets, read.skipped
    api.close()
    assert skipped == []
    assert sheets[0].rows["9"] == TYPED_ROW
    assert [c.type for c in sheets[0].columns][7] == "MULTI_PICKLIST"


def test_snapshot_then_skip_on_unchanged_version(repo, cli, api_env, emulator, sample):
    first = snapshot(cli, api_env)
    assert first.returncode == 0, first.stderr
    assert "Billing 2026 (v1): 30 rows (first snapshot)" in first.stdout
    emulator.requests.clear()
    again = snapshot(cli, api_env)
    assert "version unchanged since the last snapshot; not read" in again.stdout
    assert emulator.requests == [("GET", f"/sheets/{SHEET}/version")]
    with emulator.lock:
        billing.set_cell(sample, 2, "Quantity", 77, "kim@example.com", "2026-11-24T10:00:00Z")
    edited = snapshot(cli, api_env)
    assert "Billing 2026 (v2): +0 rows, -0 rows, 1 cell" in edited.stdout
    rows = orjson.loads(git(repo, "show", f"snapshots:snapshots/{SHEET}/rows.json"))
    assert rows[str(sample["rows"][1]["id"])]["modified_by"] == "kim@example.com"


def test_large_sheets_are_read_page_by_page(emulator, store, monkeypatch):
    monkeypatch.setattr(api_module, "PAGE_SIZE", 7)
    emulator.add_sheet(billing.make_sheet(rows=30))
    api = SmartsheetApi(TOKEN, emulator.base_url, 2, 3)
    sheets = read_smartsheet(store, api, Config(sheets=(SHEET,))).sheets
    api.close()
    assert len(sheets[0].rows) == 30
    pages = [path for method, path in emulator.requests if path == f"/sheets/{SHEET}"]
    assert len(pages) == 5


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 403, "error_code": 1004}, "not allowed (HTTP 403"),
        ({"status": 404, "error_code": 1006}, f"sheet {SHEET}: deleted or no longer shared"),
        ({"status": 500, "count": 100}, "HTTP 500, errorCode 4004"),
        ({"status": 429, "error_code": 4003, "count": 100}, "HTTP 429, errorCode 4003"),
        ({"status": 502, "body": "<html>Bad Gateway</html>", "count": 100}, "HTTP 502, not JSON"),
        ({"hang": True, "count": 100}, "no answer within"),
    ],
)
def test_a_failing_api_is_one_line_exit_3_and_no_commit(
    repo, cli, api_env, emulator, sample, fault, message
):
    assert snapshot(cli, api_env).returncode == 0
    with emulator.lock:
        billing.set_cell(sample, 1, "Quantity", 99)
    before = tip(repo)
    emulator.inject(f"/sheets/{SHEET}$", **fault)
    started = time.monotonic()
    result = snapshot(cli, api_env, SMARTSHEET_TIMEOUT="1", SMARTSHEET_RETRY_BUDGET="2")
    elapsed = time.monotonic() - started
    failed(result, message)
    assert tip(repo) == before
    assert elapsed < 1 + 2 + 3, "the timeout and the retry budget bound the run"


def test_the_token_rejected_and_a_refused_connection_fail_at_once(repo, cli, api_env, sample):
    failed(snapshot(cli, api_env, SMARTSHEET_API_TOKEN="wrong"), "token rejected (HTTP 401")
    closed = "http://127.0.0.1:9/2.0"
    failed(snapshot(cli, api_env, SMARTSHEET_API_BASE=closed), "connection refused")
    assert tip(repo) is None


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "error_code": 4003, "count": 2, "retry_after": 0},
        {"status": 502, "body": "<html>Bad Gateway</html>", "count": 1},
        {"status": 503, "count": 1},
        {"delay": 0.5, "status": 200},
        {"hang": True, "count": 1},
    ],
)
def test_transient_faults_are_retried_and_the_snapshot_lands(
    repo, cli, api_env, emulator, sample, fault
):
    emulator.inject(f"/sheets/{SHEET}$", **fault)
    result = snapshot(cli, api_env, SMARTSHEET_TIMEOUT="1", SMARTSHEET_RETRY_BUDGET="5")
    assert result.returncode == 0, result.stderr
    assert tip(repo) is not None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("missing page", "incomplete read, 7 distinct rows of 30"),
        ("short count", "incomplete read, 30 distinct rows of 31"),
    ],
)
def test_an_incomplete_read_never_becomes_a_commit(
    repo, cli, api_env, emulator, sample, monkeypatch, document, message
):
    full = emulator.handle("GET", f"/2.0/sheets/{SHEET}", {"Authorization": f"Bearer {TOKEN}"}, b"")
    data = orjson.loads(full[2])
    if document == "missing page":
        page = {**data, "rows": data["rows"][:7]}
        emulator.inject(f"/sheets/{SHEET}$", status=200, json=page, count=100)
    else:
        emulator.inject(f"/sheets/{SHEET}$", status=200, json={**data, "totalRowCount": 31})
    failed(snapshot(cli, api_env), message)
    assert tip(repo) is None


def test_a_sheet_that_changes_between_pages_is_read_again(emulator, store, monkeypatch):
    monkeypatch.setattr(api_module, "PAGE_SIZE", 10)
    sheet = billing.make_sheet(rows=25)
    emulator.add_sheet(sheet)
    moved = {**sheet, "version": sheet["version"] + 1, "rows": sheet["rows"][10:20]}
    emulator.inject(f"/sheets/{SHEET}$", query="page=2", status=200, json=moved)
    api = SmartsheetApi(TOKEN, emulator.base_url, 2, 3)
    sheets = read_smartsheet(store, api, Config(sheets=(SHEET,))).sheets
    api.close()
    assert len(sheets[0].rows) == 25
    assert [p for _, p in emulator.requests].count(f"/sheets/{SHEET}") == 2 + 3


def test_the_token_is_in_no_output_log_file_or_git_object(
    repo, cli, api_env, emulator, sample, tmp_path
):
    secret = "tok-3f9a1c7e5b2d48e6a0c4"
    emulator.tokens[secret] = "ci@example.com"
    env = {**api_env, "SMARTSHEET_API_TOKEN": secret, "SOURCE_SHEET_ID": SHEET}
    outputs = [cli("snapshot", env=env)]
    with emulator.lock:
        billing.set_cell(sample, 3, "Quantity", 12)
    emulator.inject(f"/sheets/{SHEET}$", status=429, error_code=4003, count=1, retry_after=0)
    outputs += [cli("snapshot", env=env), cli("check", env=env), cli("log", env=env)]
    emulator.inject(f"/sheets/{SHEET}/version", status=500, count=100)
    outputs += [cli("snapshot", env={**env, "SMARTSHEET_RETRY_BUDGET": "1"})]
    outputs += [
        cli("--debug", "snapshot", env={**env, "SMARTSHEET_API_BASE": "http://127.0.0.1:9"})
    ]
    assert [o.returncode for o in outputs] == [0, 0, 0, 0, 3, 3]
    texts = [o.stdout + o.stderr for o in outputs]
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo, capture_output=True
    ).stdout
    assert len(objects) > 1000
    files = [p.read_bytes() for p in repo.rglob("*") if p.is_file()]
    assert all(secret not in text for text in texts)
    assert secret.encode() not in objects
    assert all(secret.encode() not in data for data in files)
    assert all(secret not in path for _, path in emulator.requests)
