"""The README.md at the root of the snapshots branch: what GitHub shows on its page."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from auditor.markup import escape


@dataclass(frozen=True)
class ReadmeSheet:
    sheet_id: str
    name: str
    rows: int
    cells: int
    last_change: str


def render(sheets: list[ReadmeSheet], fetched_at: str) -> bytes:
    lines = [
        "# Billing snapshots",
        "",
        "Written by `auditor` on every scheduled run; do not edit by hand.",
        "Each commit is one snapshot: its message summarizes what changed, and its diff",
        "shows whole rows, one per line, each line starting with the row's key.",
        "",
        f"Latest snapshot fetched at {fetched_at} (UTC).",
        "",
        "| Sheet | Folder | Rows | Cells | Last change (UTC) |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for sheet in sorted(sheets, key=lambda item: item.sheet_id):
        folder = f"[`{sheet.sheet_id}`](snapshots/{quote(sheet.sheet_id, safe='')}/)"
        lines.append(
            f"| {escape(sheet.name)} | {folder} | {sheet.rows:,} | {sheet.cells:,} "
            f"| {sheet.last_change} |"
        )
    lines += [
        "",
        "Files per sheet: `sheet.json` (name and columns), `rows.json` (row key -> the",
        "row's `cells`, beside its formulas and metadata, one row per line), `summary.json`",
        "(row and cell counts, sums of the money columns).",
        "",
    ]
    return "\n".join(lines).encode()
