"""The Smartsheet API emulator: its state, its HTTP handler, its rate limits, its faults.

A real HTTP server on 127.0.0.1 (HTTPS when started with an `ssl_context`) that answers the
calls auditor makes as Smartsheet API 2.0 answers them, for the tests and the demo. Where
the API refuses a request, the emulator refuses it too, with the API's status and
errorCode; what it cannot do as the API does, it refuses (1146) rather than half does, so
a test never passes on something the real API would have refused or done otherwise. The
sources are Smartsheet's API reference (developers.smartsheet.com, and the older
smartsheet-platform/api-docs), its Error Codes list, and the cross-SDK test scenarios of
smartsheet-platform/smartsheet-sdk-tests, which tests/test_conformance.py replays here.

Served under `/2.0` only, as by the API (any other path is 404), with a Bearer token
(`tokens` maps each to its user):

- `GET /sheets/{id}`: every row, or `page`/`pageSize` (100 by default; a page past the end
  is the last page, not an empty one, so readers stop by `totalRowCount`); `include=`
  `objectValue` (with `level`: multi-contact columns show as TEXT_NUMBER below 1,
  multi-picklist below 2), `writerInfo` (rows carry `createdBy`/`modifiedBy` only then),
  `format`, `columnType`; `exclude=nonexistentCells`; `columnIds`; `ifVersionAfter` (just
  `{"version"}` while unchanged). Rows carry `rowNumber`, `expanded`, `parentId` and
  `siblingId` where they have one, and a cell for every column (`{columnId}` alone for one
  never written); cells carry the `displayValue` of their column type. `rowIds`,
  `rowNumbers`, `rowsModifiedSince` and `filterId` are refused (1146): serving every row
  instead would pass a test the real filter might fail. A copy's `source` shows only with
  `include=source`.
- `GET /sheets/{id}/version`; `GET /sheets/{id}/columns` (index result: `page`,
  `pageSize`, `includeAll`, `level`; in every index result a page past the end is the last
  page).
- `GET /sheets`: every sheet, by name, as an index result (offset paging, which the API
  kept for this listing); `include=source` (a copy's `source`: `{"id", "type": "sheet"}`)
  and `sheetVersion`; `modifiedSince` (ISO 8601, else 1018). `include=ownerInfo` is
  refused (1146: owners are not emulated), any other value is 1018.
- `POST /sheets/{id}/copy` (a ContainerDestination): `destinationType` home, folder or
  workspace, in either case (the docs write it in lower case, the SDK scenarios in upper;
  else 1031), `destinationId` (1012) of a known folder or workspace (404), `newName`
  (1012). `include=data` copies the rows and `attachments` the attachments; the other
  values the SDK lists (cellLinks, discussions, filters, forms, ruleRecipients, rules,
  shares, all) are taken, and copy nothing the emulator keeps; others are 1018;
  `exclude=sheetHyperlinks`. The copy has new ids, version 1, OWNER access, rows without
  their cell history, and a `source` naming the original; the answer is a Result of its
  id, name, accessLevel and permalink.
- Folders and workspaces (`folders`, `workspaces`, `places`; see `emulator.tree`):
  `GET /folders/{id}/children` and `GET /workspaces/{id}/children`, token paged: `maxItems`
  100 to 1000 in steps of 100 (else 1018; 100 when not given), `lastKey` as the listing
  gave it (a key of another listing is 1018), absent on the last page; `page`, `pageSize`
  and `includeAll` are 1018 (offset paging was sunset on these listings). Pages hold
  `maxItems` unless `token_page_sizes` says otherwise: the API may send fewer, even none.
  `childrenResourceTypes` of sheets, folders, reports, sights, templates (templates only
  with sheets; else 1018): the emulator holds folders and sheets, folders listed first;
  `include=source` (ownerInfo is 1146). `GET /folders/{id}/metadata` and `GET
  /workspaces/{id}/metadata` (`include=source`). `GET /workspaces`, token paged, with the
  SDK's `paginationType=token` (any other is 1018). `POST /workspaces`, `POST
  /folders/{id}/folders`, `POST /workspaces/{id}/folders` (a `name`, 1012). An unknown
  folder or workspace is 404, 1006. `GET /folders/{id}` and `GET /workspaces/{id}`, which
  nested their sheets, are removed from the API (the reference, section 10): they are 404,
  1006, as any path the API does not have, so a client still calling them fails here.
- `POST /sheets/{id}/columns`: admin or owner only; `title`, `type` and `index` required;
  every column of a request gives the same index (else 400, 1135 "Input column index {0} is
  different from the first input column index {1}.") and they go in from there in request
  order; titles unique in the request (1133) and on the sheet (1056); no `primary` (1032).
  New columns get `validation: false` and `width: 150`.
- `POST /sheets/{id}/rows` and `PUT /sheets/{id}/rows`: editor or better; at most 500 rows
  a request (the request fails whole); all rows to the same location, `toTop` or
  `toBottom` (1123; both on one row is 1062; `parentId`, `siblingId`, `above`, `indent`
  and `outdent` are refused, 1146); the first bad row fails the request, with
  `detail.index` (and `detail.rowId` on updates), unless `allowPartialSuccess=true`, which
  adds the good rows and lists the others in `failedItems` (message PARTIAL_SUCCESS,
  resultCode 3). Cells: a known column (1036), once a row (1037); a value that is a string,
  number or boolean (1038), text of at most 4,000 characters (1041), numbers within
  +-9007199254740992 (1148); under strict parsing (the default; `strict: false` lifts it)
  the column's type: CHECKBOX booleans, DATE `YYYY-MM-DD`, CONTACT_LIST an email, PICKLIST
  one of the options (1042); no writes to system columns (1046). An empty string or null
  clears a cell (a checkbox to false). A formula must start with `=` (1162) and come
  without a value, hyperlink or link (1163); it is stored but not evaluated. URL
  hyperlinks are kept; the API's rules for hyperlinks and cell links are checked (1109 to
  1113, 1117; a link on a new row is 1032). A value with an objectValue is 1130. Every
  value written is recorded in its cell's history with the token's user. Answers carry the
  rows as GET row shows them, without writers.
- `GET /sheets/{id}/rows/{rowId}`: as a row of GET sheet, plus `sheetId`.
- `GET /sheets/{id}/rows/{rowId}/columns/{columnId}/history`: the edits made through the
  emulator, newest first (an index result); 404 for a row or column that is not there.
- `POST /sheets/{id}/attachments`: editor or better; a file as multipart/form-data (a part
  named `file`, 1125/1127) or as the docs' simple upload (a `Content-Disposition` filename,
  1011), at most 30 MB (1074); or a JSON LINK attachment (a FILE by JSON is 1051).
  `GET /sheets/{id}/attachments` lists them (index result).
- `POST /sheets`, `/folders/{id}/sheets`, `/workspaces/{id}/sheets` (which put the sheet
  in that folder or workspace): `name` and columns (1054), exactly one primary column
  (1055) of type TEXT_NUMBER (1057), unique titles (1056).
- `GET /users/me` (a UserProfile); `GET /serverinfo` (no token; `formats.color` only: the
  palette by index as real integrations report it for 0 to 19, 27, 35 and 41, plausible
  colours between).

Every write needs `Content-Type: application/json` (415, 1124) and a body (1024) that
parses (1008). A sheet holds at most 20,000 rows, 400 columns and 500,000 cells (rows times
columns): writes past them are refused (1061). Reads and writes of other paths or methods
are 404, 1006 "Not Found".

Rate limits, per token over the last 60 s of `clock`, as documented: 300 requests, where
a cell history call and a file upload each count 10, and at most 30 of each of those two
(`requests_per_minute`, `history_per_minute`, `attachments_per_minute`; tests lower them
or move a clock of their own). Over a limit: HTTP 429, `{"errorCode": 4003, "message":
"Rate limit exceeded."}`, with no Retry-After header, which the API does not promise.
Refused requests are not counted. They are enforced always; `rate_limited` counts the
refusals by token and `peak_per_minute(token)` is the most a token was charged in any 60
s, so that a benchmark can show a client stayed under the limit.

For benchmarks and request budgets: `latency` makes every request wait that many seconds
before it is answered (requests wait side by side, as over a network); `requests` lists
the method and path of every request received, refused ones included, and
`request_counts()` counts them by route (`("GET", "/sheets/{id}/version")`).

Error codes, all `{errorCode, message, refId}` (plus `detail` for bulk writes):
- From Smartsheet's Error Codes list (developers.smartsheet.com/api/smartsheet/error-codes,
  the same table as in the API reference's OpenAPI spec of 2025-01-22), used with the
  meaning and HTTP status it gives them: 1001 no token, 1002 invalid token, 1004 not
  authorized, 1006 not found, 1008 unparsable request, 1011 missing header, 1012 missing
  attribute, 1018 bad parameter value, 1024 no body, 1030 cannot assume a user, 1031 bad
  attribute value, 1032 attribute not allowed, 1036 unknown column, 1037 column twice in a
  row, 1038 value not a string or number, 1041 text too long, 1042 value not of the
  column's type, 1046 system column, 1051 FILE attachment by JSON, 1054 to 1057 new
  sheets, 1062 invalid row location, 1074 file too large, 1109 to 1113 and 1117
  hyperlinks, 1123 rows with different locations, 1124 content type, 1125 and 1127
  multipart parts, 1130 value and objectValue, 1133 duplicate titles in a request, 1135
  column index, 1137 a row twice in a request, 1148 number out of range, 1162 formula
  without `=`, 4003 rate limit; for injected faults also 4001 (503) and 4004 (500). 1018
  also for listing parameters (`maxItems`, `lastKey`, `childrenResourceTypes`, `include`,
  `modifiedSince`), and 1031 for a copy's `destinationType`.
- From the SDK scenarios: 1163 for a formula sent with a value, hyperlink or link (the
  Error Codes list words 1163 for images), and the wording of 1112.
- No documented code exists for these refusals; the nearest documented generic one is
  used: 1160 "Invalid bulk request" for more than 500 rows in a request, 1061 "Max count
  exceeded for field {0}" for a sheet past its size limits, 1146 "Unsupported operation:
  {0}" for what the emulator does not emulate (the real API may accept it), and 4000
  "An unexpected error has occurred" (HTTP 500) for a bug in the emulator.
- `Assume-User` is refused (1030): the emulator has no admins.

Not emulated (the differences tests/test_conformance.py lists): formulas are not evaluated;
hyperlinks to sheets, reports and Sights, cell links, images, `objectValue` writes and
values for project and multi-value columns are refused (1146); number formats do not reach
`displayValue`; cell history holds only the emulator's own edits; system columns are not
filled in; owners (`include=ownerInfo`) are refused (1146); every token sees every sheet,
folder and workspace; reports, dashboards and templates do not exist, and folders are not
copied or moved through the API; users, shares, discussions, the Sheets home (`/home`,
`/folders/personal`) and the rest are not served (404). Where the docs disagree: older
docs say text over 4,000 characters is truncated, and the emulator refuses it (the
stricter reading); the OpenAPI spec says a page past the end is empty, and the emulator
gives the last page, as the current docs say (which also catches a reader that pages
until it sees an empty page).

State is plain data: `sheets` (GET sheet documents, served as stored; `add_sheet` gives
their cells displayValues), `folders` and `workspaces` (their metadata), `places` (which
folder or workspace each sheet and folder is in), `attachments`, `history`, `requests`.
Tests may edit it under `lock` (a sheet deleted from `sheets` is gone from every listing).
Tests and the demo build it with `add_workspace`, `add_folder`, `add_sheet` (each in a
folder or a workspace if given), `copy_sheet` (a copy with a `source`, as POST
/sheets/{id}/copy makes it) and `move`. Faults are injected per path with `inject()`
(see `Fault`): an error status and code, a document to serve, a delay, a hang, a dropped
connection, or a request carried out whose answer is lost.
"""

