"""What a run reads: the sheets to audit (listed and found), each read when its version
moved, several at once; the sheets that left the audit, and why; those that failed.

A sheet that could not be read this time (a 5xx, a timeout, a torn read) is carried
forward as it was, never recorded as removed: the run says so and exits 3. A sheet that
left (deleted, unshared, moved out of its folder, renamed into an exclude glob) is one
event, not thousands of removed rows.

Which sheets may leave is decided by where they came from, which each snapshot records
(`found=` in its trailer): a run only answers for what it searched. A sheet found in a
folder this run did not search, or listed by id, is another job's and is carried (several
jobs of a matrix share one branch, each with its own sheets).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from auditor.config import Config
from auditor.errors import SourceError, UsageError
from auditor.smartsheet_client import NotFound, SmartsheetApi, TokenRejected
from auditor.snapshot import canonical
from auditor.snapshot.canonical import SHEET_FILE
from auditor.snapshot.model import Sheet
from auditor.sources.api import read_sheet
from auditor.sources.discover import Discovery, discover, origin_text, sheet_ids, sheet_list
from auditor.sources.files import read_file
from auditor.sources.smartsheet_rows import sheet_from_api
from auditor.store.gitstore import Store
from auditor.store.message import SheetRecord, sheet_records
from auditor.text import plural

log = logging.getLogger("auditor")

# From this many sheets on, their versions come from the sheet list, not one check each.
LISTING_FROM = 4
GONE = "deleted or no longer shared with the token (HTTP 404)"
CARRIED = "carried forward as it was"
NOT_YET = "not in the audit yet: the next run tries again"


@dataclass(frozen=True)
class FileSource:
    """A file to snapshot (`auditor snapshot --file`), keyed by the configured key columns."""

    path: Path
    sheet_id: str | None = None
    worksheet: str | None = None


@dataclass
class Read:
    """What a run read, and what it knows of the sheets it did not."""

    sheets: list[Sheet] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Ids whose version has not moved since the last snapshot: not read."""
    origins: dict[str, str] = field(default_factory=dict)
    """Every audited sheet's origin (`listed`, `folder:ID`...), for the trailers."""
    left: dict[str, str] = field(default_factory=dict)
    """Sheets that left the audit, and why."""
    failed: dict[str, str] = field(default_factory=dict)
    """Sheets that could not be read this time, and the error: carried forward (or, for
    one not yet on the branch, not recorded)."""

    @property
    def versions(self) -> dict[str, int | None]:
        return {sheet.sheet_id: sheet.version for sheet in self.sheets}


def read_sources(
    store: Store, config: Config, sheet_ids: list[str] | None, file: FileSource | None = None
) -> tuple[Read, int]:
    """The sheets to snapshot, and the number of API requests it took. `sheet_ids` (from
    `--sheet`) replaces the configured sheets, folders and workspaces; with a file and no
    ids, only the file is read."""
    if sheet_ids is not None or file is not None:
        only = tuple(sheet_ids or ())
        config = replace(config, sheets=only, folders=(), workspaces=(), follow_copies=False)
    read, requests = Read(), 0
    if config.sheets or config.folders or config.workspaces:
        api = SmartsheetApi.configured(config)
        try:
            read = read_smartsheet(store, api, config)
        finally:
            api.close()
        requests = api.requests
    if file is not None:
        sheet = read_file(
            file.path,
            key_columns=config.key_columns,
            sheet_id=file.sheet_id,
            worksheet=file.worksheet,
            money_columns=config.money_columns,
        )
        read.sheets.append(sheet)
    return read, requests


def read_smartsheet(store: Store, api: SmartsheetApi, config: Config) -> Read:
    """The audited sheets whose version moved since the last snapshot, read several at once.

    A sheet whose version equals the one recorded with the tip is not read at all: the
    version check is one small request, the full read of a large sheet is 40 MB.
    """
    discovery = discover(api, config)
    tip = store.tip()
    records = sheet_records(store.info(tip).message) if tip else {}
    trees = store.sheet_trees(tip)
    known = {key: record.version for key, record in records.items()}
    known |= store.seen_versions(trees)
    on_branch = set(trees)
    if not discovery.audited and not on_branch:
        held = len(discovery.excluded)
        raise UsageError(
            f"no sheet to audit: the configured folders and workspaces hold "
            f"{plural(held, 'sheet')}, {'all left out by the globs' if held else 'none'} "
            "(include_names, exclude_names; `auditor check` lists them)"
        )
    read = Read()
    read.origins = {found.sheet_id: found.origin for found in discovery.audited}

    versions = _listed_versions(api, discovery)
    rejected: list[TokenRejected] = []

    def fetch(sheet_id: str) -> dict | None:
        if rejected:  # no request of this run can succeed: the other reads stop too
            return None
        try:
            return read_sheet(api, sheet_id, known.get(sheet_id), versions.get(sheet_id))
        except TokenRejected as error:
            rejected.append(error)
            raise

    # Each read is a version check, then a page or a few; the client keeps the whole run
    # under Smartsheet's 300 requests a minute, however many read at once.
    with ThreadPoolExecutor(max_workers=config.readers) as pool:
        futures = {sheet_id: pool.submit(fetch, sheet_id) for sheet_id in discovery.sheet_ids}
    for sheet_id, future in futures.items():
        _take(read, sheet_id, future, sheet_id in on_branch, config)
    if rejected:
        raise rejected[0]
    read.left |= _left(api, config, discovery, _Branch(store, trees, records), read.failed)
    for sheet_id in read.left:
        read.origins.pop(sheet_id, None)
    return read


