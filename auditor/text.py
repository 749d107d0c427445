"""Text and time as every output shows them: sheet text made inert, shortened where space
is bounded, counts with their nouns, and times in UTC.

Every title, name, key and cell comes from people typing into a sheet. Shown raw, a newline
fakes a line of a commit message or a table, an escape sequence clears a terminal or writes
to its clipboard (OSC 52), and a right-to-left override reorders what a reviewer reads. So
each such character is written as a visible escape (`\\n`, `\\x1b`, `\\u202e`), the same
in every human output; the JSON output and the snapshot files keep the text exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

# C0 and C1 controls, DEL, line and paragraph separators, the bidirectional controls, and
# the characters that show as nothing (zero-width spaces and joiners, word joiners, the
# byte-order mark, tag characters), so that two texts that look equal are seen to differ.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f]"
)
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
ELLIPSIS = "…"


def inert(text: str) -> str:
    """`text` with every control character written as a visible escape."""
    return UNSAFE.sub(_escaped, text) if UNSAFE.search(text) else text


def one_line(text: str, limit: int) -> str:
    """Inert text on one line of at most `limit` characters: commit messages, log lines."""
    return shorten(inert(text), limit)


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def iso(moment: dt.datetime) -> str:
    """`2026-11-23T08:00:00Z`: a time in files, trailers and JSON."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(moment: dt.datetime) -> str:
    """`2026-11-23 08:00 UTC`: a time in text for people (markdown, the workbook's text)."""
    return f"{minutes(moment)} UTC"


def money(amount: Decimal | int | float) -> str:
    """`$1,234.56`, `-$4,310.00`: an amount in text for people, in every human output."""
    value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def minutes(moment: dt.datetime) -> str:
    """`2026-11-23 08:00`: a time for people, in UTC (the caller's header or text says so)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time, `Z` or an offset or neither (then UTC); ValueError if it is not
    one."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
