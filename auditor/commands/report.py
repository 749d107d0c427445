"""`auditor report`: audit a pair of snapshots, write the Excel report, publish it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from auditor.audit.attribution import Attribution, CellEdit, attribute
from auditor.audit.evaluate import audit_pair
from auditor.audit.events import events_of, ruled
from auditor.audit.model import Event, Violations
from auditor.audit.settings import Settings
from auditor.audit.weeks import billed_weeks, week_shifts
from auditor.commands.diff import diff_revisions, violated_rows
from auditor.config import Config
from auditor.diff.model import Diff
from auditor.errors import UsageError
from auditor.outputs.audit_sheet import Published, audit_rows, publish
from auditor.outputs.excel import write_report
from auditor.outputs.report import Report, SheetVersions, TrendPoint
from auditor.smartsheet_client import NotFound, SmartsheetApi
from auditor.snapshot import canonical
from auditor.snapshot.canonical import SHEET_FILE, SUMMARY_FILE
from auditor.store.gitstore import Store
from auditor.store.message import sheet_records
from auditor.store.revisions import resolve
from auditor.text import parse_time

log = logging.getLogger("auditor")


@dataclass
class ReportResult:
    report: Report
    path: Path | None

    @property
    def diff(self) -> Diff:
        return self.report.diff

    @property
    def violations(self) -> dict[str, Violations]:
        return self.report.violations


def make_report(
    store: Store,
    settings: Settings,
    old_revision: str = "HEAD~1",
    new_revision: str = "HEAD",
    *,
    force: bool = False,
    out: Path = Path("reports"),
) -> ReportResult:
    """Write the report of the pair, unless nothing changed and `force` is not given."""
    report = build_report(store, settings, old_revision, new_revision)
    if not report.diff.changed and not force:
        return ReportResult(report, None)
    return ReportResult(report, write_to(out, report))


def write_to(out: Path, report: Report) -> Path:
    """The workbook, in `out`, named with both short commit ids."""
    return write_report(out / report_name(report.diff), report)


def report_name(diff: Diff) -> str:
    return pair_report_name(diff.old.commit, diff.new.commit)


def pair_report_name(old: str, new: str) -> str:
    """The workbook's file name, which is also its attachment's name on the audit sheet."""
    return f"audit-{old[:7]}-{new[:7]}.xlsx"


def audit_sheet_id(config: Config, audited: Iterable[str] = ()) -> str:
    """AUDIT_SHEET_ID, refused when it names a sheet being audited (`audited`, or one of
    SOURCE_SHEET_ID): audit rows and columns written there would change the billing."""
    sheet_id = config.audit_sheet_id or ""
    if not (sheet_id.isascii() and sheet_id.isdigit()):
        raise UsageError(f"AUDIT_SHEET_ID {sheet_id!r} is not a sheet id (a number)")
    sheet_id = str(int(sheet_id))
    if sheet_id in {
        str(int(s)) if s.isascii() and s.isdigit() else s for s in (*config.sheets, *audited)
    }:
        raise UsageError(
            f"AUDIT_SHEET_ID {sheet_id} is a sheet being audited (SOURCE_SHEET_ID or a "
            "snapshot); set it to a sheet of its own for the audit rows (a new, empty sheet)"
        )
    return sheet_id


def publish_report(
    store: Store, config: Config, report: Report, report_file: Callable[[], Path]
) -> Published:
    """Post the pair's audit rows the audit sheet lacks and attach the report once."""
    diff = report.diff
    sheet_id = audit_sheet_id(config, (sheet.sheet_id for sheet in diff.sheets))
    old, new = store.sheet_trees(diff.old.commit), store.sheet_trees(diff.new.commit)
    trees = {s.sheet_id: (old.get(s.sheet_id), new.get(s.sheet_id)) for s in diff.sheets}
    api = SmartsheetApi.configured(config)
    try:
        return publish(api, sheet_id, audit_rows(report, trees), report_file, report_name(diff))
    finally:
        api.close()