def _take(read: Read, sheet_id: str, future: Future, on_branch: bool, config: Config) -> None:
    """One sheet's read into `read`: its data, skipped (version unchanged), left (404 for a
    sheet on the branch), or failed (carried forward)."""
    try:
        data = future.result()
    except NotFound as error:
        if on_branch:
            read.left[sheet_id] = GONE
        elif read.origins[sheet_id] == "listed":
            raise
        else:  # found in a listing, gone before it was read: not recorded this time
            read.failed[sheet_id] = f"{error}; {NOT_YET}"
        return
    except TokenRejected:
        return  # raised once, for the whole run, by the caller
    except SourceError as error:
        read.failed[sheet_id] = f"{error}; {CARRIED if on_branch else NOT_YET}"
        return
    if data is None:
        read.skipped.append(sheet_id)
        return
    sheet = sheet_from_api(
        data,
        sheet_id=sheet_id,
        key_columns=config.key_columns,
        money_columns=config.money_columns,
    )
    read.sheets.append(sheet)


def _listed_versions(api: SmartsheetApi, discovery: Discovery) -> dict[str, int]:
    """Versions from `GET /sheets?include=sheetVersion`, a thousand sheets a request, where
    that costs fewer requests than one version check a sheet: read (a part of) the list when
    at least LISTING_FROM sheets are audited, as many pages as it saves requests."""
    listing = discovery.listing
    count = len(discovery.audited)
    if listing is None and count >= LISTING_FROM:
        try:
            listing = sheet_list(api, max_pages=count // LISTING_FROM)
        except SourceError as error:
            if isinstance(error, TokenRejected):
                raise
            log.warning("%s; the versions are asked for one sheet at a time", error)
    return {
        sheet_id: sheet["version"]
        for sheet_id, sheet in (listing or {}).items()
        if type(sheet.get("version")) is int
    }


@dataclass(frozen=True)
class _Branch:
    """The tip's sheets: their folders and trailers."""

    store: Store
    trees: dict[str, str]
    records: dict[str, SheetRecord]

    def name(self, sheet_id: str) -> str:
        return canonical.load(self.store.read(self.trees[sheet_id], SHEET_FILE))["name"]


def _left(
    api: SmartsheetApi,
    config: Config,
    discovery: Discovery,
    branch: _Branch,
    failed: dict[str, str],
) -> dict[str, str]:
    """The sheets on the branch that this run searched for and did not find, and why; one
    whose fate could not be asked (a 5xx) goes into `failed` and is carried."""
    audited = set(discovery.sheet_ids)
    excluded = {item.sheet_id: item for item in discovery.excluded}
    left = {}
    for sheet_id in sorted(branch.trees.keys() - audited):
        record = branch.records.get(sheet_id)
        origin = record.found if record else "listed"
        if not searched(origin, config):
            continue
        if sheet_id in excluded:
            item = excluded[sheet_id]
            renamed = item.name != branch.name(sheet_id)
            named = f"renamed {item.name!r}" if renamed else f"named {item.name!r}"
            left[sheet_id] = f"{named}, left out by {item.why}"
            continue
        try:
            api.get(f"/sheets/{sheet_id}/version", f"sheet {sheet_id}")
        except NotFound:
            left[sheet_id] = GONE
        except TokenRejected:
            raise
        except SourceError as error:
            failed[sheet_id] = f"{error}; {CARRIED}"
        else:
            copy = origin.startswith("copy:")
            where = (
                f"a copy of an audited sheet ({origin_text(origin)} is not)"
                if copy
                else (f"in {origin_text(origin)}")
            )
            left[sheet_id] = f"no longer {where}"
    return left


def searched(origin: str, config: Config) -> bool:
    """Whether this run looks where a sheet of this origin was found. A sheet listed by id
    is never searched for: when no job lists it any more, it is carried as it was."""
    kind, _, of = origin.partition(":")
    return (
        (kind == "folder" and of in sheet_ids(config.folders, "SOURCE_FOLDER_ID"))
        or (kind == "workspace" and of in sheet_ids(config.workspaces, "SOURCE_WORKSPACE_ID"))
        or (kind == "copy" and config.follow_copies)
    )
