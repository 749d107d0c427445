import orjson

from auditor.snapshot import canonical
from auditor.snapshot.model import Row
from tests.helpers import as_rows


def test_rows_file_has_one_sorted_row_per_line_and_is_valid_json():
    rows = {"b": Row({"Z": 1, "A": "x"}, id=2), "a": Row({"Q": [1, 2]}), "c": Row({"N": "a\nb"})}
    data = canonical.rows_json(rows)
    lines = data.decode().split("\n")
    assert lines[0] == "{" and lines[-2] == "}" and lines[-1] == ""
    assert lines[1] == '"a":{"cells":{"Q":[1,2]}},'
    assert lines[2] == '"b":{"cells":{"A":"x","Z":1},"id":2},'
    assert lines[3] == '"c":{"cells":{"N":"a\\nb"}}'
    assert orjson.loads(data) == {key: row.to_json() for key, row in rows.items()}


def test_rows_file_is_byte_stable_whatever_the_insertion_order():
    one = as_rows({"k1": {"A": 1, "B": 2}, "k2": {"C": 3}})
    two = as_rows({"k2": {"C": 3}, "k1": {"B": 2, "A": 1}})
    assert canonical.rows_json(one) == canonical.rows_json(two)


def test_row_lines_parse_back_to_the_rows():
    rows = {str(n): Row({"V": n}) for n in range(5)}
    lines = canonical.row_lines(canonical.rows_json(rows))
    assert len(lines) == 5
    assert canonical.parse_lines(lines[1:3]) == {"1": Row({"V": 1}), "2": Row({"V": 2})}
    assert canonical.row_lines(canonical.rows_json({})) == []


def test_summary_sums_money_as_decimal():
    rows = {str(n): Row({"Units Total Price": 0.1, "Quantity": 1}, id=n) for n in range(3)}
    rows["x"] = Row({"Units Total Price": "n/a"})
    summary = orjson.loads(canonical.summary_json(rows, ["Units Total Price"]))
    assert summary == {"rows": 4, "cells": 7, "sums": {"Units Total Price": 0.3}}
