"""Settings from `[tool.auditor]`, `auditor.toml` and the environment.

Precedence is the contract's: flags (applied by the caller with `dataclasses.replace`)
over environment variables over the files. `auditor.toml` wins over `pyproject.toml`
when both exist, since it is the more specific of the two.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auditor.errors import UsageError
from auditor.text import inert

# Bounds of the numeric settings: grace days, budgets and counts, and seconds of waiting.
MAX_COUNT = 10_000
MAX_SECONDS = 86_400.0
# Integer settings with bounds of their own.
LIMITS = {"readers": (1, 32), "requests_per_minute": (1, 300)}
DEFAULT_AUTHOR = ("auditor", "auditor@users.noreply.github.com")


@dataclass(frozen=True)
class Config:
    repo: Path | None = None
    branch: str = "snapshots"
    author_name: str = DEFAULT_AUTHOR[0]
    author_email: str = DEFAULT_AUTHOR[1]
    sheets: tuple[str, ...] = ()
    # Sheets found rather than listed (auditor/sources/discover.py).
    folders: tuple[str, ...] = ()
    workspaces: tuple[str, ...] = ()
    include_names: tuple[str, ...] = ()
    exclude_names: tuple[str, ...] = ()
    follow_copies: bool = False
    readers: int = 8
    """Sheets read at once (1 reads one at a time)."""
    requests_per_minute: int = 270
    """This process's share of the token's 300 requests a minute (split it over a matrix)."""
    key_columns: tuple[str, ...] = ()
    money_columns: tuple[str, ...] = ("Units Total Price",)
    ignored_columns: tuple[str, ...] = ()
    api_base: str = "https://api.smartsheet.com/2.0"
    token: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    retry_budget: float = 60.0
    audit_sheet_id: str | None = None
    run_url: str | None = None
    # Audit rules; the defaults fit the billing sheet of the contract.
    timezone: str = "UTC"
    close_grace_days: int = 1
    week_column: str = "Weekly Reference Logged Date"
    work_request_column: str = "Work Request #"
    cu_column: str = "CU"
    pole_column: str = "Pole #"
    quantity_column: str = "Quantity"
    price_column: str = "Units Total Price"
    tracked_columns: tuple[str, ...] = ("Quantity", "Units Total Price")
    required_columns: tuple[str, ...] = ("Work Request #", "Weekly Reference Logged Date")
    date_columns: tuple[str, ...] = ("Weekly Reference Logged Date", "Snapshot Date")
    amount_columns: tuple[str, ...] = ("Quantity", "Units Total Price")
    rate_table: str | None = None
    waivers: str = "waivers.csv"
    severity_high: str = "1000"
    severity_medium: str = "100"
    trend_snapshots: int = 30
    # Cell-level attribution from Smartsheet's cell history (30 calls a minute per token).
    attribute: bool = False
    attribution_budget: int = 20


ENVIRONMENT = {
    "AUDITOR_REPO": "repo",
    "AUDITOR_BRANCH": "branch",
    "SOURCE_SHEET_ID": "sheets",
    "SOURCE_FOLDER_ID": "folders",
    "SOURCE_WORKSPACE_ID": "workspaces",
    "SMARTSHEET_API_BASE": "api_base",
    "SMARTSHEET_ACCESS_TOKEN": "token",
    "SMARTSHEET_API_TOKEN": "token",
    "SMARTSHEET_TIMEOUT": "timeout",
    "SMARTSHEET_RETRY_BUDGET": "retry_budget",
    "AUDIT_SHEET_ID": "audit_sheet_id",
}


def load_config(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the files in `cwd`, then let the environment override them."""
    cwd = cwd or Path.cwd()
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    values.update(_file_settings(cwd / "pyproject.toml", table=("tool", "auditor")))
    values.update(_file_settings(cwd / "auditor.toml", table=()))
    for name, attribute in ENVIRONMENT.items():
        if environ.get(name):
            values[attribute] = environ[name]
    if environ.get("GITHUB_RUN_ID") and environ.get("GITHUB_REPOSITORY"):
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{environ['GITHUB_REPOSITORY']}/actions/runs/{environ['GITHUB_RUN_ID']}"
        # It goes into a commit trailer: one line, no spaces, or not at all.
        if inert(url) == url and " " not in url:
            values["run_url"] = url
    return _build(values)


def _file_settings(path: Path, table: tuple[str, ...]) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path.name}: {error}") from None
    for name in table:
        data = data.get(name, {})
        if not isinstance(data, dict):
            raise UsageError(f"{path.name}: [{'.'.join(table)}] is not a table of settings")
    settings = {key.replace("-", "_"): value for key, value in data.items()}
    if "repo" in settings:
        settings["repo"] = str(path.parent / str(settings["repo"]))
    return settings


def _build(values: dict[str, object]) -> Config:
    known = {f.name: f for f in fields(Config)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        hint = (
            "; auditor.toml holds the settings at its top level, with no [tool.auditor] table"
            if "tool" in unknown
            else ""
        )
        raise UsageError(f"unknown auditor setting(s): {', '.join(unknown)}{hint}")
    return Config(**_converted(values))


def with_flags(config: Config, **flags: object) -> Config:
    """`config` with the command line's flags over it (None: not given), each read and
    checked as the same setting from a file or the environment would be."""
    return replace(config, **_converted({k: v for k, v in flags.items() if v is not None}))


def _converted(values: dict[str, object]) -> dict[str, object]:
    converted: dict[str, object] = {}
    for name, value in values.items():
        default = getattr(Config, name, None)
        try:
            converted[name] = _convert(name, value, default)
        except (TypeError, ValueError, ArithmeticError, ZoneInfoNotFoundError):
            raise UsageError(f"setting {name!r} has an invalid value: {value!r}") from None
    return converted


def _convert(name: str, value: object, default: object) -> object:
    if name == "repo":
        return Path(str(value))
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if text not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(name)
        return text in ("true", "1", "yes")
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[arg-type]
        return tuple(str(item).strip() for item in items if str(item).strip())
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(name)
        number = int(value)
        low, high = LIMITS.get(name, (0, MAX_COUNT))
        if not low <= number <= high:
            raise ValueError(name)
        return number
    if name.startswith("severity_"):
        amount = Decimal(str(value))
        if not amount.is_finite() or amount < 0:
            raise ValueError(name)
        return str(amount)
    if name in ("author_name", "author_email"):
        text = str(value)
        if not text or inert(text) != text or set(text) & set("<>"):
            raise ValueError(name)
        return text
    if name == "timezone":
        ZoneInfo(str(value))
        return str(value)
    if name == "api_base":
        text = str(value).strip()
        if not text.startswith(("https://", "http://")) or inert(text) != text:
            raise ValueError(name)
        return text
    if isinstance(default, float):
        number = float(value)  # type: ignore[arg-type]
        if not 0 < number <= MAX_SECONDS:
            raise ValueError(name)
        return number
    return None if value is None else str(value)
