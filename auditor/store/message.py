"""Commit messages of the snapshots branch: summary lines, first changes, trailers.

Trailers carry what must not be in the files (fetch time, sheet versions, counts), so
`auditor log` and trend reports read them instead of parsing snapshots.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import orjson

from auditor.text import iso

FETCHED_AT = "Fetched-At"
SHEET = "Auditor-Sheet"
LEFT = "Auditor-Left"
RUN_URL = "Run-URL"
MAX_CHANGE_LINES = 20
TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")
PLAIN = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SheetRecord:
    """One sheet's figures in one snapshot, as its trailer records them."""

    sheet_id: str
    version: int | None
    rows: int
    cells: int
    added: int = 0
    removed: int = 0
    changed: int = 0
    last_change: str = ""
    open: tuple[tuple[str, int], ...] = ()
    """Open (not waived) violations by rule in this snapshot."""
    found: str = "listed"
    """Why the sheet is audited: `listed`, `folder:ID`, `workspace:ID` or `copy:ID`."""

    def trailer(self) -> str:
        version = "-" if self.version is None else str(self.version)
        violations = ",".join(f"{rule}:{count}" for rule, count in self.open) or "-"
        return (
            f"{SHEET}: {_word(self.sheet_id)} version={version} rows={self.rows} "
            f"cells={self.cells} added={self.added} removed={self.removed} "
            f"changed={self.changed} last-change={self.last_change} open={violations} "
            f"found={self.found}"
        )

    @classmethod
    def parse(cls, value: str) -> SheetRecord | None:
        """The record in a trailer's value; None where the value is not one (a hand edit):
        the caller then knows nothing of that sheet, rather than something wrong."""
        try:
            sheet_id, rest = _first_word(value)
            fields = dict(part.split("=", 1) for part in rest.split())
            version = fields.get("version", "-")
            return cls(
                sheet_id=sheet_id,
                version=None if version == "-" else int(version),
                rows=int(fields.get("rows", 0)),
                cells=int(fields.get("cells", 0)),
                added=int(fields.get("added", 0)),
                removed=int(fields.get("removed", 0)),
                changed=int(fields.get("changed", 0)),
                last_change=fields.get("last-change", ""),
                open=tuple(
                    (rule, int(count))
                    for rule, _, count in (
                        item.partition(":") for item in fields.get("open", "-").split(",")
                    )
                    if count
                ),
                found=fields.get("found", "listed"),
            )
        except ValueError:
            return None


def _word(text: str) -> str:
    """A trailer field that may hold spaces or quotes: as it is when plain, else a JSON
    string."""
    return text if PLAIN.fullmatch(text) else orjson.dumps(text).decode()


def _first_word(value: str) -> tuple[str, str]:
    """`_word`'s field at the start of `value`, and the rest; ValueError if it is none."""
    if not value.startswith('"'):
        word, _, rest = value.partition(" ")
        return word, rest
    word, end = json.JSONDecoder().raw_decode(value)
    if not isinstance(word, str):
        raise ValueError(value)
    return word, value[end:]


def compose(
    summaries: list[str],
    changes: list[str],
    fetched_at: dt.datetime,
    records: list[SheetRecord],
    run_url: str | None,
    left: dict[str, str] | None = None,
    subject: str | None = None,
) -> str:
    """The message; `left` maps each sheet that left the audit in this snapshot to why;
    `subject`, when several sheets changed, is a paragraph of its own above their lines,
    so that a one-line view (`git log --oneline`, GitHub's history) tells of all of them."""
    shown = changes[:MAX_CHANGE_LINES]
    if len(changes) > MAX_CHANGE_LINES:
        shown.append(f"... and {len(changes) - MAX_CHANGE_LINES} more changes")
    trailers = [f"{FETCHED_AT}: {iso(fetched_at)}"] + [record.trailer() for record in records]
    trailers += [
        f"{LEFT}: {_word(sheet_id)} {orjson.dumps(why).decode()}"
        for sheet_id, why in sorted((left or {}).items())
    ]
    if run_url:
        trailers.append(f"{RUN_URL}: {run_url}")
    parts = ([subject] if subject else []) + ["\n".join(summaries)]
    if shown:
        parts.append("\n".join(shown))
    parts.append("\n".join(trailers))
    return "\n\n".join(parts) + "\n"


def trailers(message: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of the message's last paragraph."""
    paragraph = message.rstrip("\n").rsplit("\n\n", 1)[-1]
    pairs = [TRAILER.match(line) for line in paragraph.splitlines()]
    if not pairs or not all(pairs):
        return []
    return [(match[1], match[2]) for match in pairs if match]


def left_sheets(message: str) -> dict[str, str]:
    """The sheets that left the audit in a snapshot, and why (`Auditor-Left` trailers)."""
    found = {}
    for name, value in trailers(message):
        if name == LEFT:
            try:
                sheet_id, rest = _first_word(value)
                why = json.loads(rest)
            except ValueError:
                continue
            if isinstance(why, str):
                found[sheet_id] = why
    return found


def sheet_records(message: str) -> dict[str, SheetRecord]:
    records = (SheetRecord.parse(value) for name, value in trailers(message) if name == SHEET)
    return {record.sheet_id: record for record in records if record is not None}


@dataclass(frozen=True)
class LogEntry:
    commit: str
    time: dt.datetime
    subject: str
    rows_added: int
    rows_removed: int
    cells_changed: int
    rows: int
