"""The Smartsheet API client: our own `requests` session, raw JSON, one send per write.

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

That only holds if nothing beneath `call` sends a request again, so the session is ours and
not the SDK's: the SDK's session mounts an https adapter with urllib3 `Retry(total=1)` that
allows POST, which silently re-sends a write whose answer was lost and duplicates audit
rows. Our adapters, on http and https alike, never retry, and redirects are never followed
(a 301-303 would turn a POST into a GET whose 200 looks like a landed write). Nothing of the
SDK is left here: the token is ours to hold, and it goes only into the Authorization header.

Requests are sent prepared, and `Session.send` ignores the environment, so the client
applies it once when it is made: `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` for the API's host,
and `REQUESTS_CA_BUNDLE` (or `CURL_CA_BUNDLE`) as the CAs to trust instead of certifi's, for
a TLS-inspecting proxy or a private CA. Certificates are always verified.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson

from auditor.config import Config
from auditor.errors import SourceError, UsageError

# Connections kept open: one for each sheet read at once (`readers`, at most 32).
MAX_READERS = 32
RETRIED_ERROR_CODES = frozenset({4001, 4002, 4003, 4004})
RATE_LIMITED = 4003
MAX_BACKOFF = 10.0


class SmartsheetApi:
    """One authenticated client on a session of its own, which never retries on its own."""

    def __init__(
        self,
        token: str | None,
        base: str,
        timeout: float,
        retry_budget: float,
        per_minute: int = 270,
    ) -> None:
        token = (token or "").strip()  # a pasted token often ends with a line break
        if not token:
            raise UsageError(
                "no Smartsheet token: set SMARTSHEET_API_TOKEN (or SMARTSHEET_ACCESS_TOKEN)"
            )
        if not (token.isascii() and token.isprintable()) or " " in token:
            raise UsageError(
                "SMARTSHEET_API_TOKEN holds a space or a character no token has (it is not "
                "shown here); set it again"
            )
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util import Retry

        self._requests = requests
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.retry_budget = retry_budget
        self._token = token
        self._window = Window.of(self.base, token, per_minute)
        self._sent = 0
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "auditor"
        # read=False raises a read timeout as itself, so it stays a Timeout, not a retry error.
        adapter = HTTPAdapter(max_retries=Retry(total=0, read=False), pool_maxsize=MAX_READERS)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._settings = self._session.merge_environment_settings(self.base, {}, None, True, None)
        bundle = self._settings["verify"]
        if self.base.startswith("https://") and bundle is not True and not os.path.exists(bundle):
            raise UsageError(
                f"the CA bundle {bundle} (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE) does not exist"
            )

    @classmethod
    def configured(cls, config: Config) -> SmartsheetApi:
        return cls(
            config.token,
            config.api_base,
            config.timeout,
            config.retry_budget,
            config.requests_per_minute,
        )

    def close(self) -> None:
        self._session.close()

    @property
    def requests(self) -> int:
        """The requests this client has sent (each try of a retried one counts)."""
        return self._sent

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
        prepared = self._session.prepare_request(request)
        # Set after preparing: a ~/.netrc entry for the host would replace it otherwise.
        prepared.headers["Authorization"] = "Bearer " + self._token
        backoff = Backoff(self.retry_budget, what)
        while True:
            timeout = min(self.timeout, backoff.remaining())
            outcome = self._attempt(prepared, max(timeout, 0.1), what)
            if not isinstance(outcome, Failure):
                return outcome
            if not (replay or outcome.nothing_applied):
                raise UnsureWrite(f"{what}: {outcome.problem}")
            backoff.wait(outcome.problem, outcome.retry_after)

    def _attempt(self, prepared: Any, timeout: float, what: str) -> Any:
        """The parsed body on success, a Failure worth retrying, or SourceError."""
        requests = self._requests
        self._window.enter(_weight(prepared.method, prepared.path_url))
        self._sent += 1
        try:
            response = self._session.send(
                prepared, timeout=timeout, allow_redirects=False, **self._settings
            )
        except requests.Timeout:
            return Failure(f"no answer within {timeout:g} s (SMARTSHEET_TIMEOUT)")
        except requests.ConnectionError as error:
            host = urllib.parse.urlsplit(self.base).netloc
            if _refused(error) and isinstance(error, requests.exceptions.ProxyError):
                raise SourceError(
                    f"{what}: cannot connect to the proxy for {host} (connection refused); "
                    "check HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
                ) from None
            if _refused(error):
                raise SourceError(
                    f"{what}: cannot connect to {host} (connection refused); "
                    "check SMARTSHEET_API_BASE"
                ) from None
            if "CERTIFICATE_VERIFY_FAILED" in repr(error):
                raise SourceError(
                    f"{what}: the TLS certificate of {host} is not trusted; if a proxy or a "
                    "private CA signs it, set REQUESTS_CA_BUNDLE to that CA's certificate file"
                ) from None
            return Failure(f"connection failed ({type(error).__name__})")
        status = response.status_code
        body = _body(response.content)
        code = body.get("errorCode") if isinstance(body, dict) else None
        if 200 <= status < 300 and body is not None:
            return body
        if 300 <= status < 400:
            location = response.headers.get("Location")
            target = f" to {location}" if location else ""
            raise SourceError(
                f"{what}: HTTP {status} redirect{target}, not followed; check SMARTSHEET_API_BASE"
            )
        if status == 401:
            raise TokenRejected(
                f"{what}: token rejected (HTTP 401{_detail(body)}); check SMARTSHEET_API_TOKEN"
            )
        if status == 403:
            raise SourceError(
                f"{what}: not allowed (HTTP 403{_detail(body)}); share it with the token's user"
            )
        if status == 404:
            raise NotFound(f"{what}: not found or not shared with this token (HTTP 404)")
        if status == 429 or status >= 500 or code in RETRIED_ERROR_CODES or body is None:
            reason = f"HTTP {status}{_detail(body)}" if body else f"HTTP {status}, not JSON"
            limited = status == 429 or code == RATE_LIMITED
            return Failure(reason, response.headers.get("Retry-After"), nothing_applied=limited)
        raise SourceError(f"{what}: HTTP {status}{_detail(body)}")


_WINDOWS: dict[tuple[str, str, int], Window] = {}
_WINDOWS_LOCK = threading.Lock()


def _weight(method: str | None, path: str | None) -> int:
    """What a request costs against the rate limit: Smartsheet counts a cell history read
    and an attachment upload as 10 requests."""
    path = (path or "").partition("?")[0]
    costly = path.endswith("/history") or (method == "POST" and path.endswith("/attachments"))
    return 10 if costly else 1


class Window:
    """At most `limit` requests in any `seconds`: a caller past it waits for the oldest to
    leave the window. One window per token and API in a process (`Window.of`): the run's
    reading, publishing and attribution clients, and their threads, share the token's
    budget, as Smartsheet counts it."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, base: str, token: str, limit: int) -> Window:
        """The window of this token against this API; a second more than a minute, as
        the server counts from when a request arrives."""
        key = (base, hashlib.sha256(token.encode()).hexdigest(), limit)
        with _WINDOWS_LOCK:
            return _WINDOWS.setdefault(key, cls(limit, 61.0))

    def enter(self, weight: int = 1) -> None:
        """Wait for room for `weight` requests in the window, and take it."""
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.seconds:
                    self._sent.popleft()
                if len(self._sent) + weight <= self.limit or not self._sent:
                    self._sent.extend([now] * weight)
                    return
                wait = self._sent[0] + self.seconds - now
            time.sleep(wait)


class TokenRejected(SourceError):
    """HTTP 401: no request of this run can succeed."""


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
