"""The Smartsheet API source: the SDK's client for authentication and regions, raw JSON reads.

The SDK's typed models take over 20 s to build for a 500,000-cell sheet, and its request
logging re-parses every response body even with logging off, so requests go through the
client's own session and are parsed once with orjson. The SDK sets no timeout and retries
only on a body errorCode of 4001-4004; here every request has `SMARTSHEET_TIMEOUT`, and
429/4003, 5xx and timeouts are retried with backoff inside `SMARTSHEET_RETRY_BUDGET`,
counted from the first failure. With the defaults (30 s, 60 s) a server that stops
answering gives a clear error after at most 90 s.
"""

from __future__ import annotations

import logging
import math
import random
import time
import urllib.parse
from typing import Any

import orjson

from auditor.errors import SourceError, UsageError

RETRIED_ERROR_CODES = frozenset({4001, 4002, 4003, 4004})
PAGE_SIZE = 5000
MAX_BACKOFF = 10.0
READ_ATTEMPTS = 3


class SmartsheetApi:
    """One authenticated client; the token stays inside the SDK's client and its session."""

    def __init__(self, token: str | None, base: str, timeout: float, retry_budget: float) -> None:
        if not token:
            raise UsageError(
                "no Smartsheet token: set SMARTSHEET_API_TOKEN (or SMARTSHEET_ACCESS_TOKEN)"
            )
        import requests
        import smartsheet

        logging.getLogger("smartsheet").disabled = True
        self._requests = requests
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.retry_budget = retry_budget
        self._client = smartsheet.Smartsheet(
            access_token=token, api_base=self.base, user_agent="auditor"
        )
        self._client.errors_as_exceptions(True)

    def close(self) -> None:
        self._client._session.close()

    def get(self, path: str, what: str, **params: Any) -> Any:
        return self.call("GET", path, what, params=params)

    def call(self, method: str, path: str, what: str, **options: Any) -> Any:
        """One API call, retried as the module says; `what` names it in errors."""
        request = self._requests.Request(method, self.base + path, **options)
        prepared = self._client._session.prepare_request(request)
        prepared.headers["Authorization"] = "Bearer " + self._client._access_token
        prepared.headers["User-Agent"] = self._client._user_agent
        retry_until: float | None = None
        attempt = 0
        while True:
            now = time.monotonic()
            timeout = self.timeout if retry_until is None else min(self.timeout, retry_until - now)
            # A copy each time: the SDK's session redacts the token on the request it sent.
            problem, outcome = self._attempt(prepared.copy(), max(timeout, 0.1), what)
            if problem is None:
                return outcome
            attempt += 1
            retry_until = retry_until or time.monotonic() + self.retry_budget
            pause = min(float(outcome) if outcome else 0.5 * 2 ** (attempt - 1), MAX_BACKOFF)
            pause += random.uniform(0, pause / 4)
            if time.monotonic() + pause >= retry_until:
                raise SourceError(
                    f"{what}: {problem}; gave up after {attempt} "
                    f"{'try' if attempt == 1 else 'tries'} in the {self.retry_budget:g} s "
                    "retry budget (SMARTSHEET_RETRY_BUDGET)"
                )
            time.sleep(pause)

    def _attempt(self, prepared: Any, timeout: float, what: str) -> tuple[str | None, Any]:
        """(None, parsed body) on success, or (problem, Retry-After seconds) to retry."""
        requests = self._requests
        try:
            response = self._client._session.send(prepared, timeout=timeout)
        except requests.Timeout:
            return f"no answer within {timeout:g} s (SMARTSHEET_TIMEOUT)", None
        except requests.ConnectionError as error:
            if _refused(error):
                host = urllib.parse.urlsplit(self.base).netloc
                raise SourceError(
                    f"{what}: cannot connect to {host} (connection refused); "
                    "check SMARTSHEET_API_BASE"
                ) from None
            return f"connection failed ({type(error).__name__})", None
        status = response.status_code
        body = _body(response.content)
        code = body.get("errorCode") if isinstance(body, dict) else None
        if 200 <= status < 300 and body is not None:
            return None, body
        if status in (401, 403):
            raise SourceError(
                f"{what}: token rejected (HTTP {status}{_detail(body)}); "
                "check SMARTSHEET_API_TOKEN and that it may read this sheet"
            )
        if status == 404:
            raise SourceError(f"{what}: not found or not shared with this token (HTTP 404)")
        if status == 429 or status >= 500 or code in RETRIED_ERROR_CODES or body is None:
            reason = f"HTTP {status}{_detail(body)}" if body else f"HTTP {status}, not JSON"
            return reason, response.headers.get("Retry-After")
        raise SourceError(f"{what}: HTTP {status}{_detail(body)}")


def read_sheet(api: SmartsheetApi, sheet_id: str, known_version: int | None) -> dict | None:
    """The sheet as `GET /sheets/{id}` gives it, every page joined; None if the version is
    `known_version` (nothing changed since the last snapshot)."""
    what = f"sheet {sheet_id}"
    version = api.get(f"/sheets/{sheet_id}/version", what).get("version")
    if known_version is not None and version == known_version:
        return None
    for _ in range(READ_ATTEMPTS):
        data = _read_pages(api, sheet_id, what)
        if data is not None:
            return data
    raise SourceError(f"{what}: it kept changing while being read; try again")


def _read_pages(api: SmartsheetApi, sheet_id: str, what: str) -> dict | None:
    """All pages, or None when the sheet changed between pages (a torn read)."""
    params = {"include": "objectValue", "level": 2, "pageSize": PAGE_SIZE}
    first = api.get(f"/sheets/{sheet_id}", what, page=1, **params)
    total = first.get("totalRowCount")
    if not isinstance(total, int) or "rows" not in first:
        raise SourceError(f"{what}: the response has no rows or totalRowCount; not a sheet")
    rows = list(first["rows"])
    for page in range(2, math.ceil(total / PAGE_SIZE) + 1):
        data = api.get(f"/sheets/{sheet_id}", what, page=page, **params)
        if data.get("version") != first.get("version"):
            return None
        rows.extend(data.get("rows", []))
    if len(rows) != total or len({row.get("id") for row in rows}) != total:
        raise SourceError(
            f"{what}: incomplete read, {len(rows)} distinct rows of {total}; nothing was recorded"
        )
    first["rows"] = rows
    return first


def _refused(error: Exception) -> bool:
    text = repr(error)
    return "Connection refused" in text or "Errno 111" in text


def _body(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _detail(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        return f", errorCode {body.get('errorCode')}: {body['message']}"
    return ""