from __future__ import annotations

import copy
import datetime as dt
import email.parser
import functools
import itertools
import math
import re
import ssl
import sys
import threading
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from emulator.errors import (
    ApiError,
    error_body,
    missing_attribute,
    not_emulated,
    not_found,
    too_many,
    unparsable,
)
from emulator.rules import (
    add_display,
    listed,
    new_columns,
    one_placement,
    parse_json,
    placement,
    row_cells,
    sheet_columns,
)
from emulator.tree import (
    Place,
    children,
    created,
    destination,
    metadata,
    name_of,
    new_container,
    sheet_list,
    workspace_list,
)
from emulator.views import (
    Cells,
    Shape,
    choices,
    columns_view,
    flag,
    index_page,
    row_view,
    sheet_view,
    sibling_ids,
)

MAX_ROWS_PER_REQUEST = 500
MAX_ROWS_PER_SHEET = 20_000
MAX_CELLS_PER_SHEET = 500_000
MAX_COLUMNS_PER_SHEET = 400
MAX_ATTACHMENT_BYTES = 30 * 1024 * 1024
# Cell history and file uploads count as this many requests against the per-minute limit.
HEAVY_COST = 10
WINDOW = 60.0
WRITERS = frozenset({"EDITOR", "EDITOR_SHARE", "ADMIN", "OWNER"})
# What a copy may bring along (POST /sheets/{id}/copy `include`): the emulator keeps rows
# and attachments; it has no cell links, discussions, filters, forms, rules or shares, so
# copying those copies nothing.
COPY_INCLUDES = frozenset(
    {
        "attachments",
        "cellLinks",
        "data",
        "discussions",
        "filters",
        "forms",
        "ruleRecipients",
        "rules",
        "shares",
        "all",
    }
)
ADMINS = frozenset({"ADMIN", "OWNER"})
# The errorCode an injected fault carries when the test gives none: the code the docs pair
# with that HTTP status.
FAULT_CODES = {401: 1002, 403: 1004, 404: 1006, 429: 4003, 503: 4001}
PALETTE = [
    "none",
    "#000000",
    "#FFFFFF",
    "transparent",
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
    "#592C00",
]