def build_report(
    store: Store, settings: Settings, old_revision: str = "HEAD~1", new_revision: str = "HEAD"
) -> Report:
    """Everything the workbook shows, gathered before anything is written."""
    config = settings.config
    diff = diff_revisions(store, old_revision, new_revision, ignored_columns=config.ignored_columns)
    old_records = sheet_records(store.info(diff.old.commit).message)
    new_records = sheet_records(store.info(diff.new.commit).message)
    events = [event for sheet in diff.sheets for event in events_of(sheet, settings, diff.new.time)]
    attribution = None
    if config.attribute:
        events, attribution = _attributed(store, settings, diff, events)
    violations = audit_pair(store, diff, settings)
    weeks = billed_weeks(store, settings, diff.new.commit, every_request=False)
    return Report(
        diff=diff,
        violations=violations,
        violated_rows=violated_rows(store, diff, violations),
        weeks=weeks,
        week_shifts=week_shifts(
            billed_weeks(store, settings, diff.old.commit, every_request=False), weeks
        ),
        events=ruled(events, violations),
        attribution=attribution,
        sheets=[
            SheetVersions(
                sheet.sheet_id,
                sheet.name,
                old_records[sheet.sheet_id].version if sheet.sheet_id in old_records else None,
                new_records[sheet.sheet_id].version if sheet.sheet_id in new_records else None,
            )
            for sheet in diff.sheets
        ],
        trend=trend(store, diff.new.commit, config.trend_snapshots, config.money_columns),
        settings=settings,
    )


def _attributed(
    store: Store, settings: Settings, diff: Diff, events: list[Event]
) -> tuple[list[Event], Attribution]:
    """The events with cell-level attribution where Smartsheet's cell history has it."""
    config = settings.config
    trees = store.sheet_trees(diff.new.commit)
    columns = {
        sheet_id: {
            column["title"]: column["id"]
            for column in canonical.load(store.read(tree, SHEET_FILE))["columns"]
            if column.get("id") is not None
        }
        for sheet_id, tree in trees.items()
    }
    rows = {sheet.sheet_id: sheet.new_rows for sheet in diff.sheets}

    def cell_ids(event: Event) -> tuple[int, int] | None:
        row = rows.get(event.sheet_id, {}).get(event.key)
        row_id = row.id if row else None
        column_id = columns.get(event.sheet_id, {}).get(event.column or "")
        return (row_id, column_id) if row_id and column_id else None

    api = SmartsheetApi.configured(config)

    def history(sheet_id: str, row_id: int, column_id: int) -> list[CellEdit]:
        """The cell's edits; none for a row deleted since the snapshot (404)."""
        try:
            found = api.get(
                f"/sheets/{sheet_id}/rows/{row_id}/columns/{column_id}/history",
                f"cell history of row {row_id}",
                pageSize=100,
                page=1,
            )
        except NotFound:
            return []
        return [
            CellEdit(
                entry.get("value"),
                parse_time(entry["modifiedAt"]),
                (entry.get("modifiedBy") or {}).get("email"),
            )
            for entry in found.get("data", [])
            if entry.get("modifiedAt")
        ]

    between = (diff.old.time, diff.new.time)
    try:
        events, done = attribute(events, settings, cell_ids, history, between)
    finally:
        api.close()
    if done.problem:
        log.warning(
            "cell attribution stopped after %d of %d cells: %s",
            done.asked,
            done.candidates,
            done.problem,
        )
    return events, done


def trend(store: Store, tip: str, count: int, money_columns: tuple[str, ...]) -> list[TrendPoint]:
    """The last `count` snapshots, newest first, from trailers and `summary.json` files only:
    no snapshot's rows are parsed."""
    points = []
    for commit in store.first_parents(resolve(store, tip), count):
        records = sheet_records(commit.message).values()
        billed = None
        for tree in store.sheet_trees(commit.sha).values():
            sums = canonical.load(store.read(tree, SUMMARY_FILE)).get("sums", {})
            for column in money_columns:
                if column in sums:
                    billed = (billed or Decimal(0)) + Decimal(repr(sums[column]))
        points.append(
            TrendPoint(
                commit=commit.sha,
                time=commit.time,
                rows=sum(record.rows for record in records),
                billed=billed,
                changes=sum(r.added + r.removed + r.changed for r in records),
                open_violations=sum(count for r in records for _, count in r.open),
            )
        )
    return points
