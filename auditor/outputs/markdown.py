"""Markdown for GitHub job summaries (1 MiB cap) and pull-request comments (64 KB).

Sheet text is escaped (auditor.markup), lists stop at `limit` entries, and the whole
document stops before `max_bytes`, each cut saying how much was left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from auditor.audit.model import Violations
from auditor.diff.model import Diff
from auditor.markup import escape
from auditor.outputs.changes import count, entries, headline, shown, violation_entries
from auditor.text import iso, plural, shorten

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

    def table(self, header: list[str], rows: Iterable[list[str]], total: int, what: str) -> None:
        if not self.add("", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)):
            return
        written = 0
        for cells in rows:
            if not self.add(
                "| " + " | ".join(escape(shorten(cell, CELL)) for cell in cells) + " |"
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
) -> str:
    document = _Document(max_bytes)
    document.add(
        "## Billing snapshot diff",
        "",
        f"`{diff.old.commit[:10]}` ({iso(diff.old.time)}) → "
        f"`{diff.new.commit[:10]}` ({iso(diff.new.time)}), times in UTC",
    )
    for sheet in diff.sheets:
        document.add(
            "",
            f"### {escape(sheet.name)} (`{sheet.sheet_id}`): {sheet.status}",
            "",
            escape(headline(sheet)),
        )
        if count(sheet):
            rows = (
                [entry.kind, entry.key, entry.column, shown(entry.old), shown(entry.new)]
                for entry in islice(entries(sheet), limit)
            )
            document.table(
                ["change", "row key", "column", "old", "new"], rows, count(sheet), "change"
            )
        audit = (violations or {}).get(sheet.sheet_id)
        if audit is None:
            continue
        document.add(
            "",
            f"**Violations:** {len(audit.new)} new, {len(audit.resolved)} resolved, "
            f"{len(audit.ongoing)} ongoing, {len(audit.waived)} waived",
        )
        listed = violation_entries(audit)
        if listed:
            rows = (
                [status, v.severity, v.rule, v.key, v.column or "", v.message]
                for status, v in islice(listed, limit)
            )
            header = ["status", "severity", "rule", "row key", "column", "message"]
            document.table(header, rows, len(listed), "violation")
    return document.text()
