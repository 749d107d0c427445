"""Markdown escaping for sheet text, shared by the branch README and markdown output.

Sheet text must not become markup: control characters (auditor.text), table pipes, HTML,
and `@mentions` (which would notify people on GitHub) are neutralized.
"""

from __future__ import annotations

import re

from auditor.text import inert

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")


def escape(text: str) -> str:
    text = inert(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return _MENTION.sub("@\u200b", text)
