"""The client's transport against the emulator, in-process: no retry but the client's own,
certificates verified, and the environment's CA bundle and proxies applied."""

import time
from collections.abc import Callable, Iterator

import certifi
import pytest

from auditor.errors import SourceError, UsageError
from auditor.smartsheet_client import SmartsheetApi, UnsureWrite, Window, _weight
from demo import billing
from tests.conftest import TOKEN

VERSION = f"/sheets/{billing.SHEET_ID}/version"
ROWS = f"/sheets/{billing.SHEET_ID}/rows"
BOTH = pytest.mark.parametrize("scheme", ["http", "https"])


@pytest.fixture
def connect(emulator) -> Iterator[Callable[..., SmartsheetApi]]:
    """Clients of the emulator (or of `base`), closed after the test."""
    made: list[SmartsheetApi] = []

    def make(budget: float = 3, base: str | None = None) -> SmartsheetApi:
        made.append(SmartsheetApi(TOKEN, base or emulator.base_url, 2, budget))
        return made[-1]

    yield make
    for api in made:
        api.close()


@pytest.fixture(autouse=True)
def sheet(emulator) -> None:
    emulator.add_sheet(billing.make_sheet(rows=3))


@BOTH
def test_a_dropped_read_is_sent_again_by_the_clients_retry_alone(emulator, connect):
    emulator.inject(VERSION, drop=True)
    assert connect().get(VERSION, "version") == {"version": 1}
    assert emulator.requests == [("GET", VERSION)] * 2
    emulator.requests.clear()
    emulator.inject(VERSION, drop=True)
    with pytest.raises(SourceError, match=r"connection failed .* gave up after 1 try in the 0 s"):
        connect(budget=0).get(VERSION, "version")
    assert emulator.requests == [("GET", VERSION)]


@BOTH
def test_a_write_whose_connection_drops_is_sent_once(emulator, connect):
    emulator.inject(ROWS, method="POST", applied=True, drop=True)
    primary = emulator.sheets[billing.SHEET_ID]["columns"][0]["id"]
    row = {"toBottom": True, "cells": [{"columnId": primary, "value": "once"}]}
    with pytest.raises(UnsureWrite, match="adding a row: connection failed"):
        connect().post(ROWS, "adding a row", [row], replay=False)
    assert emulator.requests == [("POST", ROWS)]
    assert len(emulator.sheets[billing.SHEET_ID]["rows"]) == 4


@pytest.mark.parametrize("scheme", ["https"])
def test_a_certificate_from_a_ca_not_trusted_fails_at_once(emulator, connect, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with pytest.raises(SourceError) as error:
        connect(budget=60).get(VERSION, "version")
    assert "the TLS certificate of 127.0.0.1" in str(error.value)
    assert "set REQUESTS_CA_BUNDLE" in str(error.value) and "gave up" not in str(error.value)
    assert emulator.requests == []


@pytest.mark.parametrize("scheme", ["https"])
def test_a_ca_bundle_that_is_not_there_is_named(connect, monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    with pytest.raises(UsageError, match=r"gone.pem \(REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE\)"):
        connect()


def test_the_proxy_and_no_proxy_of_the_environment_are_applied(emulator, connect, monkeypatch):
    """Over http, where the emulator can stand in for the proxy: it takes the path from the
    absolute URL a proxy is sent. (Through an https proxy the client tunnels with CONNECT,
    which the emulator does not speak.) The conftest's NO_PROXY names 127.0.0.1."""
    elsewhere = "http://api.smartsheet.invalid/2.0"
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", emulator.base_url.removesuffix("/2.0"))
    assert connect(base=elsewhere).get(VERSION, "version") == {"version": 1}
    assert emulator.requests == [("GET", VERSION)]
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with pytest.raises(SourceError, match=r"connect to the proxy for api\.smartsheet\.invalid"):
        connect(base=elsewhere).get(VERSION, "version")
    assert connect().get(VERSION, "version") == {"version": 1}


def test_a_redirect_is_an_error_not_followed(emulator, connect):
    emulator.inject(VERSION, status=301, json={})
    with pytest.raises(SourceError, match="version: HTTP 301 redirect, not followed; check SMA"):
        connect().get(VERSION, "version")
    assert emulator.requests == [("GET", VERSION)]


def test_the_request_window_holds_a_request_past_its_limit_until_the_oldest_leaves():
    window = Window(2, 0.3)
    start = time.monotonic()
    window.enter()
    window.enter()
    assert time.monotonic() - start < 0.3
    window.enter()
    assert time.monotonic() - start >= 0.3


def test_a_cell_history_read_takes_ten_places_in_the_window():
    window = Window(10, 0.3)
    start = time.monotonic()
    window.enter(10)
    assert time.monotonic() - start < 0.3
    window.enter()
    assert time.monotonic() - start >= 0.3
    assert [
        _weight("GET", "/sheets/1/rows/2/columns/3/history?page=1"),
        _weight("GET", "/sheets/1"),
    ] == [10, 1]
    assert [_weight("POST", "/sheets/1/attachments"), _weight("GET", "/sheets/1/attachments")] == [
        10,
        1,
    ]


def test_the_clients_of_one_token_share_its_window(emulator):
    reading, publishing = (SmartsheetApi(TOKEN, emulator.base_url, 2, 3, 5) for _ in range(2))
    other = SmartsheetApi("another-token", emulator.base_url, 2, 3, 5)
    assert reading._window is publishing._window is not other._window
    reading.get(VERSION, "version")
    publishing.get(VERSION, "version")
    assert (reading.requests, publishing.requests) == (1, 1)
