"""`auditor invoice`: mark the snapshot invoiced for a sheet's week, or list the marks.

The week and the sheet come from a person typing, so both are checked before anything is
written: the sheet is one of the snapshot's, by its Smartsheet id (digits, which is also
what a tag name can hold), and the week is a real date that some row of the sheet in that
snapshot has as its week-ending date, and that had ended when the snapshot was taken.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from auditor.audit.evaluate import History
from auditor.audit.facts import day
from auditor.audit.settings import Settings
from auditor.audit.weeks import WeekReader
from auditor.config import Config
from auditor.errors import UsageError
from auditor.store.gitstore import Store
from auditor.store.invoices import Mark, read_marks, write_mark
from auditor.store.revisions import resolve
from auditor.text import iso, shorten

SHEET_ID = re.compile(r"[0-9]{1,30}")
WEEKS_NAMED = 6
"""Week-ending dates an error names, the nearest to the one given."""


@dataclass(frozen=True)
class InvoiceResult:
    """What `invoice` did: the mark, and the snapshot it named before (moved with
    `--force`), or that it already named this snapshot."""

    mark: Mark
    replaced: str | None
    unchanged: bool


def a_date(text: str, what: str) -> dt.date:
    """A date as typed (`WEEK_ENDING`, `--since`): a real `YYYY-MM-DD` date, or why not."""
    found = day(text)
    if found is None:
        raise UsageError(f"{what} {shorten(text, 40)!r} is not a date; give it as YYYY-MM-DD")
    return found


def invoice_week(
    store: Store,
    config: Config,
    settings: Settings,
    week_text: str,
    *,
    at: str = "HEAD",
    sheet: str | None = None,
    note: str | None = None,
    force: bool = False,
    now: dt.datetime | None = None,
) -> InvoiceResult:
    """Mark the snapshot `at` names as the one invoiced for the week ending `week_text`."""
    week = a_date(week_text, "week ending")
    commit = resolve(store, at)
    info = store.info(commit)
    sheet_id = _sheet(store, commit, sheet)
    reader = WeekReader(History(store, commit), settings)
    weeks = reader.weeks(commit, sheet_id)
    if week not in weeks:
        near = sorted(weeks, key=lambda day: abs(day - week))[:WEEKS_NAMED]
        named = ", ".join(str(day) for day in sorted(near)) or "none"
        raise UsageError(
            f"no row of sheet {sheet_id} in snapshot {commit[:10]} has week ending {week} "
            f"in {config.week_column!r} (its nearest week-ending dates: {named})"
        )
    ended = dt.datetime.combine(week + dt.timedelta(days=1), dt.time(), tzinfo=settings.zone)
    if ended > info.time:
        raise UsageError(
            f"the week ending {week} had not ended when snapshot {commit[:10]} was taken "
            f"({iso(info.time)}); invoice it from a later snapshot (--at)"
        )
    mark = Mark(sheet_id, week, commit, info.time, "")
    author = (config.author_name, config.author_email)
    stamp = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    before = store.ref_target(f"refs/tags/{mark.tag}")
    replaced = write_mark(store, mark, note or "", author, stamp, force)
    return InvoiceResult(mark, replaced, before is not None and replaced is None)


def _sheet(store: Store, commit: str, sheet: str | None) -> str:
    """The sheet to mark: the one named (a Smartsheet id in the snapshot), or the only one."""
    sheets = sorted(store.sheet_trees(commit))
    if sheet is None:
        if len(sheets) != 1:
            raise UsageError(
                f"snapshot {commit[:10]} holds {len(sheets)} sheets; name one with --sheet"
            )
        sheet = sheets[0]
    if not SHEET_ID.fullmatch(sheet):
        raise UsageError(
            f"sheet {shorten(sheet, 40)!r}: an invoice mark names a Smartsheet sheet by its "
            "id, which is digits (a file's snapshot folder cannot be invoiced)"
        )
    if sheet not in sheets:
        raise UsageError(f"sheet {sheet} is not in snapshot {commit[:10]}")
    return sheet


def list_marks(store: Store, sheet: str | None = None) -> list[Mark]:
    """`invoice --list`: the marks on the branch, by sheet and week."""
    marks = read_marks(store, store.tip())
    return [mark for mark in marks if sheet is None or mark.sheet_id == sheet]
