"""Row keys for sources keyed by columns, with errors that name the key and the rows."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.errors import SourceError
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import key_of

MAX_LISTED = 5


def key_rows(
    rows: Sequence[tuple[int, Row]], key_columns: Sequence[str], titles: Sequence[str], where: str
) -> dict[str, Row]:
    """Map each row to its key; `rows` pairs a row with its 1-based row number in the source."""
    missing = [column for column in key_columns if column not in titles]
    if missing:
        raise SourceError(
            f"{where}: key column {', '.join(map(repr, missing))} not found; "
            f"columns are {', '.join(map(repr, titles))}"
        )
    keyed: dict[str, Row] = {}
    first_seen: dict[str, int] = {}
    empty: list[int] = []
    duplicates: dict[str, list[int]] = {}
    for number, row in rows:
        values = [row.cells.get(column) for column in key_columns]
        if any(value is None or (value.__class__ is str and not value.strip()) for value in values):
            empty.append(number)
            continue
        key = key_of(values)
        if key in keyed:
            duplicates.setdefault(key, [first_seen[key]]).append(number)
            continue
        keyed[key] = row
        first_seen[key] = number
    if empty:
        raise SourceError(f"{where}: empty key {_columns(key_columns)} in row(s) {_listed(empty)}")
    if duplicates:
        key, numbers = next(iter(duplicates.items()))
        more = f" (and {len(duplicates) - 1} more duplicate keys)" if len(duplicates) > 1 else ""
        raise SourceError(
            f"{where}: duplicate key {key!r} {_columns(key_columns)} in rows "
            f"{_listed(numbers)}{more}; choose key columns that identify a row"
        )
    return keyed


def _columns(key_columns: Sequence[str]) -> str:
    return "(" + ", ".join(key_columns) + ")"


def _listed(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:MAX_LISTED]))
    return shown + (f" and {len(numbers) - MAX_LISTED} more" if len(numbers) > MAX_LISTED else "")
