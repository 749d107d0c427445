"""`auditor check`: is the set-up right? Each check says what is wrong and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from auditor.commands.read import searched
from auditor.config import Config
from auditor.errors import AuditorError
from auditor.outputs.audit_sheet import AUDIT_ID, COLUMNS
from auditor.smartsheet_client import SmartsheetApi
from auditor.sources.discover import discover, origin_text
from auditor.store.gitstore import Store, without_credentials
from auditor.store.message import sheet_records

WRITABLE = frozenset({"OWNER", "ADMIN", "EDITOR", "EDITOR_SHARE"})


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str
    exit_code: int = 0


def run_checks(config: Config) -> Iterator[Check]:
    yield from _git(config)
    yield from _smartsheet(config)


def _git(config: Config) -> Iterator[Check]:
    try:
        store = Store(config.repo, config.branch)
    except AuditorError as error:
        yield Check("repository", False, str(error), error.exit_code)
        return
    yield Check("repository", True, str(store.repo.git_dir))
    yield _branch(store, config.branch)
    remotes = {remote.name: remote.url for remote in store.repo.remotes}
    if "origin" in remotes:
        try:
            store.reach("origin")
        except AuditorError as error:
            yield Check("remote origin", False, str(error), error.exit_code)
        else:
            yield Check("remote origin", True, without_credentials(remotes["origin"]))
    else:
        yield Check("remote origin", True, "none: `--push origin` needs one (`git remote add`)")
    store.close()


def _branch(store: Store, branch: str) -> Check:
    what = f"branch {branch!r}"
    try:
        tip = store.tip()
    except AuditorError as error:
        return Check(what, False, str(error), error.exit_code)
    if tip is None:
        return Check(what, True, "no snapshots yet: the first run makes the baseline")
    count = store.count(tip)
    where = "local" if store.local_tip() else "origin only"
    return Check(what, True, f"{count} snapshots, tip {tip[:10]} ({where})")


def _smartsheet(config: Config) -> Iterator[Check]:
    if not config.token:
        yield Check("token", False, "not set: set SMARTSHEET_API_TOKEN", 2)
        return
    if not (config.sheets or config.folders or config.workspaces):
        yield Check(
            "sheets",
            False,
            "none to snapshot: set SOURCE_SHEET_ID, SOURCE_FOLDER_ID or SOURCE_WORKSPACE_ID",
            2,
        )
    try:
        api = SmartsheetApi.configured(config)
        user = api.get("/users/me", "token check")
    except AuditorError as error:
        yield Check("token", False, str(error), error.exit_code)
        return
    yield Check("token", True, f"accepted by {config.api_base} (user {user.get('email', '?')})")
    yield from _audited(api, config)
    if config.audit_sheet_id:
        yield _sheet(api, config.audit_sheet_id, "audit sheet", audit=True)
    else:
        yield Check("audit sheet", True, "AUDIT_SHEET_ID not set: nothing will be published")
    api.close()


def _audited(api: SmartsheetApi, config: Config) -> Iterator[Check]:
    """Every sheet the run will audit and why, and every one seen but left out, and by
    which glob."""
    try:
        found = discover(api, config)
    except AuditorError as error:
        yield Check("sheets", False, str(error), error.exit_code)
        return
    for item in found.audited:
        check = _sheet(api, item.sheet_id, f"sheet {item.sheet_id}", audit=False)
        yield replace(check, detail=f"{check.detail} ({item.why})")
    for item in found.excluded:
        yield Check(f"sheet {item.sheet_id}", True, f"{item.name!r} left out: {item.why}")
    yield from _carried(config, set(found.sheet_ids))


def _carried(config: Config, audited: set[str]) -> Iterator[Check]:
    """The sheets on the branch that this run will neither read nor see leave: another
    job's, or no longer configured. They stay as last snapshotted."""
    try:
        store = Store(config.repo, config.branch)
        tip = store.tip()
    except AuditorError:
        return  # the repository's own check says why
    records = sheet_records(store.info(tip).message) if tip else {}
    for sheet_id in sorted(store.sheet_trees(tip).keys() - audited):
        record = records.get(sheet_id)
        origin = record.found if record else "listed"
        if searched(origin, config):
            continue
        how = {
            "listed": "listed by id then, not here",
            "copy": f"a {origin_text(origin)} then, and follow_copies is off",
        }.get(origin.partition(":")[0], f"found in {origin_text(origin)}, not searched here")
        yield Check(
            f"sheet {sheet_id}",
            True,
            f"carried as last snapshotted: {how} (another job's sheet, or no longer configured)",
        )
    store.close()


def _sheet(api: SmartsheetApi, sheet_id: str, what: str, audit: bool) -> Check:
    try:
        data = api.get(f"/sheets/{sheet_id}", what, page=1, pageSize=1)
    except AuditorError as error:
        return Check(what, False, str(error).removeprefix(f"{what}: "), error.exit_code)
    columns = [column["title"] for column in data.get("columns", [])]
    summary = (
        f"{data.get('name')!r}, {data.get('totalRowCount', 0):,} rows, {len(columns)} columns, "
        f"version {data.get('version')}"
    )
    if not audit:
        return Check(what, True, f"readable: {summary}")
    access = data.get("accessLevel", "?")
    if access not in WRITABLE:
        return Check(
            what, False, f"{summary}, but access is {access}: share it with Editor rights", 3
        )
    missing = [title for title, _ in COLUMNS if title not in columns]
    if AUDIT_ID in missing and data.get("totalRowCount", 0):
        return Check(
            what,
            False,
            f"{summary}, but no {AUDIT_ID!r} column: it was renamed or removed, or this is "
            f"not an audit sheet; publishing would refuse it (rename the column back, or use "
            "a new, empty sheet)",
            3,
        )
    if missing:
        return Check(
            what,
            True,
            f"writable ({access}): {summary}; the first publish adds {len(missing)} audit "
            f"columns: {', '.join(missing)}",
        )
    return Check(what, True, f"writable ({access}): {summary}; every audit column present")
