"""Value normalization: equal data must serialize to equal bytes.

Numbers become JSON integers when integral and otherwise the shortest decimal that
round-trips (Python's float repr), so `5.0` and `5` are one value. Money is parsed as
`Decimal` first, so `$1,234.56` and `1234.56` are one value too; it is only turned into
a float after rounding to the decimal it was written as, which that float reproduces.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from auditor.text import parse_time

INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INT_RANGE = (-(2**63), 2**63 - 1)
MONEY = re.compile(r"\(?(-)?\s*\$?\s*(-)?((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)\)?")


def number(value: int | float | Decimal) -> int | float | str:
    """A JSON-ready number. Non-finite values stay text, since JSON has no such number, and
    so do integers beyond 64 bits, which JSON readers (orjson among them) do not take."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return value if INT_RANGE[0] <= value <= INT_RANGE[1] else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return number(int(value))
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value.normalize() else str(value)
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer() and INT_RANGE[0] <= value <= INT_RANGE[1]:
        return int(value)
    return value


def to_decimal(value: Any) -> Decimal | None:
    """The decimal a stored value stands for, or None; floats go through their repr."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        return parse_money(value)
    return None


def parse_money(text: str) -> Decimal | None:
    """`$1,234.56`, `1234.56`, `-$5`, `($5.00)` -> Decimal; anything else -> None."""
    match = MONEY.fullmatch(text.strip())
    if not match:
        return None
    try:
        amount = Decimal(match[3].replace(",", ""))
    except InvalidOperation:
        return None
    negative = bool(match[1] or match[2]) or text.strip().startswith("(")
    return -amount if negative else amount


def money(value: Any) -> Any:
    """A money cell: numbers and currency text become one decimal number; other text stays."""
    if isinstance(value, str):
        amount = parse_money(value)
        return value if amount is None else number(amount)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(Decimal(repr(value)) if isinstance(value, float) else value)
    return value


def text(value: str) -> Any:
    """A CSV cell: exactly an integer, a decimal or an ISO date becomes one; the rest is text."""
    if not value:
        return None
    first = value[0]
    if first.isdigit() or first == "-":
        if INTEGER.fullmatch(value):
            return number(int(value))
        if DECIMAL.fullmatch(value):
            return number(Decimal(value))
        if ISO_DATE.fullmatch(value) and _is_date(value):
            return value
    return value


def date(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        return datetime(value)
    return value.isoformat()


def datetime(value: dt.datetime) -> str:
    """ISO 8601 in UTC; a naive time is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(value) + "Z"


def parse_datetime(value: str) -> str:
    """An ISO date-time string in UTC; anything that does not parse stays as it was."""
    try:
        return datetime(parse_time(value))
    except ValueError:
        return value


def key_of(values: list[Any]) -> str:
    """A row key: the value itself for one column, the compact JSON array for several."""
    if len(values) == 1:
        only = values[0]
        return only if isinstance(only, str) else orjson.dumps(only).decode()
    return orjson.dumps(values).decode()


def _fraction(value: dt.datetime) -> str:
    return f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
