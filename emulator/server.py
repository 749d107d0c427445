"""The emulator's state, its HTTP handler and fault injection.

Errors use Smartsheet's `{errorCode, message, refId}` form. Codes the reference names are
used as it names them (1002 invalid token, 1006 not found, 1042 bad cell value, 1135 columns
of one request with different indexes, 4003 rate limit); the others (1008 unparsable
request, 1036 unknown column, 1062 too many rows in a request, 1063 a sheet full at 20,000
rows, 1122 duplicate title, 1040 too large) are this emulator's choices, not checked
against the real API. Rows read (GET sheet, GET row) name who created and last changed
them (`createdBy`, `modifiedBy`) only with include=writerInfo, as the API's do.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import itertools
import math
import re
import ssl
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

MAX_ROWS_PER_REQUEST = 500
MAX_ROWS_PER_SHEET = 20_000
MAX_ATTACHMENT_BYTES = 30 * 1024 * 1024
DEFAULT_PAGE_SIZE = 100
PALETTE = [
    "none",
    "#000000",
    "#FFFFFF",
    "#FFEBEE",
    "#FFEBEE",
    "#FFF3DF",
    "#FFFEE6",
    "#E7F5E9",
    "#E2F2FE",
    "#F4E4F5",
    "#F2E8DE",
    "#FFCCD2",
    "#FFE1AF",
    "#FEFF85",
    "#C6E7C8",
    "#B9DDFC",
    "#EBC7EF",
    "#EEDCCA",
    "#E5E5E5",
    "#F87E7D",
    "#FFCA5B",
    "#FFED00",
    "#7ED085",
    "#5FB3F9",
    "#D190DA",
    "#D0AF8F",
    "#BDBDBD",
    "#EA352E",
    "#FF8D00",
    "#FFD400",
    "#009A47",
    "#006EFF",
    "#9B2BAE",
    "#A7784A",
    "#757575",
    "#991310",
    "#EA5000",
    "#EBB700",
    "#00572C",
    "#0040A8",
    "#59086D",
    "#5A3A1D",
]


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RateLimited(ApiError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, 4003, "Rate limit exceeded.")
        self.retry_after = retry_after


@dataclass
class Fault:
    """The next `count` requests whose path (and query) match fail this way.

    `path` and `query` are regexes searched in the path (without `/2.0`) and the raw query
    string. `json` answers with that document and `status` (give 200 to look successful),
    to serve torn or incomplete reads. `hang` never answers; `drop` closes the connection
    without a byte of answer. With `applied`, the request is carried out first and only its
    answer is the fault: a write whose response was lost (with `drop`, the loss an HTTP
    library's own retry would send again). The first `skip` matching requests pass untouched.
    """

    path: str
    query: str | None = None
    json: Any = None
    status: int = 500
    count: int = 1
    method: str | None = None
    error_code: int | None = None
    body: str | None = None
    delay: float = 0.0
    hang: bool = False
    drop: bool = False
    retry_after: int | None = None
    applied: bool = False
    skip: int = 0

    def matches(self, method: str, path: str, query: str) -> bool:
        return (
            (self.method is None or self.method == method)
            and bool(re.search(self.path, path))
            and (self.query is None or bool(re.search(self.query, query)))
        )


@dataclass
class Emulator:
    """State plus server. Start with `start()` (HTTPS with an `ssl_context`), point clients
    at `base_url`."""

    tokens: dict[str, str] = field(default_factory=lambda: {"emulator-token": "owner@example.com"})
    sheets: dict[int, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Cell history costs 10 of the 300 requests a minute a token may make: 30 a minute.
    history_per_minute: int = 30
    history: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._ids = itertools.count(5_000_000_000_000_000, 7919)
        self._server: ThreadingHTTPServer | None = None
        self._scheme = "http"
        self._history_calls: dict[str, list[float]] = {}

    # Control, for tests and the demo.

    def start(self, port: int = 0, ssl_context: ssl.SSLContext | None = None) -> Emulator:
        self._server = _Server(("127.0.0.1", port), _Handler)
        if ssl_context is not None:
            # The handshake is left to the first read, in the connection's own thread, so a
            # client that never finishes it cannot hold up the accepting loop.
            self._server.socket = ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self._scheme = "https"
        self._server.daemon_threads = True
        self._server.emulator = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the emulator first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}/2.0"

    def add_sheet(self, sheet: dict[str, Any]) -> int:
        with self.lock:
            self.sheets[int(sheet["id"])] = sheet
            sheet.setdefault("version", 1)
            sheet.setdefault("accessLevel", "OWNER")
            sheet.setdefault("rows", [])
            sheet["totalRowCount"] = len(sheet["rows"])
        return int(sheet["id"])

    def inject(self, path: str, **options: Any) -> Fault:
        fault = Fault(path, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def new_id(self) -> int:
        return next(self._ids)

    # Request handling.

    def handle(self, method: str, url: str, headers: Any, body: bytes) -> tuple[int, dict, bytes]:
        parsed = urllib.parse.urlsplit(url)
        path = parsed.path[4:] if parsed.path.startswith("/2.0") else parsed.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        with self.lock:
            self.requests.append((method, path))
        fault = self._take_fault(method, path, parsed.query)
        if fault is not None and fault.applied:
            self._answer(method, path, query, headers, body)
        if fault is not None:
            if fault.delay:
                self.stopping.wait(fault.delay)
            if fault.hang:
                self.stopping.wait(600)
            if fault.hang or fault.drop:
                return 0, {}, b""
            if fault.json is not None:
                return fault.status, {"Content-Type": "application/json"}, orjson.dumps(fault.json)
            if fault.status < 400:
                fault = None
        if fault is not None:
            return self._fault_response(fault)
        return self._answer(method, path, query, headers, body)

    def _answer(
        self, method: str, path: str, query: dict, headers: Any, body: bytes
    ) -> tuple[int, dict, bytes]:
        try:
            user = self._user(headers) if path != "/serverinfo" else ""
            status, document = self._route(method, path, query, headers, body, user)
        except RateLimited as error:
            headers = {"Content-Type": "application/json", "Retry-After": str(error.retry_after)}
            return error.status, headers, orjson.dumps(_error(error.code, error.message))
        except ApiError as error:
            status, document = error.status, _error(error.code, error.message)
        except Exception as error:  # a bug here must look like a server error, not a hang
            status, document = 500, _error(4004, f"Emulator error: {type(error).__name__}")
        return status, {"Content-Type": "application/json"}, orjson.dumps(document)

    def _take_fault(self, method: str, path: str, query: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.matches(method, path, query):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.count -= 1
                    return fault
        return None

    def _fault_response(self, fault: Fault) -> tuple[int, dict, bytes]:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.body is not None:
            headers["Content-Type"] = "text/html"
            return fault.status, headers, fault.body.encode()
        code = fault.error_code if fault.error_code is not None else 4004
        message = (
            "Rate limit exceeded." if code == 4003 else f"Injected fault (HTTP {fault.status})"
        )
        headers["Content-Type"] = "application/json"
        return fault.status, headers, orjson.dumps(_error(code, message))

    def _user(self, headers: Any) -> str:
        auth = headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if token not in self.tokens:
            raise ApiError(401, 1002, "Your Access Token is invalid.")
        return self.tokens[token]

    def _route(
        self, method: str, path: str, query: dict, headers: Any, body: bytes, user: str
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["serverinfo"]:
            return 200, {"formats": {"color": PALETTE}}
        if method == "GET" and parts == ["users", "me"]:
            return 200, {"id": 1, "email": user}
        if method == "POST" and (
            parts == ["sheets"] or (len(parts) == 3 and parts[0] in ("folders", "workspaces"))
        ):
            return 200, self._create_sheet(_json(body), user)
        if len(parts) < 2 or parts[0] != "sheets":
            raise ApiError(404, 1006, "Not Found")
        sheet = self._sheet(parts[1])
        rest = parts[2:]
        with self.lock:
            if method == "GET" and rest == []:
                return 200, _sheet_view(sheet, query)
            if method == "GET" and rest == ["version"]:
                return 200, {"version": sheet["version"]}
            if method == "GET" and rest == ["columns"]:
                return 200, _index(sheet["columns"], query)
            if method == "POST" and rest == ["columns"]:
                return 200, self._add_columns(sheet, _json(body))
            if method == "POST" and rest == ["rows"]:
                return 200, self._add_rows(sheet, _json(body), user)
            if method == "GET" and len(rest) == 2 and rest[0] == "rows":
                row = next((r for r in sheet["rows"] if r["id"] == _number(rest[1])), None)
                if row is None:
                    raise ApiError(404, 1006, "Not Found")
                return 200, _row_view(row, _included(query))
            if method == "PUT" and rest == ["rows"]:
                return 200, self._update_rows(sheet, _json(body), user)
            if method == "GET" and len(rest) == 5 and rest[::2] == ["rows", "columns", "history"]:
                self._count_history_call(headers)
                found = self.history.get((_number(rest[1]), _number(rest[3])), [])
                return 200, _index(list(reversed(found)), query)
            if method == "POST" and rest == ["attachments"]:
                return 200, self._attach(sheet, headers, body, user)
            if method == "GET" and rest == ["attachments"]:
                listed = self.attachments.get(sheet["id"], [])
                return 200, _index([_without_data(a) for a in listed], query)
        raise ApiError(404, 1006, "Not Found")

    def _sheet(self, text: str) -> dict[str, Any]:
        sheet = self.sheets.get(int(text)) if text.isdigit() else None
        if sheet is None:
            raise ApiError(404, 1006, "Not Found")
        return sheet

    def _create_sheet(self, data: Any, user: str) -> dict[str, Any]:
        columns = data.get("columns", []) if isinstance(data, dict) else []
        if not columns or sum(bool(c.get("primary")) for c in columns) != 1:
            raise ApiError(400, 1008, "A sheet needs columns and exactly one primary column.")
        titles = [c.get("title") for c in columns]
        if len(set(titles)) != len(titles):
            raise ApiError(400, 1122, "Column titles must be unique.")
        sheet_id = self.new_id()
        sheet = {
            "id": sheet_id,
            "name": data.get("name", "Untitled"),
            "version": 1,
            "accessLevel": "OWNER",
            "permalink": f"https://app.smartsheet.com/sheets/{sheet_id}",
            "createdAt": _now(),
            "modifiedAt": _now(),
            "columns": [
                {"id": self.new_id(), "index": n, **{k: v for k, v in c.items() if k != "index"}}
                for n, c in enumerate(columns)
            ],
            "rows": [],
        }
        self.add_sheet(sheet)
        result = {k: sheet[k] for k in ("id", "name", "accessLevel", "permalink", "columns")}
        return {"message": "SUCCESS", "resultCode": 0, "result": result}

    def _add_columns(self, sheet: dict[str, Any], data: Any) -> dict[str, Any]:
        """Every column of one request gives the same index, and they go in from there in
        request order."""
        items = data if isinstance(data, list) else [data]
        titles = {c["title"] for c in sheet["columns"]}
        first = items[0].get("index") if items and isinstance(items[0], dict) else None
        added = []
        for item in items:
            if not isinstance(item, dict) or not item.get("title") or not item.get("type"):
                raise ApiError(400, 1008, "A column needs a title and a type.")
            if item.get("index") != first:
                raise ApiError(
                    400,
                    1135,
                    f"Input column index {item.get('index')} is different from the first "
                    f"input column index {first}.",
                )
            if item["title"] in titles:
                raise ApiError(400, 1122, f"Column title {item['title']!r} is already in use.")
            titles.add(item["title"])
            added.append({"id": self.new_id(), **item})
        index = min(
            int(first if first is not None else len(sheet["columns"])), len(sheet["columns"])
        )
        sheet["columns"][index:index] = added
        for number, column in enumerate(sheet["columns"]):
            column["index"] = number
        _touch(sheet)
        return {"message": "SUCCESS", "resultCode": 0, "version": sheet["version"], "result": added}

    def _add_rows(self, sheet: dict[str, Any], data: Any, user: str) -> dict[str, Any]:
        items = data if isinstance(data, list) else [data]
        if len(items) > MAX_ROWS_PER_REQUEST:
            raise ApiError(400, 1062, f"At most {MAX_ROWS_PER_REQUEST} rows per request.")
        if len(sheet["rows"]) + len(items) > MAX_ROWS_PER_SHEET:
            raise ApiError(400, 1063, f"A sheet holds at most {MAX_ROWS_PER_SHEET:,} rows.")
        columns = {c["id"]: c for c in sheet["columns"]}
        now = _now()
        new_rows = []
        for index, item in enumerate(items):
            cells = []
            for cell in item.get("cells", []):
                column = columns.get(cell.get("columnId"))
                if column is None:
                    raise ApiError(
                        400, 1036, f"Row {index}: columnId {cell.get('columnId')} not found."
                    )
                if cell.get("strict", True) and not _valid(column, cell.get("value")):
                    raise ApiError(
                        400,
                        1042,
                        f"Row {index}: the value for cell in column {column['id']} did not "
                        f"conform to the strict requirements for type {column['type']}.",
                    )
                cells.append(
                    {
                        k: v
                        for k, v in cell.items()
                        if k in ("columnId", "value", "format", "formula")
                    }
                )
            who = {"email": user, "name": user.split("@")[0]}
            row_id = self.new_id()
            for cell in cells:
                self._record(row_id, columns[cell["columnId"]], cell.get("value"), who, now)
            new_rows.append(
                {
                    "id": row_id,
                    "sheetId": sheet["id"],
                    "cells": cells,
                    "createdAt": now,
                    "modifiedAt": now,
                    "createdBy": who,
                    "modifiedBy": who,
                    **({"format": item["format"]} if "format" in item else {}),
                }
            )
        if any(item.get("toTop") for item in items):
            sheet["rows"][:0] = new_rows
        else:
            sheet["rows"].extend(new_rows)
        for number, row in enumerate(sheet["rows"], start=1):
            row["rowNumber"] = number
        sheet["totalRowCount"] = len(sheet["rows"])
        _touch(sheet)
        return {
            "message": "SUCCESS",
            "resultCode": 0,
            "version": sheet["version"],
            "result": new_rows,
        }

    def _update_rows(self, sheet: dict[str, Any], data: Any, user: str) -> dict[str, Any]:
        """PUT /sheets/{id}/rows: new cell values, each recorded in the cell's history."""
        items = data if isinstance(data, list) else [data]
        if len(items) > MAX_ROWS_PER_REQUEST:
            raise ApiError(400, 1062, f"At most {MAX_ROWS_PER_REQUEST} rows per request.")
        rows = {row["id"]: row for row in sheet["rows"]}
        columns = {c["id"]: c for c in sheet["columns"]}
        who, now = {"email": user, "name": user.split("@")[0]}, _now()
        updated = []
        for index, item in enumerate(items):
            row = rows.get(item.get("id"))
            if row is None:
                raise ApiError(404, 1006, f"Row {index}: row {item.get('id')} not found.")
            cells = {cell["columnId"]: cell for cell in row["cells"]}
            for change in item.get("cells", []):
                column = columns.get(change.get("columnId"))
                if column is None:
                    raise ApiError(400, 1036, f"Row {index}: column not found.")
                cell = cells.get(column["id"])
                if cell is None:
                    cell = cells[column["id"]] = {"columnId": column["id"]}
                    row["cells"].append(cell)
                cell.pop("displayValue", None)
                cell["value"] = change.get("value")
                self._record(row["id"], column, change.get("value"), who, now)
            row["modifiedAt"], row["modifiedBy"] = now, who
            updated.append(row)
        _touch(sheet)
        version = sheet["version"]
        return {"message": "SUCCESS", "resultCode": 0, "version": version, "result": updated}

    def _record(
        self, row_id: int, column: dict[str, Any], value: Any, who: dict, when: str
    ) -> None:
        self.history.setdefault((row_id, column["id"]), []).append(
            {
                "columnId": column["id"],
                "columnType": column.get("type", "TEXT_NUMBER"),
                "value": value,
                "displayValue": "" if value is None else str(value),
                "modifiedAt": when,
                "modifiedBy": who,
            }
        )

    def _count_history_call(self, headers: Any) -> None:
        """Cell history's own rate limit: too many calls in 60 s give 429, errorCode 4003."""
        token = headers.get("Authorization", "")
        now = time.monotonic()
        calls = [t for t in self._history_calls.get(token, []) if now - t < 60]
        if len(calls) >= self.history_per_minute:
            self._history_calls[token] = calls
            raise RateLimited(math.ceil(60 - (now - calls[0])))
        self._history_calls[token] = [*calls, now]

    def _attach(
        self, sheet: dict[str, Any], headers: Any, body: bytes, user: str
    ) -> dict[str, Any]:
        content_type = headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser().parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            parts = [
                p
                for p in message.get_payload()
                if p.get_param("name", header="content-disposition") == "file"
            ]
            if not parts:
                raise ApiError(400, 1008, "No file part in the multipart body.")
            name = parts[0].get_filename()
            data = parts[0].get_payload(decode=True)
            mime = parts[0].get_content_type()
        else:
            disposition = headers.get("Content-Disposition", "")
            match = re.search(r'filename="?([^";]+)"?', disposition)
            if not match:
                raise ApiError(400, 1008, "Content-Disposition with a filename is required.")
            name, data, mime = urllib.parse.unquote(match[1]), body, content_type
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ApiError(400, 1040, "The file is larger than 30 MB.")
        attachment = {
            "id": self.new_id(),
            "name": name,
            "attachmentType": "FILE",
            "mimeType": mime,
            "sizeInKb": math.ceil(len(data) / 1024),
            "parentType": "SHEET",
            "parentId": sheet["id"],
            "createdAt": _now(),
            "createdBy": {"email": user, "name": user.split("@")[0]},
        }
        self.attachments.setdefault(sheet["id"], []).append({**attachment, "data": data})
        _touch(sheet)
        return {
            "message": "SUCCESS",
            "resultCode": 0,
            "version": sheet["version"],
            "result": attachment,
        }


def _sheet_view(sheet: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """GET /sheets/{id} with paging, include, level, columnIds and ifVersionAfter."""
    after = query.get("ifVersionAfter")
    if after is not None and after.lstrip("-").isdigit() and sheet["version"] <= int(after):
        return {"version": sheet["version"]}
    include = _included(query)
    level = int(query.get("level", "0") or 0)
    wanted = {int(c) for c in query.get("columnIds", "").split(",") if c.strip().isdigit()}
    columns = [c for c in sheet["columns"] if not wanted or c["id"] in wanted]
    low = {c["id"] for c in columns if _needs_level(c) > level}
    rows = sheet["rows"]
    if "page" in query or "pageSize" in query:
        size = max(1, int(query.get("pageSize", DEFAULT_PAGE_SIZE)))
        page = max(1, int(query.get("page", 1)))
        rows = rows[(page - 1) * size : page * size]
    view = {k: v for k, v in sheet.items() if k not in ("rows", "columns")}
    view["totalRowCount"] = len(sheet["rows"])
    view["columns"] = [{**c, "type": "TEXT_NUMBER"} if c["id"] in low else c for c in columns]
    ids = {c["id"] for c in columns}
    view["rows"] = [
        {
            **_row_view(row, include),
            "cells": [
                _cell_view(cell, include, cell["columnId"] in low)
                for cell in row.get("cells", [])
                if cell["columnId"] in ids
            ],
        }
        for row in rows
    ]
    return view


def _included(query: dict[str, str]) -> set[str]:
    return set(query.get("include", "").split(","))


def _row_view(row: dict[str, Any], include: set[str]) -> dict[str, Any]:
    """A row as reads show it: who created and last changed it only with
    include=writerInfo, as the API sends it."""
    if "writerInfo" in include:
        return row
    return {k: v for k, v in row.items() if k not in ("createdBy", "modifiedBy")}


def _without_data(attachment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attachment.items() if k != "data"}


def _needs_level(column: dict[str, Any]) -> int:
    return {"MULTI_CONTACT_LIST": 1, "MULTI_PICKLIST": 2}.get(column.get("type", ""), 0)


def _cell_view(cell: dict[str, Any], include: set[str], flattened: bool) -> dict[str, Any]:
    if "objectValue" in cell and ("objectValue" not in include or flattened):
        return {k: v for k, v in cell.items() if k != "objectValue"}
    return cell


def _index(items: list[Any], query: dict[str, str]) -> dict[str, Any]:
    if query.get("includeAll", "").lower() == "true":
        size, page = max(1, len(items)), 1
    else:
        size = max(1, int(query.get("pageSize", DEFAULT_PAGE_SIZE)))
        page = max(1, int(query.get("page", 1)))
    return {
        "pageNumber": page,
        "pageSize": size,
        "totalPages": max(1, math.ceil(len(items) / size)),
        "totalCount": len(items),
        "data": items[(page - 1) * size : page * size],
    }


def _valid(column: dict[str, Any], value: Any) -> bool:
    kind = column.get("type")
    if value is None:
        return True
    if kind == "CHECKBOX":
        return isinstance(value, bool)
    if kind == "DATE":
        return isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))
    if kind == "CONTACT_LIST":
        return isinstance(value, str) and "@" in value
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _touch(sheet: dict[str, Any]) -> None:
    sheet["version"] += 1
    sheet["modifiedAt"] = _now()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, 1008, "Unable to parse request.") from None


_ref = itertools.count(1)


def _error(code: int, message: str) -> dict[str, Any]:
    return {"errorCode": code, "message": message, "refId": f"emu{next(_ref):06d}"}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about a client that went away or refused the certificate, as tests make
        them do; anything else is still printed."""
        if not isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator: Emulator = self.server.emulator  # type: ignore[attr-defined]
        status, headers, payload = emulator.handle(self.command, self.path, self.headers, body)
        if status == 0:  # no answer at all: the connection closes with nothing sent
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in `Emulator.requests`, without their headers."""
