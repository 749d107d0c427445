"""The Smartsheet API client: the SDK's client for authentication and regions, raw JSON.

Used at both ends of the flow: sources read billing sheets with it, outputs publish audit
rows with it. The SDK's typed models take over 20 s to build for a 500,000-cell sheet, and
its request logging re-parses every response body even with logging off, so requests go
through the client's own session and are parsed once with orjson. The SDK sets no timeout
and retries only on a body errorCode of 4001-4004; here every request has
`SMARTSHEET_TIMEOUT`, and 429/4003, 5xx and timeouts are retried with backoff inside
`SMARTSHEET_RETRY_BUDGET`, counted from the first failure. With the defaults (30 s, 60 s) a
server that stops answering gives a clear error after at most 90 s.

A write that may have been applied before it failed (a timeout, a dropped connection, a
5xx) is not sent again blindly: `call(..., replay=False)` raises `UnsureWrite` instead, so
the caller can look at the sheet and send only what is missing.
"""

from __future__ import annotations

import logging
import math
import random
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import orjson

from auditor.config import Config
from auditor.errors import SourceError, UsageError

RETRIED_ERROR_CODES = frozenset({4001, 4002, 4003, 4004})
RATE_LIMITED = 4003
MAX_BACKOFF = 10.0


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

    @classmethod
    def configured(cls, config: Config) -> SmartsheetApi:
        return cls(config.token, config.api_base, config.timeout, config.retry_budget)

    def close(self) -> None:
        self._client._session.close()

    def get(self, path: str, what: str, **params: Any) -> Any:
        return self.call("GET", path, what, params=params)

    def post(self, path: str, what: str, document: Any, *, replay: bool = True) -> Any:
        """POST a JSON document (see `call` for `replay`)."""
        return self.call(
            "POST",
            path,
            what,
            replay=replay,
            data=orjson.dumps(document),
            headers={"Content-Type": "application/json"},
        )

    def call(
        self, method: str, path: str, what: str, *, replay: bool = True, **options: Any
    ) -> Any:
        """One API call, retried as the module says; `what` names it in errors. With
        `replay=False` only failures that certainly applied nothing (429) are retried."""
        request = self._requests.Request(method, self.base + path, **options)
        prepared = self._client._session.prepare_request(request)
        prepared.headers["Authorization"] = "Bearer " + self._client._access_token
        prepared.headers["User-Agent"] = self._client._user_agent
        backoff = Backoff(self.retry_budget, what)
        while True:
            timeout = min(self.timeout, backoff.remaining())
            # A copy each time: the SDK's session redacts the token on the request it sent.
            outcome = self._attempt(prepared.copy(), max(timeout, 0.1), what)
            if not isinstance(outcome, Failure):
                return outcome
            if not (replay or outcome.nothing_applied):
                raise UnsureWrite(f"{what}: {outcome.problem}")
            backoff.wait(outcome.problem, outcome.retry_after)

    def _attempt(self, prepared: Any, timeout: float, what: str) -> Any:
        """The parsed body on success, a Failure worth retrying, or SourceError."""
        requests = self._requests
        try:
            response = self._client._session.send(prepared, timeout=timeout)
        except requests.Timeout:
            return Failure(f"no answer within {timeout:g} s (SMARTSHEET_TIMEOUT)")
        except requests.ConnectionError as error:
            if _refused(error):
                host = urllib.parse.urlsplit(self.base).netloc
                raise SourceError(
                    f"{what}: cannot connect to {host} (connection refused); "
                    "check SMARTSHEET_API_BASE"
                ) from None
            return Failure(f"connection failed ({type(error).__name__})")
        status = response.status_code
        body = _body(response.content)
        code = body.get("errorCode") if isinstance(body, dict) else None
        if 200 <= status < 300 and body is not None:
            return body
        if status in (401, 403):
            raise SourceError(
                f"{what}: token rejected (HTTP {status}{_detail(body)}); "
                "check SMARTSHEET_API_TOKEN and the sheet's sharing"
            )
        if status == 404:
            raise NotFound(f"{what}: not found or not shared with this token (HTTP 404)")
        if status == 429 or status >= 500 or code in RETRIED_ERROR_CODES or body is None:
            reason = f"HTTP {status}{_detail(body)}" if body else f"HTTP {status}, not JSON"
            limited = status == 429 or code == RATE_LIMITED
            return Failure(reason, response.headers.get("Retry-After"), nothing_applied=limited)
        raise SourceError(f"{what}: HTTP {status}{_detail(body)}")


class NotFound(SourceError):
    """HTTP 404: the sheet, row or column is gone or not shared with the token."""


class UnsureWrite(SourceError):
    """A write failed in a way that leaves open whether the server applied it."""


@dataclass(frozen=True)
class Failure:
    problem: str
    retry_after: str | None = None
    nothing_applied: bool = False


class Backoff:
    """The waits between tries of one operation: exponential with jitter, or the server's
    Retry-After, until the next wait would end past the budget, counted from the first
    failure; then one line that says what failed and how often."""

    def __init__(self, budget: float, what: str) -> None:
        self.budget, self.what = budget, what
        self.tries = 0
        self.until: float | None = None

    def remaining(self) -> float:
        return math.inf if self.until is None else self.until - time.monotonic()

    def wait(self, problem: str, retry_after: str | None = None) -> None:
        self.tries += 1
        self.until = self.until or time.monotonic() + self.budget
        pause = min(float(retry_after) if retry_after else 0.5 * 2 ** (self.tries - 1), MAX_BACKOFF)
        pause += random.uniform(0, pause / 4)
        if pause >= self.remaining():
            raise SourceError(
                f"{self.what}: {problem}; gave up after {self.tries} "
                f"{'try' if self.tries == 1 else 'tries'} in the {self.budget:g} s "
                "retry budget (SMARTSHEET_RETRY_BUDGET)"
            )
        time.sleep(pause)


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
