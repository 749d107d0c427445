"""`auditor report`: audit a pair of snapshots and write the Excel report."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from auditor.audit.evaluate import audit_pair
from auditor.audit.events import events_of
from auditor.audit.model import Violations
from auditor.audit.settings import Settings
from auditor.commands.history import diff_revisions
from auditor.diff.model import Diff
from auditor.outputs.excel import Report, SheetVersions, TrendPoint, write_report
from auditor.snapshot import canonical
from auditor.snapshot.canonical import SUMMARY_FILE
from auditor.store.gitstore import Store
from auditor.store.message import sheet_records
from auditor.store.revisions import resolve


@dataclass
class ReportResult:
    diff: Diff
    violations: dict[str, Violations]
    path: Path | None


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
    diff = report.diff
    if not diff.changed and not force:
        return ReportResult(diff, report.violations, None)
    name = f"audit-{diff.old.commit[:7]}-{diff.new.commit[:7]}.xlsx"
    return ReportResult(diff, report.violations, write_report(out / name, report))


def build_report(
    store: Store, settings: Settings, old_revision: str = "HEAD~1", new_revision: str = "HEAD"
) -> Report:
    """Everything the workbook shows, gathered before anything is written."""
    config = settings.config
    diff = diff_revisions(store, old_revision, new_revision, ignored_columns=config.ignored_columns)
    old_records = sheet_records(store.info(diff.old.commit).message)
    new_records = sheet_records(store.info(diff.new.commit).message)
    return Report(
        diff=diff,
        violations=audit_pair(store, diff, settings),
        events=[event for sheet in diff.sheets for event in events_of(sheet, settings)],
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
        thresholds=(settings.high, settings.medium),
    )


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
