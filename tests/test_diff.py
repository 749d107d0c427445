"""The diff of two snapshots: exact cases, and properties on random tables."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.diff.compute import diff_sheet
from auditor.diff.model import CellChange, Diff, SheetDiff, Side
from auditor.outputs.changes import headline
from auditor.outputs.json_format import diff_document
from auditor.snapshot.canonical import SheetFiles, rows_json
from auditor.snapshot.model import LAYOUT
from tests.helpers import as_rows

SIDE = Side("0" * 40, dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC))


def files(rows: dict, columns: list[tuple[str, int | None]] | None = None, **extra) -> SheetFiles:
    """Stored files for `rows`; columns are (title, id) in index order."""
    if columns is None:
        titles = sorted({t for row in rows.values() for t in row if not t.startswith("_")})
        columns = [(title, None) for title in titles]
    meta_columns = []
    for index, (title, column_id) in enumerate(columns):
        column = {"index": index, "title": title, **({"id": column_id} if column_id else {})}
        column.update(extra.get(title, {}))
        meta_columns.append(column)
    meta = {"id": "s", "name": "Billing", "columns": meta_columns, "layout": LAYOUT}
    return SheetFiles(meta, rows_json(as_rows(rows)))


def test_cells_rows_and_order():
    old = {"k2": {"A": 1, "B": "x"}, "k1": {"A": 5, "B": "y"}, "k3": {"A": 1}}
    new = {"k1": {"A": 6, "B": "y", "C": "new"}, "k2": {"B": "x"}, "k4": {"A": 2}}
    cols = [("C", None), ("A", None), ("B", None)]
    diff = diff_sheet("s", files(old, cols), files(new, cols))
    assert diff.status == "changed"
    assert [(r.key, r.row) for r in diff.rows_added] == [("k4", {"A": 2})]
    assert [(r.key, r.row) for r in diff.rows_removed] == [("k3", {"A": 1})]
    assert diff.cells_changed == [
        CellChange("k1", "C", None, "new"),
        CellChange("k1", "A", 5, 6),
        CellChange("k2", "A", 1, None),
    ]


def test_a_change_of_type_is_a_change_even_where_python_says_equal():
    diff = diff_sheet("s", files({"k": {"A": 1, "B": "1"}}), files({"k": {"A": True, "B": 1}}))
    assert diff.cells_changed == [CellChange("k", "A", 1, True), CellChange("k", "B", "1", 1)]


def test_metadata_is_not_a_data_change_but_formulas_are():
    old = {
        "k": {"A": 1, "_id": 1, "_modified_at": "2026-11-20T10:00:00Z", "_formulas": {"A": "=1"}}
    }
    moved = {
        "k": {"A": 1, "_id": 1, "_modified_at": "2026-11-21T10:00:00Z", "_formulas": {"A": "=1"}}
    }
    assert diff_sheet("s", files(old), files(moved)).status == "unchanged"
    constant = {"k": {"A": 1, "_id": 1}}
    diff = diff_sheet("s", files(old), files(constant))
    assert diff.formulas_changed == [CellChange("k", "A", "=1", None)]
    assert diff.cells_changed == []


def test_system_and_configured_ignored_columns_are_never_changes():
    system = {"Modified": {"systemColumnType": "MODIFIED_DATE"}}
    cols = [("A", 1), ("Modified", 2), ("Notes", 3)]
    old = {"k": {"A": 1, "Modified": "2026-11-20T10:00:00Z", "Notes": "x"}}
    new = {"k": {"A": 1, "Modified": "2026-11-21T10:00:00Z", "Notes": "y"}}
    diff = diff_sheet("s", files(old, cols, **system), files(new, cols, **system))
    assert diff.cells_changed == [CellChange("k", "Notes", "x", "y")]
    ignored = diff_sheet(
        "s", files(old, cols, **system), files(new, cols, **system), frozenset({"Notes"})
    )
    assert ignored.status == "unchanged"


def test_a_rename_by_column_id_is_only_a_rename():
    old = {"k": {"Qty": 1, "Price": 2.5, "_formulas": {"Price": "=[Qty]@row*2.5"}}}
    new = {"k": {"Quantity": 1, "Price": 2.5, "_formulas": {"Price": "=[Quantity]@row*2.5"}}}
    diff = diff_sheet(
        "s", files(old, [("Qty", 7), ("Price", 8)]), files(new, [("Quantity", 7), ("Price", 8)])
    )
    assert diff.columns_renamed == [("Qty", "Quantity")]
    assert (diff.columns_added, diff.columns_removed, diff.cells_changed) == ([], [], [])
    assert diff.formulas_changed == [
        CellChange("k", "Price", "=[Qty]@row*2.5", "=[Quantity]@row*2.5")
    ]


def test_a_sheet_renamed_with_its_data_unchanged_is_a_change_that_says_so():
    rows = {"k1": {"A": 1}}
    old = files(rows)
    renamed = SheetFiles({**old.meta, "name": "Billing [b]2026[/b] Archive"}, old.rows)
    diff = diff_sheet("s", old, renamed)
    assert (diff.status, diff.changed, diff.renamed_from) == ("changed", True, "Billing")
    assert headline(diff) == "renamed from 'Billing', +0 rows, -0 rows, 0 cells changed"
    assert diff_document(Diff(SIDE, SIDE, [diff]))["sheets"][0]["renamed_from"] == "Billing"
    same = diff_sheet("s", old, files(rows))
    assert (same.status, same.renamed_from) == ("unchanged", None)
    assert "renamed_from" not in diff_document(Diff(SIDE, SIDE, [same]))["sheets"][0]


def test_without_column_ids_a_rename_is_a_removal_and_an_addition():
    diff = diff_sheet("s", files({"k": {"Qty": 1}}), files({"k": {"Quantity": 1}}))
    assert (diff.columns_added, diff.columns_removed) == (["Quantity"], ["Qty"])
    assert diff.cells_changed == [
        CellChange("k", "Quantity", None, 1),
        CellChange("k", "Qty", 1, None),
    ]


def test_a_sheet_that_joins_or_leaves_lists_no_rows():
    rows = {"k": {"A": 1}, "m": {"A": 2}}
    added = diff_sheet("s", None, files(rows))
    assert (added.status, added.rows, added.rows_added, added.changed) == ("added", 2, [], True)
    removed = diff_sheet("s", files(rows), None)
    assert (removed.status, removed.rows, removed.rows_removed) == ("removed", 2, [])
    assert removed.changed and sorted(removed.old_rows) == ["k", "m"]


# Properties on random tables.

TITLES = ["Foreman", "CU", "Quantity", "Units Total Price", "Pole #", "Notes"]
values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda x: not x.is_integer()),
    st.text(max_size=8),
    st.just(True),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True).map(sorted),
)


@st.composite
def table(draw, titles):
    keys = draw(st.lists(st.text(min_size=1, max_size=4), max_size=12, unique=True))
    return {
        key: {
            title: value
            for title in titles
            if (value := draw(st.one_of(st.none(), values))) not in (None, "")
        }
        for key in keys
    }


@st.composite
def pair(draw):
    """Two versions of a sheet with ids: columns kept, renamed, dropped or added; rows edited."""
    old_columns = [(title, n + 1) for n, title in enumerate(draw(st.permutations(TITLES))[:4])]
    new_columns = []
    for title, column_id in old_columns:
        fate = draw(st.sampled_from(["keep", "keep", "rename", "drop"]))
        if fate == "keep":
            new_columns.append((title, column_id))
        elif fate == "rename":
            new_columns.append((title + " (renamed)", column_id))
    taken = {title for title, _ in new_columns}
    new_columns += [
        (title, 100 + n)
        for n, title in enumerate(TITLES)
        if title not in taken and title not in dict(old_columns) and draw(st.booleans())
    ]
    old = draw(table([title for title, _ in old_columns]))
    new = draw(table([title for title, _ in new_columns]))
    shared = draw(st.lists(st.sampled_from(sorted(old)), unique=True)) if old else []
    for key in shared:
        new.setdefault(key, {})
        for title, value in old[key].items():
            renamed = dict(old_columns).get(title)
            for new_title, new_id in new_columns:
                if new_id == renamed and draw(st.booleans()):
                    new[key].setdefault(new_title, value)
    return old_columns, old, new_columns, new


def apply(old: dict, diff: SheetDiff) -> dict:
    renames = dict(diff.columns_renamed)
    rows = {
        key: {renames.get(title, title): value for title, value in row.items()}
        for key, row in old.items()
    }
    for change in diff.rows_removed:
        del rows[change.key]
    for change in diff.rows_added:
        rows[change.key] = dict(change.row)
    for cell in diff.cells_changed:
        if cell.new is None:
            del rows[cell.key][cell.column]
        else:
            rows[cell.key][cell.column] = cell.new
    return rows


@settings(max_examples=150, deadline=None)
@given(pair())
def test_applying_the_reported_changes_to_a_gives_b(case):
    old_columns, old, new_columns, new = case
    diff = diff_sheet("s", files(old, old_columns), files(new, new_columns))
    assert orjson.dumps(apply(old, diff), option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        new, option=orjson.OPT_SORT_KEYS
    )
    titles = [
        renames if (renames := dict(diff.columns_renamed).get(t)) else t for t, _ in old_columns
    ]
    titles = [t for t in titles if t not in diff.columns_removed] + diff.columns_added
    assert sorted(titles) == sorted(title for title, _ in new_columns)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_diff_of_a_table_with_itself_is_empty(data):
    columns = [(title, n) for n, title in enumerate(TITLES, start=1)]
    rows = data.draw(table(TITLES))
    diff = diff_sheet("s", files(rows, columns), files(rows, columns))
    assert diff.status == "unchanged" and not diff.changed
