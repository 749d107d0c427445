import orjson

from auditor.snapshot import canonical


def test_rows_file_has_one_sorted_row_per_line_and_is_valid_json():
    rows = {"b": {"Z": 1, "A": "x", "_id": 2}, "a": {"Q": [1, 2]}, "c": {"N": "line\nbreak"}}
    data = canonical.rows_json(rows)
    lines = data.decode().split("\n")
    assert lines[0] == "{" and lines[-2] == "}" and lines[-1] == ""
    assert lines[1] == '"a":{"Q":[1,2]},'
    assert lines[2] == '"b":{"A":"x","Z":1,"_id":2},'
    assert lines[3] == '"c":{"N":"line\\nbreak"}'
    assert orjson.loads(data) == rows


def test_rows_file_is_byte_stable_whatever_the_insertion_order():
    one = {"k1": {"A": 1, "B": 2}, "k2": {"C": 3}}
    two = {"k2": {"C": 3}, "k1": {"B": 2, "A": 1}}
    assert canonical.rows_json(one) == canonical.rows_json(two)


def test_row_lines_parse_back_to_the_rows():
    rows = {str(n): {"V": n} for n in range(5)}
    lines = canonical.row_lines(canonical.rows_json(rows))
    assert len(lines) == 5
    assert canonical.parse_lines(lines[1:3]) == {"1": {"V": 1}, "2": {"V": 2}}
    assert canonical.row_lines(canonical.rows_json({})) == []


def test_summary_sums_money_as_decimal():
    rows = {str(n): {"Units Total Price": 0.1, "Quantity": 1, "_id": n} for n in range(3)}
    rows["x"] = {"Units Total Price": "n/a"}
    summary = orjson.loads(canonical.summary_json(rows, ["Units Total Price"]))
    assert summary == {"rows": 4, "cells": 7, "sums": {"Units Total Price": 0.3}}
