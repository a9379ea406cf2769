"""One-line message pieces shared by every error: an exception's first line, "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of `exc`'s message, at most `limit` characters (its type when empty)."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `known` to a mistyped `name`, else ''."""
    hint = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""
