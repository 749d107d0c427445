"""`auditor log`: the snapshots, newest first, from their commits' trailers alone."""

from __future__ import annotations

from auditor.store.gitstore import Store
from auditor.store.message import LogEntry, sheet_records
from auditor.store.revisions import resolve


def log_entries(store: Store, limit: int | None = None) -> list[LogEntry]:
    """The snapshots, newest first, with counts read from their trailers."""
    tip = resolve(store, "HEAD")
    entries = []
    for commit in store.first_parents(tip, limit):
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
    return entries
