"""`auditor log`: the snapshots, newest first, from their commits' trailers alone."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.store.gitstore import Store
from auditor.store.message import LogEntry, sheet_records
from auditor.store.revisions import resolve

PAGE = 20
"""Snapshots shown by default: a branch of years holds tens of thousands."""


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    more: bool
    """Older snapshots were left out."""


def log_entries(store: Store, limit: int | None = PAGE) -> LogPage:
    """The newest `limit` snapshots (all with None), with counts read from their trailers;
    one more commit is read to know whether older ones were left out."""
    tip = resolve(store, "HEAD")
    commits = store.first_parents(tip, None if limit is None else limit + 1)
    entries = []
    for commit in commits[:limit]:
        records = sheet_records(commit.message).values()
        entries.append(
            LogEntry(
                commit=commit.sha,
                time=commit.time,
                subject=commit.message.split("\n", 1)[0],
                rows_added=sum(record.added for record in records),
                rows_removed=sum(record.removed for record in records),
                cells_changed=sum(record.changed for record in records),
                rows=sum(record.rows for record in records),
            )
        )
    return LogPage(entries, len(commits) > len(entries))
