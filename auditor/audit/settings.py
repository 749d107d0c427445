"""The rule settings read once from Config: money thresholds, columns, the rate table, waivers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from auditor.audit.model import SEVERITIES
from auditor.config import Config
from auditor.errors import UsageError
from auditor.snapshot.normalize import parse_money

RULES_VERSION = "3"
"""Bumped when a rule's logic changes, so violations stored by older versions are redone."""


@dataclass(frozen=True)
class Waiver:
    rule: str
    key: str
    column: str | None
    reason: str
    approved_by: str
    until: dt.date | None


@dataclass(frozen=True)
class Settings:
    config: Config
    zone: ZoneInfo
    high: Decimal
    medium: Decimal
    rates: dict[str, Decimal] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Everything a snapshot's violations depend on besides the branch itself (waivers are
        applied later, when a pair is classified); stored violations are reused only when
        it matches."""
        config = self.config
        names = (
            "timezone",
            "close_grace_days",
            "week_column",
            "work_request_column",
            "cu_column",
            "pole_column",
            "quantity_column",
            "price_column",
            "tracked_columns",
            "required_columns",
            "date_columns",
            "amount_columns",
            "money_columns",
            "severity_high",
            "severity_medium",
        )
        material = [RULES_VERSION, *(repr(getattr(config, name)) for name in names)]
        material += [f"{cu}={price}" for cu, price in sorted(self.rates.items())]
        return hashlib.sha1("\n".join(material).encode()).hexdigest()[:16]

    def severity(self, money: Decimal | None, closed: bool = False) -> str:
        """The one severity of a change and of a violation, in every output and for
        `--fail-on`: by the money it moves (high over `high`, medium over `medium`, else
        low; none counts as $0), one step higher where its week is closed (or invoiced),
        since then it changes what was billed."""
        amount = abs(money) if money is not None else Decimal(0)
        step = 2 if amount > self.high else 1 if amount > self.medium else 0
        return SEVERITIES[min(step + int(closed), len(SEVERITIES) - 1)]

    def waiver_for(self, rule: str, key: str, column: str | None, on: dt.date) -> Waiver | None:
        for waiver in self.waivers:
            if (
                waiver.rule == rule
                and waiver.key == key
                and (waiver.column is None or waiver.column == column)
                and (waiver.until is None or waiver.until >= on)
            ):
                return waiver
        return None


def load_settings(config: Config, base: Path | None = None) -> Settings:
    base = base or Path.cwd()
    rates = _rates(base / config.rate_table) if config.rate_table else {}
    waivers_path = base / config.waivers
    waivers = _waivers(waivers_path) if waivers_path.is_file() else ()
    return Settings(
        config,
        ZoneInfo(config.timezone),
        Decimal(config.severity_high),
        Decimal(config.severity_medium),
        rates,
        waivers,
    )


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    header = set(rows[0]) if rows else set()
    missing = [name for name in required if rows and name not in header]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
    return rows


def _rates(path: Path) -> dict[str, Decimal]:
    rates = {}
    for number, row in enumerate(_rows(path, ("CU", "unit_price")), start=2):
        price = parse_money(row["unit_price"] or "")
        if price is None:
            raise UsageError(f"{path}: row {number}: unit_price {row['unit_price']!r} is not money")
        rates[row["CU"].strip()] = price
    return rates


def _waivers(path: Path) -> tuple[Waiver, ...]:
    waivers = []
    for number, row in enumerate(_rows(path, ("rule", "key")), start=2):
        until = (row.get("until") or "").strip()
        try:
            end = dt.date.fromisoformat(until) if until else None
        except ValueError:
            raise UsageError(f"{path}: row {number}: until {until!r} is not a date") from None
        waivers.append(
            Waiver(
                rule=row["rule"].strip(),
                key=row["key"].strip(),
                column=(row.get("column") or "").strip() or None,
                reason=(row.get("reason") or "").strip(),
                approved_by=(row.get("approved by") or "").strip(),
                until=end,
            )
        )
    return tuple(waivers)
