"""What every searchable, paginated list shares: LIKE patterns and the ?page= number."""

from __future__ import annotations

LIKE_ESCAPE = "/"


def escape_like(text: str) -> str:
    """Make %, _ and the escape character match themselves in a LIKE pattern."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return text


def parse_page(raw: str, *, last: int) -> int:
    """A page number from the query string: 1 when it is not a number, at most `last`.

    The cap keeps OFFSET small, so an absurd ?page= is harmless.
    """
    try:
        return min(max(int(raw), 1), last)
    except ValueError:
        return 1
