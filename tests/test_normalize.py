import datetime as dt
from decimal import Decimal

import pytest

from auditor.snapshot import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        ("-7", -7),
        ("1234.50", 1234.5),
        ("0.1", 0.1),
        ("2026-11-20", "2026-11-20"),
        ("2026-02-30", "2026-02-30"),
        ("007", "007"),
        ("+5", "+5"),
        ("1e5", "1e5"),
        ("$1,234.56", "$1,234.56"),
        ("WR-1001", "WR-1001"),
        ("", None),
    ],
)
def test_csv_text_becomes_a_number_or_date_only_when_exactly_one(raw, expected):
    value = normalize.text(raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$1,234.56", 1234.56),
        ("1234.56", 1234.56),
        (1234.56, 1234.56),
        ("$1,000.00", 1000),
        ("-$5.10", -5.1),
        ("($5.10)", -5.1),
        ("USD 5", "USD 5"),
        (True, True),
    ],
)
def test_money_text_and_numbers_are_one_decimal_value(raw, expected):
    value = normalize.money(raw)
    assert value == expected
    assert type(value) is type(expected)


def test_numbers_serialize_integral_as_int_and_others_as_shortest_round_trip():
    assert normalize.number(5.0) == 5 and type(normalize.number(5.0)) is int
    assert normalize.number(Decimal("0.30")) == 0.3
    assert repr(normalize.number(Decimal("0.1") + Decimal("0.2"))) == "0.3"
    assert normalize.number(float("nan")) == "nan"


def test_decimal_of_a_stored_float_is_exact():
    assert normalize.to_decimal(1234.56) == Decimal("1234.56")
    assert normalize.to_decimal("$1,234.56") == Decimal("1234.56")
    assert normalize.to_decimal(True) is None


def test_datetimes_are_utc_and_naive_times_are_taken_as_utc():
    aware = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert normalize.datetime(aware) == "2026-11-20T14:30:00Z"
    assert normalize.datetime(dt.datetime(2026, 11, 20, 9, 30)) == "2026-11-20T09:30:00Z"
    assert normalize.parse_datetime("2026-11-20T09:30:00+01:00") == "2026-11-20T08:30:00Z"
    assert normalize.parse_datetime("next tuesday") == "next tuesday"


def test_keys_are_the_value_or_a_compact_json_array():
    assert normalize.key_of(["WR-1"]) == "WR-1"
    assert normalize.key_of([12]) == "12"
    assert normalize.key_of(["WR-1", 3]) == '["WR-1",3]'
