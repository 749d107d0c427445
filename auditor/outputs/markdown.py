"""Markdown for GitHub job summaries (1 MiB cap) and pull-request comments (64 KB).

Sheet text is escaped (auditor.markup), lists stop at `limit` entries, and the whole
document stops before `max_bytes`, each cut saying how much was left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from itertools import islice

from auditor.audit.model import Event, Violations
from auditor.audit.weeks import BilledWeeks
from auditor.config import Config
from auditor.diff.model import Diff
from auditor.markup import escape
from auditor.outputs.changes import (
    answer,
    count,
    entries,
    headline,
    shown,
    value_text,
    violation_entries,
)
from auditor.text import plural, shorten, utc

JOB_SUMMARY_BYTES = 1024 * 1024
CELL = 300
"""Characters of a table cell: a row stays readable, and one long key cannot fill the cap."""
RESERVE = 200


class _Document:
    """Lines under a byte budget; once a line does not fit, nothing more is added."""

    def __init__(self, max_bytes: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.budget = max_bytes - RESERVE
        self.max_bytes = max_bytes
        self.full = False

    def add(self, *lines: str) -> bool:
        size = sum(len(line.encode()) + 1 for line in lines)
        if self.full or self.size + size > self.budget:
            self.full = True
            return False
        self.lines += lines
        self.size += size
        return True

    def table(
        self,
        header: list[str],
        rows: Iterable[list[str]],
        total: int,
        what: str,
        right: Collection[str] = (),
    ) -> None:
        """A table; the columns named in `right` (money) are aligned right."""
        rule = "|" + "".join(" ---: |" if name in right else " --- |" for name in header)
        if not self.add("", "| " + " | ".join(header) + " |", rule):
            return
        written = 0
        for cells in rows:
            if not self.add(
                "| " + " | ".join(_dollars(escape(shorten(cell, CELL))) for cell in cells) + " |"
            ):
                break
            written += 1
        if written < total and not self.full:
            self.add("", f"_… and {plural(total - written, f'more {what}')} not shown._")

    def text(self) -> str:
        if self.full:
            self.lines.append(f"\n_Output cut at {self.max_bytes:,} bytes; use `--format json`._")
        return "\n".join(self.lines) + "\n"


def diff_markdown(
    diff: Diff,
    limit: int = 50,
    max_bytes: int = JOB_SUMMARY_BYTES,
    violations: dict[str, Violations] | None = None,
    events: list[Event] | None = None,
    config: Config | None = None,
    workbook: str | None = None,
    weeks: BilledWeeks | None = None,
    violated_rows: dict[str, dict[str, dict]] | None = None,
) -> str:
    """The pair as markdown: first the answer (money moved in closed weeks, from `events`,
    and how far the billed `weeks` differ from their bills now),
    a link to the `workbook` where there is one, then each sheet's changes and violations,
    work request first, money as money."""
    config = config or Config()
    document = _Document(max_bytes)
    document.add(
        "## Billing snapshot diff",
        "",
        f"**{_dollars(answer(events or [], escape, weeks))}**",
        "",
        f"`{diff.old.commit[:10]}` ({utc(diff.old.time)}) → "
        f"`{diff.new.commit[:10]}` ({utc(diff.new.time)})",
    )
    if workbook:
        document.add("", workbook)
    requests = _requests(events or [], violated_rows or {}, config)
    for sheet in diff.sheets:
        document.add(
            "",
            f"### {escape(sheet.name)} (`{sheet.sheet_id}`): {sheet.status}",
            "",
            escape(headline(sheet)),
        )
        if count(sheet):
            rows = (
                [
                    entry.kind,
                    shown(requests.get((sheet.sheet_id, entry.key))),
                    entry.key,
                    entry.column,
                    value_text(entry.old, entry.column, config),
                    value_text(entry.new, entry.column, config),
                ]
                for entry in islice(entries(sheet), limit)
            )
            header = ["change", "work request", "row key", "column", "old", "new"]
            document.table(header, rows, count(sheet), "change", right=("old", "new"))
        audit = (violations or {}).get(sheet.sheet_id)
        if audit is None:
            continue
        _violations(document, audit, limit, requests, sheet.sheet_id)
    return document.text()


def _requests(
    events: list[Event], violated_rows: dict[str, dict[str, dict]], config: Config
) -> dict[tuple[str, str], object]:
    """Each row's work request: from its change events, or, for a violation of a row the
    pair did not change, from the snapshot (`violated_rows`)."""
    requests = {
        (sheet_id, key): cells.get(config.work_request_column)
        for sheet_id, rows in violated_rows.items()
        for key, cells in rows.items()
    }
    return requests | {(e.sheet_id, e.key): e.work_request for e in events}


def _violations(
    document: _Document,
    audit: Violations,
    limit: int,
    requests: dict[tuple[str, str], object],
    sheet_id: str,
) -> None:
    document.add(
        "",
        f"**Violations:** {len(audit.new)} new, {len(audit.resolved)} resolved, "
        f"{len(audit.ongoing)} ongoing, {len(audit.waived)} waived",
    )
    listed = violation_entries(audit)
    if listed:
        rows = (
            [
                status,
                v.severity,
                v.rule,
                shown(requests.get((sheet_id, v.key))),
                v.key,
                v.column or "",
                v.message,
            ]
            for status, v in islice(listed, limit)
        )
        header = ["status", "severity", "rule", "work request", "row key", "column", "message"]
        document.table(header, rows, len(listed), "violation")


def _dollars(text: str) -> str:
    """`$` escaped: GitHub reads text between two dollar signs as a formula."""
    return text.replace("$", "\\$")
