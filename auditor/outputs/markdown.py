"""Markdown for GitHub job summaries (1 MiB cap) and pull-request comments (64 KB).

Sheet text is escaped (auditor.markup), lists stop at `limit` entries, and the whole
document stops before `max_bytes`, each cut saying how much was left out.
"""

from __future__ import annotations

from auditor.diff.model import Diff
from auditor.markup import escape
from auditor.outputs.changes import count, entries, headline, shown
from auditor.store.message import iso, plural

JOB_SUMMARY_BYTES = 1024 * 1024
RESERVE = 200


def diff_markdown(diff: Diff, limit: int = 50, max_bytes: int = JOB_SUMMARY_BYTES) -> str:
    lines = [
        "## Billing snapshot diff",
        "",
        f"`{diff.old.commit[:10]}` ({iso(diff.old.time)}) → "
        f"`{diff.new.commit[:10]}` ({iso(diff.new.time)}), times in UTC",
    ]
    size = sum(len(line.encode()) + 1 for line in lines)
    for sheet in diff.sheets:
        section = [
            "",
            f"### {escape(sheet.name)} (`{sheet.sheet_id}`): {sheet.status}",
            "",
            headline(sheet),
        ]
        if sheet.changed:
            section += [
                "",
                "| change | row key | column | old | new |",
                "| --- | --- | --- | --- | --- |",
            ]
        header_size = sum(len(line.encode()) + 1 for line in section)
        if size + header_size > max_bytes - RESERVE:
            lines.append(f"\n_Output cut at {max_bytes:,} bytes; use `--format json` for all._")
            return "\n".join(lines) + "\n"
        lines += section
        size += header_size
        written = 0
        total = count(sheet)
        for entry in entries(sheet):
            if written == limit:
                break
            cells = [entry.kind, entry.key, entry.column, shown(entry.old), shown(entry.new)]
            line = "| " + " | ".join(escape(cell) for cell in cells) + " |"
            if size + len(line.encode()) + 1 > max_bytes - RESERVE:
                break
            lines.append(line)
            size += len(line.encode()) + 1
            written += 1
        if written < total:
            note = f"\n_… and {plural(total - written, 'more change')} not shown._"
            lines.append(note)
            size += len(note.encode()) + 1
    return "\n".join(lines) + "\n"