@dataclass
class Fault:
    """The next `count` requests whose path (and query) match fail this way.

    `path` and `query` are regexes searched in the path (without `/2.0`) and the raw query
    string. `json` answers with that document and `status` (give 200 to look successful),
    to serve torn or incomplete reads. `hang` never answers; `drop` closes the connection
    without a byte of answer. With `applied`, the request is carried out first and only its
    answer is the fault: a write whose response was lost (with `drop`, the loss an HTTP
    library's own retry would send again). The first `skip` matching requests pass untouched.
    Without `error_code`, the body carries the code the docs pair with `status` (4004 for
    other 5xx). `retry_after` adds a Retry-After header, which the API does not document:
    only to check that a client honours one if it comes.
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
    at `base_url`. The rate limits are per token and per 60 s of `clock`: tests lower them,
    or give a clock they move, instead of waiting."""

    tokens: dict[str, str] = field(default_factory=lambda: {"emulator-token": "owner@example.com"})
    sheets: dict[int, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    history: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    # Folders and workspaces by id, as their metadata shows them, and where each sheet and
    # folder is: ("sheet", id) or ("folder", id) to ("folder", id) or ("workspace", id).
    # A sheet that is in none is in the user's Sheets home: GET /sheets lists it all the same.
    folders: dict[int, dict[str, Any]] = field(default_factory=dict)
    workspaces: dict[int, dict[str, Any]] = field(default_factory=dict)
    places: dict[tuple[str, int], Place] = field(default_factory=dict)
    requests_per_minute: int = 300
    history_per_minute: int = 30
    attachments_per_minute: int = 30
    clock: Callable[[], float] = time.monotonic
    # Seconds every request waits before it is answered, as over a network (benchmarks).
    latency: float = 0.0
    # The lengths of successive pages of token-paged listings, cycled, each at most
    # maxItems: pages shorter than asked for, even empty, as the API may send them, so that
    # a client is seen to follow lastKey rather than count. Empty: full pages.
    token_page_sizes: tuple[int, ...] = ()
    # The requests each token had refused by the rate limits (429).
    rate_limited: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._ids = itertools.count(5_000_000_000_000_000, 7919)
        self._server: ThreadingHTTPServer | None = None
        self._scheme = "http"
        self._calls: dict[str, list[tuple[float, int, str | None]]] = {}
        self._charged: dict[str, list[tuple[float, int]]] = {}

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
        # stop() waits for the serving loop to look again: every 50 ms, not the default 0.5 s,
        # which a test suite starting an emulator per test pays at every teardown.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        threading.Thread(target=serve, daemon=True).start()
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

    def add_sheet(
        self, sheet: dict[str, Any], *, folder: int | None = None, workspace: int | None = None
    ) -> int:
        """Serve `sheet`, a GET /sheets/{id} response (a saved one, or made by a test), in a
        folder or a workspace if given. Its cells get the displayValue the API would send;
        it is served as it is from then on, so a test that edits it directly keeps it in
        the API's shape. A `source` ({"id", "type": "sheet"}) makes it a copy."""
        with self.lock:
            self._put(("sheet", int(sheet["id"])), self._place(folder, workspace))
            self.sheets[int(sheet["id"])] = sheet
            sheet.setdefault("version", 1)
            sheet.setdefault("accessLevel", "OWNER")
            sheet.setdefault("rows", [])
            sheet["totalRowCount"] = len(sheet["rows"])
            columns = {column["id"]: column for column in sheet.get("columns", [])}
            for row in sheet["rows"]:
                for cell in row.get("cells", ()):
                    add_display(columns.get(cell.get("columnId"), {}), cell)
        return int(sheet["id"])

    def add_workspace(
        self, name: str, *, workspace_id: int | None = None, access: str = "OWNER"
    ) -> int:
        """A new workspace (the token's access to it: `access`); its id."""
        with self.lock:
            made = self.new_id() if workspace_id is None else workspace_id
            self.workspaces[made] = new_container("workspace", made, name, _now(), access)
        return made

    def add_folder(
        self,
        name: str,
        *,
        folder: int | None = None,
        workspace: int | None = None,
        folder_id: int | None = None,
    ) -> int:
        """A new folder, in a folder or a workspace if given; its id."""
        with self.lock:
            made = self.new_id() if folder_id is None else folder_id
            self.folders[made] = new_container("folder", made, name, _now(), "OWNER")
            self._put(("folder", made), self._place(folder, workspace))
        return made

    def copy_sheet(
        self,
        sheet_id: int,
        name: str,
        *,
        folder: int | None = None,
        workspace: int | None = None,
        data: bool = True,
    ) -> int:
        """A copy of a sheet, as POST /sheets/{id}/copy makes one (its rows with `data`),
        with a `source` naming the original: a copy crews made, for tests and the demo. Its
        rows are written by the user of the first of `tokens`."""
        with self.lock:
            include = {"data"} if data else set()
            user = next(iter(self.tokens.values()))
            place = self._place(folder, workspace)
            return self._copy(self.sheets[sheet_id], name, place, include, user)["id"]

    def move(
        self, kind: str, item_id: int, *, folder: int | None = None, workspace: int | None = None
    ) -> None:
        """Move a sheet or a folder (`kind`) into a folder or a workspace, or with neither to
        the Sheets home (out of every folder). To delete a sheet, delete it from `sheets`."""
        with self.lock:
            self.places.pop((kind, item_id), None)
            self._put((kind, item_id), self._place(folder, workspace))

    def request_counts(self) -> Counter[tuple[str, str]]:
        """The requests received so far by method and route, ids written `{id}`: ("GET",
        "/folders/{id}/children") and so on."""
        with self.lock:
            seen = list(self.requests)
        return Counter((method, re.sub(r"/[0-9]+(?=/|$)", "/{id}", path)) for method, path in seen)

    def peak_per_minute(self, token: str) -> int:
        """The most a token was charged within any 60 s of `clock` (a cell history call or a
        file upload counts 10): what a client used of its 300 a minute at its busiest."""
        with self.lock:
            charged = list(self._charged.get(token, []))
        peak, total, first = 0, 0, 0
        for when, cost in charged:
            total += cost
            while charged[first][0] <= when - WINDOW:
                total -= charged[first][1]
                first += 1
            peak = max(peak, total)
        return peak

    def inject(self, path: str, **options: Any) -> Fault:
        fault = Fault(path, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def new_id(self) -> int:
        return next(self._ids)

    def _place(self, folder: int | None, workspace: int | None) -> Place | None:
        """Where seeding puts something: a folder, a workspace, or (neither) the home."""
        if folder is not None and workspace is not None:
            raise ValueError("a folder or a workspace, not both")
        if folder is not None and folder not in self.folders:
            raise ValueError(f"no folder {folder}: add_folder() it first")
        if workspace is not None and workspace not in self.workspaces:
            raise ValueError(f"no workspace {workspace}: add_workspace() it first")
        if folder is not None:
            return ("folder", folder)
        return None if workspace is None else ("workspace", workspace)

    def _put(self, item: tuple[str, int], place: Place | None) -> None:
        if place is not None:
            self.places[item] = place

    # Request handling.

    def handle(self, method: str, url: str, headers: Any, body: bytes) -> tuple[int, dict, bytes]:
        parsed = urllib.parse.urlsplit(url)
        # The API lives under /2.0 only: a base URL without it must fail here as it would there.
        path = parsed.path[4:] if parsed.path.startswith("/2.0/") else "/2.0 missing"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        with self.lock:
            self.requests.append((method, path))
        if self.latency:
            self.stopping.wait(self.latency)
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
            status, document = self._serve(method, path, query, headers, body)
        except ApiError as error:
            status, document = error.status, error.body()
        except Exception as error:  # a bug here must look like a server error, not a hang
            message = f"An unexpected error has occurred ({type(error).__name__} in the emulator)."
            status, document = 500, error_body(4000, message)
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
        code = fault.error_code
        if code is None:
            code = FAULT_CODES.get(fault.status, 4004)
        message = (
            "Rate limit exceeded." if code == 4003 else f"Injected fault (HTTP {fault.status})"
        )
        headers["Content-Type"] = "application/json"
        return fault.status, headers, orjson.dumps(error_body(code, message))

    def _serve(
        self, method: str, path: str, query: dict, headers: Any, body: bytes
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["serverinfo"]:
            return 200, {"formats": {"color": PALETTE}}
        token, user = self._caller(headers)
        self._count(token, _heavy(method, parts, headers))
        with self.lock:
            return self._route(method, parts, query, headers, body, user)

    def _caller(self, headers: Any) -> tuple[str, str]:
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise ApiError(401, 1001, "An Access Token is required.")
        token = auth[7:].strip()
        if token not in self.tokens:
            raise ApiError(401, 1002, "Your Access Token is invalid.")
        if headers.get("Assume-User"):
            # Only an admin may act as another user, and the emulator has no admins.
            raise ApiError(401, 1030, "You are unable to assume the user specified.")
        return token, self.tokens[token]

    def _count(self, token: str, heavy: str | None) -> None:
        """Charge the request to its token's last minute, or refuse it: 429 with errorCode
        4003 and no Retry-After, as documented. Refused requests are not charged."""
        now, cost = self.clock(), HEAVY_COST if heavy else 1
        limit = {"history": self.history_per_minute, "upload": self.attachments_per_minute}
        with self.lock:
            calls = [call for call in self._calls.get(token, []) if now - call[0] < WINDOW]
            over = sum(call[1] for call in calls) + cost > self.requests_per_minute or (
                heavy is not None and sum(call[2] == heavy for call in calls) >= limit[heavy]
            )
            self._calls[token] = calls if over else [*calls, (now, cost, heavy)]
            if over:
                self.rate_limited[token] += 1
            else:
                self._charged.setdefault(token, []).append((now, cost))
        if over:
            raise ApiError(429, 4003, "Rate limit exceeded.")

    def _route(
        self, method: str, parts: list[str], query: dict, headers: Any, body: bytes, user: str
    ) -> tuple[int, Any]:
        if method == "GET" and parts == ["users", "me"]:
            return 200, self._profile(user)
        if method == "GET" and parts == ["sheets"]:
            return 200, sheet_list(self.sheets, query)
        if method == "POST" and parts == ["sheets"]:
            return 200, self._create_sheet(_json(headers, body), None)
        if parts[0] in ("folders", "workspaces"):
            return 200, self._containers(method, parts, query, headers, body)
        if len(parts) < 2 or parts[0] != "sheets":
            raise not_found()
        sheet = self._sheet(parts[1])
        rest = parts[2:]
        if method == "GET" and rest == []:
            return 200, sheet_view(sheet, query)
        if method == "GET" and rest == ["version"]:
            return 200, {"version": sheet["version"]}
        if method == "GET" and rest == ["columns"]:
            level = Shape.of(query).level
            return 200, index_page(columns_view(sheet["columns"], level), query)
        if method == "GET" and len(rest) == 2 and rest[0] == "rows":
            return 200, self._row(sheet, rest[1], query)
        if method == "GET" and len(rest) == 5 and rest[::2] == ["rows", "columns", "history"]:
            return 200, self._history(sheet, rest[1], rest[3], query)
        if method == "GET" and rest == ["attachments"]:
            files = [_without_data(a) for a in self.attachments.get(sheet["id"], [])]
            return 200, index_page(files, query)
        return 200, self._write(method, sheet, rest, query, headers, body, user)

    def _write(
        self,
        method: str,
        sheet: dict[str, Any],
        rest: list[str],
        query: dict,
        headers: Any,
        body: bytes,
        user: str,
    ) -> dict[str, Any]:
        partial = flag(query, "allowPartialSuccess")
        if method == "POST" and rest == ["columns"]:
            _allowed(sheet, ADMINS)
            return self._add_columns(sheet, _json(headers, body))
        if method == "POST" and rest == ["rows"]:
            _allowed(sheet, WRITERS)
            return self._add_rows(sheet, _json(headers, body), user, partial)
        if method == "PUT" and rest == ["rows"]:
            _allowed(sheet, WRITERS)
            return self._update_rows(sheet, _json(headers, body), user, partial)
        if method == "POST" and rest == ["attachments"]:
            _allowed(sheet, WRITERS)
            return self._attach(sheet, headers, body, user)
        if method == "POST" and rest == ["copy"]:
            return self._copy_request(sheet, query, _json(headers, body), user)
        raise not_found()

    def _sheet(self, text: str) -> dict[str, Any]:
        sheet = self.sheets.get(int(text)) if text.isdigit() else None
        if sheet is None:
            raise not_found()
        return sheet

    def _containers(
        self, method: str, parts: list[str], query: dict, headers: Any, body: bytes
    ) -> dict[str, Any]:
        """/workspaces, and a folder's or a workspace's children, metadata, new folders and
        new sheets. GET /folders/{id} and GET /workspaces/{id}, which nested their sheets,
        are removed from the API: 404, as for any path it does not have."""
        if parts == ["workspaces"] and method == "GET":
            return workspace_list(self.workspaces, query, self.token_page_sizes)
        if parts == ["workspaces"] and method == "POST":
            return created(self.workspaces[self.add_workspace(name_of(_json(headers, body)))])
        if len(parts) != 3:
            raise not_found()
        place = (parts[0][:-1], _number(parts[1]))
        document = self._container(place)
        if method == "GET" and parts[2] == "children":
            held = {"folder": self.folders, "sheet": self.sheets}
            return children(self.places, held, place, query, self.token_page_sizes)
        if method == "GET" and parts[2] == "metadata":
            return metadata(place[0], document, query)
        if method == "POST" and parts[2] == "folders":
            name = name_of(_json(headers, body))
            return created(self.folders[self.add_folder(name, **{place[0]: place[1]})])
        if method == "POST" and parts[2] == "sheets":
            return self._create_sheet(_json(headers, body), place)
        raise not_found()

    def _container(self, place: tuple[str, int | None]) -> dict[str, Any]:
        known = {"folder": self.folders, "workspace": self.workspaces}[place[0]]
        found = known.get(place[1]) if place[1] is not None else None
        if found is None:
            raise not_found()
        return found

    def _profile(self, user: str) -> dict[str, Any]:
        """GET /users/me, with the fields of the API's UserProfile."""
        first, _, last = _writer(user)["name"].partition(" ")
        return {
            "id": zlib.crc32(user.encode()),
            "email": user,
            "firstName": first,
            "lastName": last,
            "locale": "en_US",
            "timeZone": "UTC",
            "account": {"name": user, "id": 1},
            "admin": False,
            "licensedSheetCreator": True,
            "groupAdmin": False,
            "resourceViewer": False,
            "alternateEmails": [],
            "sheetCount": len(self.sheets),
            "lastLogin": _now(),
            "title": "",
            "department": "",
            "company": "",
            "workPhone": "",
            "mobilePhone": "",
            "role": "",
        }

    def _create_sheet(self, data: Any, place: Place | None) -> dict[str, Any]:
        columns = sheet_columns(data, self.new_id)
        sheet_id = self.new_id()
        sheet = {
            "id": sheet_id,
            "name": data["name"],
            "version": 1,
            "accessLevel": "OWNER",
            "permalink": f"https://app.smartsheet.com/sheets/{sheet_id}",
            "createdAt": _now(),
            "modifiedAt": _now(),
            "columns": columns,
            "rows": [],
        }
        self.add_sheet(sheet)
        self._put(("sheet", sheet_id), place)
        result = {k: sheet[k] for k in ("id", "name", "accessLevel", "permalink", "columns")}
        return {"message": "SUCCESS", "resultCode": 0, "result": result}

    def _copy_request(
        self, sheet: dict[str, Any], query: dict, data: Any, user: str
    ) -> dict[str, Any]:
        """POST /sheets/{id}/copy: a ContainerDestination (where, and the new name)."""
        include = choices(query, "include", COPY_INCLUDES)
        choices(query, "exclude", {"sheetHyperlinks"})
        place, name = destination(data)
        if place is not None:
            self._container(place)
        made = self._copy(sheet, name, place, include, user)
        result = {k: made[k] for k in ("id", "name", "accessLevel", "permalink")}
        return {"message": "SUCCESS", "resultCode": 0, "result": result}

    def _copy(
        self,
        sheet: dict[str, Any],
        name: str,
        place: Place | None,
        include: set[str],
        user: str,
    ) -> dict[str, Any]:
        """A new sheet with the original's columns (new ids), its rows with `data` (new
        ids; without their cells' history), its attachments with `attachments`, owned by
        the caller, and a `source` naming the original."""
        now, who = _now(), _writer(user)
        wanted = COPY_INCLUDES if "all" in include else include
        made_id = self.new_id()
        columns = {column["id"]: self.new_id() for column in sheet["columns"]}
        copied = sheet["rows"] if "data" in wanted else []
        rows = {row["id"]: self.new_id() for row in copied}
        made = {
            "id": made_id,
            "name": name,
            "version": 1,
            "accessLevel": "OWNER",
            "permalink": f"https://app.smartsheet.com/sheets/{made_id}",
            "createdAt": now,
            "modifiedAt": now,
            "source": {"id": sheet["id"], "type": "sheet"},
            "columns": [{**copy.deepcopy(c), "id": columns[c["id"]]} for c in sheet["columns"]],
            "rows": [_copied_row(row, columns, rows, who, now) for row in copied],
        }
        if "attachments" in wanted:
            self.attachments[made_id] = [
                {**attachment, "id": self.new_id(), "parentId": made_id}
                for attachment in self.attachments.get(sheet["id"], [])
            ]
        self.add_sheet(made)
        self._put(("sheet", made_id), place)
        return made

    def _row(self, sheet: dict[str, Any], text: str, query: dict) -> dict[str, Any]:
        """GET /sheets/{id}/rows/{rowId}, with include, exclude and level."""
        row = next((r for r in sheet["rows"] if r["id"] == _number(text)), None)
        if row is None:
            raise not_found()
        return self._row_views(sheet, [row], Shape.of(query))[0]

    def _row_views(
        self, sheet: dict[str, Any], rows: list[dict[str, Any]], shape: Shape
    ) -> list[dict[str, Any]]:
        """Rows as GET row and write results show them: with the sheet's id."""
        positions = {row["id"]: n for n, row in enumerate(sheet["rows"])}
        siblings = sibling_ids(sheet["rows"])
        cells = Cells(sheet["columns"], shape)
        views = []
        for row in rows:
            at = positions[row["id"]]
            views.append({"sheetId": sheet["id"], **row_view(row, at + 1, siblings[at], cells)})
        return views

    def _history(
        self, sheet: dict[str, Any], row_text: str, column_text: str, query: dict
    ) -> dict[str, Any]:
        """A cell's edits, newest first: those made through this emulator's API."""
        row_id, column_id = _number(row_text), _number(column_text)
        if not any(row["id"] == row_id for row in sheet["rows"]):
            raise not_found()
        if not any(column["id"] == column_id for column in sheet["columns"]):
            raise not_found()
        found = self.history.get((row_id, column_id), [])
        return index_page(list(reversed(found)), query)

    def _add_columns(self, sheet: dict[str, Any], data: Any) -> dict[str, Any]:
        items, single = listed(data, "column")
        index, added = new_columns(sheet["columns"], items, self.new_id)
        _check_size(sheet, len(sheet["rows"]), len(sheet["columns"]) + len(added))
        sheet["columns"][index:index] = added
        for number, column in enumerate(sheet["columns"]):
            column["index"] = number
        _touch(sheet)
        return {"message": "SUCCESS", "resultCode": 0, "result": added[0] if single else added}

    def _add_rows(
        self, sheet: dict[str, Any], data: Any, user: str, partial: bool
    ) -> dict[str, Any]:
        """POST /sheets/{id}/rows: all rows or none, unless allowPartialSuccess."""
        items, single, places = _bulk_rows(data, default="bottom")
        columns = {column["id"]: column for column in sheet["columns"]}
        made, failed = [], []
        for index, item in enumerate(items):
            try:
                made.append({"cells": row_cells(columns, item, adding=True), **_row_fields(item)})
            except ApiError as error:
                failed.append(_failed(error, partial, index=index))
        _check_size(sheet, len(sheet["rows"]) + len(made), len(sheet["columns"]))
        who, now = _writer(user), _now()
        for row in made:
            row.update(id=self.new_id(), createdAt=now, modifiedAt=now)
            row.update(createdBy=who, modifiedBy=who)
            row["cells"] = _in_column_order(sheet, row["cells"])
            for cell in row["cells"]:
                self._record(row["id"], columns[cell["columnId"]], cell, who, now)
        if places[0] == "top":
            sheet["rows"][:0] = made
        else:
            sheet["rows"].extend(made)
        sheet["totalRowCount"] = len(sheet["rows"])
        return self._result(sheet, made, failed, single)

    def _update_rows(
        self, sheet: dict[str, Any], data: Any, user: str, partial: bool
    ) -> dict[str, Any]:
        """PUT /sheets/{id}/rows: new values (each recorded in its cell's history) and moves
        to the top or bottom."""
        items, single, places = _bulk_rows(data, default=None)
        ids = [item["id"] for item in items if item.get("id") is not None]
        if len(set(map(str, ids))) != len(ids):
            raise ApiError(
                400, 1137, "Input collection contains multiple instances of the same element."
            )
        rows = {row["id"]: row for row in sheet["rows"]}
        columns = {column["id"]: column for column in sheet["columns"]}
        changes, failed = [], []
        for index, item in enumerate(items):
            try:
                cells = row_cells(columns, item, adding=False)
                changes.append((_target(rows, item), item, cells, places[index]))
            except ApiError as error:
                failed.append(_failed(error, partial, index=index, rowId=item.get("id")))
        who, now = _writer(user), _now()
        for row, item, cells, _ in changes:
            self._apply(sheet, row, item, cells, (who, now))
        _move(sheet, [(row, place) for row, _, _, place in changes if place])
        return self._result(sheet, [row for row, _, _, _ in changes], failed, single)

    def _apply(
        self,
        sheet: dict[str, Any],
        row: dict[str, Any],
        item: dict[str, Any],
        cells: list[dict[str, Any]],
        writer: tuple[dict, str],
    ) -> None:
        """One row's update: its cells replaced (keeping a format or hyperlink the request
        does not mention), recorded in the cells' history."""
        who, now = writer
        columns = {column["id"]: column for column in sheet["columns"]}
        asked = {cell["columnId"]: cell for cell in item.get("cells", [])}
        stored = {cell["columnId"]: cell for cell in row.get("cells", [])}
        for cell in cells:
            old, mentioned = stored.get(cell["columnId"], {}), asked[cell["columnId"]]
            kept = {k: old[k] for k in ("format", "hyperlink") if k in old and k not in mentioned}
            stored[cell["columnId"]] = {**kept, **cell}
            self._record(row["id"], columns[cell["columnId"]], cell, who, now)
        row["cells"] = _in_column_order(sheet, list(stored.values()))
        row.update(_row_fields(item), modifiedAt=now, modifiedBy=who)

    def _result(
        self,
        sheet: dict[str, Any],
        rows: list[dict[str, Any]],
        failed: list[dict[str, Any]],
        single: bool,
    ) -> dict[str, Any]:
        """A bulk write's Result; PARTIAL_SUCCESS (resultCode 3) lists the rows that failed."""
        if rows:
            _touch(sheet)
        views = self._row_views(sheet, rows, Shape())
        result: dict[str, Any] = {
            "message": "PARTIAL_SUCCESS" if failed else "SUCCESS",
            "resultCode": 3 if failed else 0,
            "result": views[0] if single and views else views,
            "version": sheet["version"],
        }
        if failed:
            result["failedItems"] = failed
        return result

    def _record(
        self, row_id: int, column: dict[str, Any], cell: dict[str, Any], who: dict, when: str
    ) -> None:
        entry: dict[str, Any] = {"columnId": column["id"], "columnType": column.get("type")}
        for name in ("value", "displayValue", "formula"):
            if name in cell:
                entry[name] = cell[name]
        entry.update(modifiedAt=when, modifiedBy=who)
        self.history.setdefault((row_id, column["id"]), []).append(entry)

    def _attach(
        self, sheet: dict[str, Any], headers: Any, body: bytes, user: str
    ) -> dict[str, Any]:
        """A file (multipart, as the SDK sends it, or the docs' simple upload) or a link."""
        content_type = headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            attachment = _link(parse_json(body))
        else:
            name, data, mime = _upload(content_type, headers, body)
            if len(data) > MAX_ATTACHMENT_BYTES:
                raise ApiError(
                    400,
                    1074,
                    f"You are trying to upload a file of {len(data):,} bytes, but the API "
                    f"currently only supports {MAX_ATTACHMENT_BYTES:,}.",
                )
            attachment = {"name": name, "attachmentType": "FILE", "mimeType": mime}
            attachment.update(sizeInKb=math.ceil(len(data) / 1024), data=data)
        attachment = {"id": self.new_id(), **attachment, "parentType": "SHEET"}
        attachment.update(parentId=sheet["id"], createdAt=_now(), createdBy=_writer(user))
        self.attachments.setdefault(sheet["id"], []).append(attachment)
        _touch(sheet)
        result = _without_data(attachment)
        return {
            "message": "SUCCESS",
            "resultCode": 0,
            "version": sheet["version"],
            "result": result,
        }


def _heavy(method: str, parts: list[str], headers: Any) -> str | None:
    """Which of the two costly calls this is, if either: cell history, a file upload."""
    if method == "GET" and parts[-1:] == ["history"]:
        return "history"
    json_body = headers.get("Content-Type", "").startswith("application/json")
    if method == "POST" and parts[-1:] == ["attachments"] and not json_body:
        return "upload"
    return None


def _allowed(sheet: dict[str, Any], levels: frozenset[str]) -> None:
    if sheet.get("accessLevel", "OWNER") not in levels:
        raise ApiError(403, 1004, "You are not authorized to perform this action.")


def _json(headers: Any, body: bytes) -> Any:
    if not headers.get("Content-Type", "").startswith("application/json"):
        raise ApiError(415, 1124, "Invalid Content-Type header. Media type not supported.")
    return parse_json(body)


def _bulk_rows(
    data: Any, default: str | None
) -> tuple[list[dict[str, Any]], bool, list[str | None]]:
    """The rows of a write, whether one was sent alone, and where each goes. Refused whole
    (partial success or not): more than 500 rows, or rows that do not all go to the same
    place (of those that say, for updates)."""
    items, single = listed(data, "row")
    if len(items) > MAX_ROWS_PER_REQUEST:
        raise ApiError(
            400,
            1160,
            f"Invalid bulk request: at most {MAX_ROWS_PER_REQUEST} rows can be added or "
            "updated in one request.",
        )
    places = []
    for index, item in enumerate(items):
        try:
            places.append(placement(item) or default)
        except ApiError as error:
            raise error.at(index=index) from None
    one_placement([place for place in places if place is not None])
    return items, single, places


def _failed(error: ApiError, partial: bool, **where: Any) -> dict[str, Any]:
    """A failed item of a bulk write: the whole request fails unless partial success."""
    located = error.at(**{k: v for k, v in where.items() if v is not None})
    if not partial:
        raise located
    return {**located.detail, "error": error_body(error.code, error.message)}


def _target(rows: dict[int, dict[str, Any]], item: dict[str, Any]) -> dict[str, Any]:
    if item.get("id") is None:
        raise missing_attribute("row.id")
    row = rows.get(item["id"])
    if row is None:
        raise not_found()
    return row


def _copied_row(
    row: dict[str, Any], columns: dict[int, int], rows: dict[int, int], who: dict, now: str
) -> dict[str, Any]:
    """A row of a copy: new ids for it, its parent and its cells' columns; written now by
    whoever made the copy."""
    made = {k: copy.deepcopy(row[k]) for k in ("expanded", "format", "locked") if k in row}
    made.update(id=rows[row["id"]], createdAt=now, modifiedAt=now, createdBy=who, modifiedBy=who)
    if row.get("parentId") in rows:
        made["parentId"] = rows[row["parentId"]]
    made["cells"] = [
        {**copy.deepcopy(cell), "columnId": columns[cell["columnId"]]}
        for cell in row.get("cells", ())
        if cell.get("columnId") in columns
    ]
    return made


def _row_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The row attributes a write sets besides its cells; locked is kept only when true."""
    fields = {k: item[k] for k in ("format", "expanded") if item.get(k) is not None}
    if item.get("locked"):
        fields["locked"] = True
    return fields


def _move(sheet: dict[str, Any], moves: list[tuple[dict[str, Any], str]]) -> None:
    """Rows moved to the top or bottom (all of a request to the same place), in request
    order."""
    if not moves:
        return
    moved = [row for row, _ in moves]
    ids = {id(row) for row in moved}
    rest = [row for row in sheet["rows"] if id(row) not in ids]
    sheet["rows"][:] = moved + rest if moves[0][1] == "top" else rest + moved


def _in_column_order(sheet: dict[str, Any], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_column = {cell["columnId"]: cell for cell in cells}
    ordered = [by_column.pop(c["id"]) for c in sheet["columns"] if c["id"] in by_column]
    return ordered + list(by_column.values())


def _check_size(sheet: dict[str, Any], rows: int, columns: int) -> None:
    if columns > MAX_COLUMNS_PER_SHEET:
        raise too_many("columns", MAX_COLUMNS_PER_SHEET)
    if rows > MAX_ROWS_PER_SHEET:
        raise too_many("rows", MAX_ROWS_PER_SHEET)
    if rows * columns > MAX_CELLS_PER_SHEET:
        raise too_many("cells", MAX_CELLS_PER_SHEET)


def _link(data: Any) -> dict[str, Any]:
    """A JSON attachment: a link (the only kind emulated); a file must be uploaded."""
    if not isinstance(data, dict):
        raise unparsable("expected an attachment object")
    kind = data.get("attachmentType")
    if kind == "FILE":
        raise ApiError(400, 1051, "Attachments of type FILE cannot be created using JSON.")
    if kind != "LINK":
        raise not_emulated(f"attachments of type {kind}")
    if not data.get("url"):
        raise missing_attribute("attachment.url")
    link = {k: data[k] for k in ("name", "description", "url") if data.get(k) is not None}
    return {**link, "attachmentType": "LINK"}


def _upload(content_type: str, headers: Any, body: bytes) -> tuple[str, bytes, str]:
    """The file's name, bytes and type, from a multipart body or a simple upload."""
    if not content_type.startswith("multipart/form-data"):
        disposition = headers.get("Content-Disposition", "")
        match = re.search(r'filename="?([^";]+)"?', disposition)
        if not match:
            raise ApiError(
                400, 1011, "A required header was missing or invalid: Content-Disposition"
            )
        return urllib.parse.unquote(match[1]), body, content_type
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = message.get_payload() if message.is_multipart() else []
    if any(part.get_param("name", header="content-disposition") is None for part in parts):
        raise ApiError(400, 1125, "Each part in a multipart payload must have a name.")
    files = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
    if not files:
        raise ApiError(400, 1127, "Required multipart part was missing: 'file'")
    return files[0].get_filename(), files[0].get_payload(decode=True), files[0].get_content_type()


def _without_data(attachment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attachment.items() if k != "data"}


def _writer(user: str) -> dict[str, str]:
    """A user as rows, history and attachments name them: john.doe@x is John Doe."""
    return {"email": user, "name": user.split("@")[0].replace(".", " ").title()}


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _touch(sheet: dict[str, Any]) -> None:
    sheet["version"] += 1
    sheet["modifiedAt"] = _now()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about a client that went away or refused the certificate, as tests make
        them do; anything else is still printed."""
        if not isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the second waits for
    # the client's delayed ACK of the first, 40 ms on every kept-alive request, which would
    # drown a benchmark's 50 ms of `latency`.
    disable_nagle_algorithm = True

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
