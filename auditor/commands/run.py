"""`auditor run`: the scheduled job. Snapshot, push, report the newest pair, and publish
every pair the audit sheet lacks.

Each step can be repeated safely: a snapshot of unchanged data makes no commit, a push
that the remote rejects (another run got there first) is followed by the snapshot re-made
on the remote's tip, and publishing posts only the audit rows the sheet lacks. So a run
that died anywhere is finished by the next one.

Which pairs to publish is read from the audit sheet itself, not kept anywhere else, so it
survives lost runners and caches: the pairs its audit rows came from (the Snapshots
column). The run walks the branch back from the tip to the newest of those and publishes
from it (again: it may be partial) to the tip, oldest first. A pair whose report is attached
is whole (the report goes on last) and is not looked at again. Pairs without audit rows are
never on the sheet and so never end the walk.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path

from auditor.audit.model import SEVERITIES, Violation
from auditor.audit.settings import Settings
from auditor.commands.read import Read, read_sources
from auditor.commands.report import (
    audit_sheet_id,
    build_report,
    pair_report_name,
    publish_report,
    write_to,
)
from auditor.commands.snapshot import SnapshotResult, check_fetch_time, snapshot_with
from auditor.config import Config
from auditor.errors import GitError, UsageError
from auditor.outputs.audit_sheet import Published, held, pair_label
from auditor.outputs.markdown import diff_markdown
from auditor.outputs.report import Report
from auditor.smartsheet_client import SmartsheetApi
from auditor.store.gitstore import LostRace, Store
from auditor.store.invoices import fetch_marks, push_marks

log = logging.getLogger("auditor")

# A lost push race almost always means another run landed, so the last of 8 runs started
# together re-makes about 7 times; the rest is for losses to a push still holding the
# branch locked, which moved nothing yet.
PUSH_ATTEMPTS = 16
# After a lost race, a random wait up to a ceiling that doubles from the first to the most.
BACKOFF_FIRST = 0.1
BACKOFF_MOST = 2.0
# How far back the walk looks for the last pair the audit sheet holds: 300 pairs are 25 days
# of runs every 2 hours.
TRAIL_PAIRS = 300


@dataclass
class RunResult:
    read: Read
    snapshot: SnapshotResult
    requests: int = 0
    """API requests made reading the sheets."""
    remakes: int = 0
    pushed: bool = False
    report: Report | None = None
    path: Path | None = None
    published: dict[str, Published] | None = None
    """Per pair published this run; None when the run did not publish."""
    notes: list[str] = field(default_factory=list)

    def new_violations(self) -> list[Violation]:
        """Violations this run found: none when it made no snapshot (the pair it checked on
        the audit sheet is an earlier run's)."""
        if self.report is None or self.snapshot.commit is None:
            return []
        return [v for audit in self.report.violations.values() for v in audit.new]


def run_job(
    store: Store,
    config: Config,
    settings: Settings,
    *,
    push: str | None = None,
    force: bool = False,
    publish: bool = True,
    out: Path = Path("reports"),
    fetched_at: dt.datetime | None = None,
    allow_mass_removal: bool = False,
) -> RunResult:
    if not (config.sheets or config.folders or config.workspaces):
        raise UsageError(
            "no sheet to snapshot: set SOURCE_SHEET_ID, SOURCE_FOLDER_ID or SOURCE_WORKSPACE_ID"
        )
    if publish and config.audit_sheet_id:
        audit_sheet_id(config)  # a wrong target stops the run before it does anything
    check_fetch_time(store, fetched_at)
    if push:
        store.share_notes(push, push=False)
        fetch_marks(store, push)
    read, requests = read_sources(store, config, None)
    fetched_at = (fetched_at or dt.datetime.now(dt.UTC)).replace(microsecond=0)

    def snapshot() -> SnapshotResult:
        return snapshot_with(store, config, settings, read, fetched_at, allow_mass_removal)

    result = RunResult(read, snapshot(), requests)
    if push:
        result.remakes, result.snapshot = _push(store, push, result.snapshot, snapshot)
        result.pushed = True
        store.share_notes(push, push=True)
        push_marks(store, push)
    tip = store.tip()
    if tip is None or len(store.first_parents(tip, 2, messages=False)) < 2:
        result.notes.append("the first snapshot is the baseline: nothing to report or publish")
        return result
    report = result.report = build_report(store, settings)

    def report_file() -> Path:
        """Written when the snapshot changed, with `--force`, or when publishing finds an
        earlier run's attachment missing."""
        if result.path is None:
            result.path = write_to(out, report)
        return result.path

    if result.snapshot.commit is not None or force:
        report_file()
    if publish and config.audit_sheet_id:
        result.published = _publish_trail(store, config, settings, report, report_file, out)
    return result


def _publish_trail(
    store: Store,
    config: Config,
    settings: Settings,
    newest: Report,
    newest_file: Callable[[], Path],
    out: Path,
) -> dict[str, Published]:
    """Publish every pair the audit sheet lacks, oldest first, each with its own report;
    `newest` is the tip's pair, already built. A failure stops at that pair, which the next
    run starts from."""
    tip, published = newest.diff.new.commit, {}
    for old, new in _unpublished(store, config, tip):
        if new == tip:
            report, report_file = newest, newest_file
        else:
            report = build_report(store, settings, old, new)
            report_file = partial(write_to, out, report)
        published[pair_label(old, new)] = publish_report(store, config, report, report_file)
    return published


def _unpublished(store: Store, config: Config, tip: str) -> list[tuple[str, str]]:
    """The pairs (old, new) to publish, oldest first: from the newest pair the audit sheet
    holds rows of up to the tip. A sheet without audit rows starts at the newest pair: a
    new audit sheet is not flooded with the branch's history."""
    commits = store.first_parents(tip, TRAIL_PAIRS + 1, messages=False)
    pairs = [(older.sha, newer.sha) for newer, older in pairwise(commits)]
    api = SmartsheetApi.configured(config)
    try:
        on_sheet = held(api, audit_sheet_id(config))
    finally:
        api.close()
    if not on_sheet.ids:
        return pairs[:1]
    for count, (old, new) in enumerate(pairs, 1):
        if pair_report_name(old, new) in on_sheet.attached:
            return pairs[: count - 1][::-1]  # its report went on last: the pair is whole
        if pair_label(old, new) in on_sheet.pairs:
            return pairs[:count][::-1]
    if commits[-1].parent is not None:
        log.warning(
            "audit sheet %s holds rows of none of the last %d pairs on %r: publishing those; "
            "pairs up to %s are not, so publish any it lacks with "
            "`auditor report --from REV~1 --to REV`",
            config.audit_sheet_id,
            len(pairs),
            store.branch,
            commits[-1].sha[:10],
        )
    return pairs[::-1]


def failing(result: RunResult, level: str | None) -> list[Violation]:
    """The new violations at `level` or above (`--fail-on`)."""
    if level is None:
        return []
    floor = SEVERITIES.index(level)
    return [v for v in result.new_violations() if SEVERITIES.index(v.severity) >= floor]


def _push(
    store: Store, remote: str, made: SnapshotResult, snapshot: Callable[[], SnapshotResult]
) -> tuple[int, SnapshotResult]:
    """Push; when another run's push got there first, wait a random while that grows with
    each loss (runs that lost together then come back apart), take the remote's new tip
    and make the snapshot again on it. Returns how often it was re-made."""
    if store.local_tip() is None:
        return 0, made
    remakes = 0
    for attempt in range(PUSH_ATTEMPTS):
        try:
            store.push(remote)
            return remakes, made
        except LostRace as race:
            lost = race
        if attempt + 1 < PUSH_ATTEMPTS:
            time.sleep(random.uniform(0, min(BACKOFF_MOST, BACKOFF_FIRST * 2**attempt)))
            if _take_their_tip(store, remote, made):
                made = snapshot()
                remakes += 1
    raise GitError(
        f"{PUSH_ATTEMPTS} pushes of {store.branch!r} to {remote!r} each lost a race to another "
        f"run; the last: {lost}. More runs push to the branch at once than one run waits "
        "for: start fewer together (max-parallel in a matrix, see docs/github.md)"
    )


def _take_their_tip(store: Store, remote: str, made: SnapshotResult) -> bool:
    """Move the local branch to the remote's tip, dropping this run's unpushed commit and
    nothing else. False where the remote has no branch yet (another run holds it locked
    to create it): this run's commit is pushed again as it is."""
    theirs = store.fetch(remote)
    ours = store.only_here(theirs)
    if len(ours) > 1 or (ours and ours != [made.commit]):
        raise GitError(
            f"the local branch {store.branch!r} has {len(ours)} snapshots that "
            f"{remote!r} lacks, not only this run's; push or drop them by hand first"
        )
    if theirs is None:
        return False
    if not store.compare_and_swap(theirs, store.local_tip()):
        raise GitError(f"cannot move {store.branch!r} to {remote!r}'s tip; try again")
    return True


def write_step_summary(result: RunResult, path: Path, cap: int) -> None:
    """Append the run to GitHub's job summary, within the `cap` bytes GitHub shows."""
    lines = [f"## auditor run: {_outcome(result)}", ""]
    for pair, published in (result.published or {}).items():
        lines += [
            f"Audit sheet, pair {pair}: {published.posted} rows posted, "
            f"{published.already} already there"
            + (f", report {published.attached} attached" if published.attached else ""),
            "",
        ]
    head = "\n".join(lines) + "\n"
    used = path.stat().st_size if path.exists() else 0
    room = cap - used - len(head.encode())
    body = ""
    if result.report is not None and room > 1024:
        report = result.report
        config = report.settings.config
        body = diff_markdown(
            report.diff,
            50,
            room,
            report.violations,
            report.events,
            config,
            _artifact(),
            report.weeks,
            report.violated_rows,
        )
    with path.open("a", encoding="utf-8") as handle:
        handle.write(head + body)


def _artifact() -> str | None:
    """In GitHub Actions, a link to the run's page, where its workbook is the artifact
    `audit-report-<run id>` (docs/github.md)."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    run_id = os.environ.get("GITHUB_RUN_ID")
    if not (server and repository and run_id):
        return None
    page = f"{server}/{repository}/actions/runs/{run_id}#artifacts"
    return f"Workbook: [artifact `audit-report-{run_id}`]({page})"


def _outcome(result: RunResult) -> str:
    if result.report is None:
        return "baseline snapshot"
    if result.snapshot.commit is None:
        return "no change since the last snapshot"
    new = len(result.new_violations())
    return f"new snapshot, {new} new violation{'' if new == 1 else 's'}"
