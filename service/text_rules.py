"""Which characters free text may contain, wherever it is typed (forms, API, CSV).

Control characters break email headers and calendar lines (and PostgreSQL refuses NUL), and
bidirectional overrides make a name display as something other than what is stored (a
"Trojan Source" spoof in a dashboard or an email). Line breaks and tabs are allowed only in
multi-line fields. The zero-width joiners stay: Indic scripts and emoji sequences need them.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
JOINERS = frozenset("\u200c\u200d")
SINGLE_LINE_MESSAGE = "must not contain line breaks or control characters"
MULTI_LINE_MESSAGE = "must not contain control characters"


def has_forbidden_characters(value: str, *, multi_line: bool) -> bool:
    for char in value:
        if char in BIDI_CONTROLS:
            return True
        if (
            unicodedata.category(char) in ("Cc", "Cf", "Cs")
            and not (multi_line and char in "\n\t")
            and char not in JOINERS
        ):
            return True
    return False


def check_text(value: str, *, multi_line: bool = False) -> str | None:
    """None if `value` is acceptable, else the reason (to follow the field's name)."""
    if multi_line:
        value = value.replace("\r\n", "\n")
    if has_forbidden_characters(value, multi_line=multi_line):
        return MULTI_LINE_MESSAGE if multi_line else SINGLE_LINE_MESSAGE
    return None
