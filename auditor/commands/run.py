"""`auditor run`: the scheduled job. Snapshot, push, report and publish the newest pair.

Each step can be repeated safely: a snapshot of unchanged data makes no commit, a push
that the remote rejects (another run got there first) is followed by the snapshot re-made
on the remote's tip, and publishing posts only the audit rows the sheet lacks. So a run
that died anywhere is finished by the next one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auditor.audit.model import SEVERITIES, Violation
from auditor.audit.settings import Settings
from auditor.commands.report import audit_sheet_id, build_report, publish_report, write_to
from auditor.commands.snapshot import SnapshotResult, read_smartsheet, snapshot_with
from auditor.config import Config
from auditor.errors import GitError, UsageError
from auditor.outputs.audit_sheet import Published
from auditor.outputs.markdown import diff_markdown
from auditor.outputs.report import Report
from auditor.smartsheet_client import SmartsheetApi
from auditor.store.gitstore import Store

PUSH_ATTEMPTS = 5


@dataclass
class RunResult:
    snapshot: SnapshotResult
    skipped: list[str]
    versions: dict[str, int | None]
    remakes: int = 0
    pushed: bool = False
    report: Report | None = None
    path: Path | None = None
    published: Published | None = None
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
) -> RunResult:
    if not config.sheets:
        raise UsageError("no sheet to snapshot: set SOURCE_SHEET_ID (comma-separated ids)")
    if publish and config.audit_sheet_id:
        audit_sheet_id(config)  # a wrong target stops the run before it does anything
    api = SmartsheetApi.configured(config)
    try:
        sheets, skipped = read_smartsheet(store, api, list(config.sheets), config)
    finally:
        api.close()
    fetched_at = (fetched_at or dt.datetime.now(dt.UTC)).replace(microsecond=0)

    def snapshot() -> SnapshotResult:
        return snapshot_with(store, config, settings, sheets, fetched_at)

    result = RunResult(snapshot(), skipped, {sheet.sheet_id: sheet.version for sheet in sheets})
    if push:
        result.remakes, result.snapshot = _push(store, push, result.snapshot, snapshot)
        result.pushed = True
    tip = store.tip()
    if tip is None or len(store.first_parents(tip, 2)) < 2:
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
        result.published = publish_report(store, config, report, report_file)
    return result


def failing(result: RunResult, level: str | None) -> list[Violation]:
    """The new violations at `level` or above (`--fail-on`)."""
    if level is None:
        return []
    floor = SEVERITIES.index(level)
    return [v for v in result.new_violations() if SEVERITIES.index(v.severity) >= floor]


def _push(
    store: Store, remote: str, made: SnapshotResult, snapshot: Callable[[], SnapshotResult]
) -> tuple[int, SnapshotResult]:
    """Push; when the remote moved on, drop this run's unpushed commit, take the remote's
    tip and make the snapshot again on it. Returns how often it was re-made."""
    for remakes in range(PUSH_ATTEMPTS):
        if store.local_tip() is None or store.push(remote):
            return remakes, made
        theirs = store.fetch(remote)
        ours = store.only_here(theirs)
        if len(ours) > 1 or (ours and ours != [made.commit]):
            raise GitError(
                f"the local branch {store.branch!r} has {len(ours)} snapshots that "
                f"{remote!r} lacks, not only this run's; push or drop them by hand first"
            )
        if theirs is None or not store.compare_and_swap(theirs, store.local_tip()):
            raise GitError(f"cannot move {store.branch!r} to {remote!r}'s tip; try again")
        made = snapshot()
    raise GitError(
        f"{remote!r} kept moving under {PUSH_ATTEMPTS} pushes of {store.branch!r}; try again"
    )


def write_step_summary(result: RunResult, path: Path, cap: int) -> None:
    """Append the run to GitHub's job summary, within the `cap` bytes GitHub shows."""
    lines = [f"## auditor run: {_outcome(result)}", ""]
    if result.published is not None:
        published = result.published
        lines += [
            f"Audit sheet: {published.posted} rows posted, {published.already} already there"
            + (f", report {published.attached} attached" if published.attached else ""),
            "",
        ]
    head = "\n".join(lines) + "\n"
    used = path.stat().st_size if path.exists() else 0
    room = cap - used - len(head.encode())
    body = ""
    if result.report is not None and room > 1024:
        report = result.report
        body = diff_markdown(report.diff, 50, room, report.violations)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(head + body)


def _outcome(result: RunResult) -> str:
    if result.report is None:
        return "baseline snapshot"
    if result.snapshot.commit is None:
        return "no change since the last snapshot"
    new = len(result.new_violations())
    return f"new snapshot, {new} new violation{'' if new == 1 else 's'}"
