"""Terminal tables (rich): at most `limit` rows each, saying how many more there are.

Sheet text is data, never markup: the console is made with markup and emoji codes off
(`console()`), and every piece of sheet text goes through `auditor.text.inert`, so
`[b]`, `[link=...]`, `:smile:` and escape sequences are shown as the characters they are.
"""

from __future__ import annotations

import sys
from itertools import islice

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.audit.model import Violations
from auditor.config import Config
from auditor.diff.model import Diff, RowHistory
from auditor.outputs.changes import (
    count,
    entries,
    headline,
    shown,
    value_text,
    violation_entries,
)
from auditor.snapshot.model import SheetData
from auditor.store.message import LogEntry
from auditor.text import inert, iso, plural

SEVERITY_STYLES = {"high": "bold red", "medium": "yellow"}
STYLES = {"row added": "green", "row removed": "red", "cell": "yellow", "formula": "magenta"}


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich exits 1 when the reader goes away, which `diff --exit-code` means "the
        snapshots differ"; the CLI ends such a run as a closed pipe instead."""
        self.quiet = True
        raise BrokenPipeError


def console() -> Console:
    """The console every table is printed on: nothing in a string is markup. Piped output
    is read in logs and files, where rich's default of 80 columns is cramped."""
    width = None if sys.stdout.isatty() else 160
    return _Console(markup=False, emoji=False, highlight=False, width=width)


def _heading(name: str, rest: str) -> Text:
    """`name` in bold, then `rest`: a sheet's name as it was typed, styled."""
    return Text.assemble("\n", (inert(name), "bold"), inert(rest))


def _cell(value: object) -> str:
    return inert(shown(value))


def _more(console: Console, total: int, limit: int, what: str) -> None:
    if total > limit:
        more = plural(total - limit, f"more {what}")
        console.print(f"... {more} not shown (raise --limit, or use --format json)")


def print_diff(
    console: Console,
    diff: Diff,
    limit: int,
    config: Config,
    violations: dict[str, Violations] | None = None,
) -> None:
    console.print(
        f"Snapshots {diff.old.commit[:10]} ({iso(diff.old.time)}) -> "
        f"{diff.new.commit[:10]} ({iso(diff.new.time)})",
        highlight=False,
    )
    for sheet in diff.sheets:
        state = f"{sheet.status}, {headline(sheet)}" if sheet.status != "unchanged" else "unchanged"
        console.print(_heading(sheet.name, f" ({sheet.sheet_id}): {state}"))
        if not count(sheet):
            continue
        table = Table("change", "row key", "column", "old", "new", show_lines=False)
        for entry in islice(entries(sheet), limit):
            table.add_row(
                entry.kind,
                inert(entry.key),
                inert(entry.column),
                inert(value_text(entry.old, entry.column, config)),
                inert(value_text(entry.new, entry.column, config)),
                style=STYLES.get(entry.kind),
            )
        console.print(table)
        _more(console, count(sheet), limit, "change")
    for sheet in diff.sheets:
        audit = (violations or {}).get(sheet.sheet_id)
        if audit is not None:
            _print_violations(console, sheet.name, audit, limit)


def _print_violations(console: Console, name: str, audit: Violations, limit: int) -> None:
    counts = (
        f" violations: {len(audit.new)} new, {len(audit.resolved)} resolved, "
        f"{len(audit.ongoing)} ongoing, {len(audit.waived)} waived"
    )
    console.print(_heading(name, counts))
    listed = violation_entries(audit)
    if not listed:
        return
    table = Table("status", "severity", "rule", "row key", "column", "message")
    for status, violation in islice(listed, limit):
        table.add_row(
            status,
            violation.severity,
            violation.rule,
            inert(violation.key),
            inert(violation.column or ""),
            inert(violation.message),
            style=SEVERITY_STYLES.get(violation.severity) if status == "new" else None,
        )
    console.print(table)
    _more(console, len(listed), limit, "violation")


def print_log(console: Console, log: list[LogEntry], more: bool = False) -> None:
    table = Table("commit", "fetched (UTC)", "rows", "+rows", "-rows", "cells", "summary")
    for entry in log:
        table.add_row(
            entry.commit[:10],
            iso(entry.time),
            f"{entry.rows:,}",
            str(entry.rows_added),
            str(entry.rows_removed),
            str(entry.cells_changed),
            inert(entry.subject),
        )
    console.print(table)
    if more:
        console.print("... older snapshots not shown (-n N shows the newest N, --all every one)")


def print_snapshot(console: Console, sheets: list[SheetData], limit: int) -> None:
    for sheet in sheets:
        titles = [column["title"] for column in sheet.meta["columns"]]
        console.print(
            _heading(sheet.meta["name"], f" ({sheet.meta['id']}): {len(sheet.rows):,} rows")
        )
        table = Table("row key", *map(inert, titles))
        for key, row in islice(sheet.rows.items(), limit):
            table.add_row(inert(key), *(_cell(row.cells.get(title)) for title in titles))
        console.print(table)
        _more(console, len(sheet.rows), limit, "row")


def print_history(console: Console, history: RowHistory) -> None:
    """Oldest first: the row (or cell) read down the page as it changed."""
    what = f"row {history.key}" + (f", column {history.column}" if history.column else "")
    changes = plural(len(history.versions), "change")
    console.print(inert(f"{what} in sheet {history.sheet_id}: {changes}"))
    table = Table(
        "commit", "fetched (UTC)", "change", "value" if history.column else "row", "row modified by"
    )
    for version in history.versions:
        if history.column:
            value = shown(version.row.cells.get(history.column))
        elif version.change == "changed":
            value = ", ".join(f"{c}={shown(version.row.cells.get(c))}" for c in version.columns)
        else:
            value = shown(version.row.cells)
        table.add_row(
            version.commit[:10],
            iso(version.time),
            version.change,
            inert(value),
            _cell(version.row.modified_by),
        )
    console.print(table)
