"""Chapter 05's text rules as regular expressions, shared by every variant.

A pattern is a rule that both the validator and the OpenAPI document can hold,
so the document says exactly what the server enforces. Not counted per variant.
"""

from __future__ import annotations

import sys
import unicodedata


def characters(*categories: str, keep: str = "") -> str:
    """A regex character-class body: every code point of ``categories`` but ``keep``."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) in categories and char not in keep:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


def text(bad: str) -> str:
    """No ``bad`` character, and one at least that is not a space (trimmed, not empty)."""
    return rf"^[^{bad}]*[^{bad}\s][^{bad}]*$"


# Cc: control characters (NUL, ESC...); Cf: invisible formatting (the right-to-left
# override). A multi-line text keeps line breaks, tabs and format characters
# (emoji need the zero-width joiner). Lone surrogates ("\ud800" in JSON) are not
# text either, but no pattern can name them: a document is UTF-8, and they have
# no UTF-8 form. The validators refuse them with a separate check.
ONE_LINE = text(characters("Cc", "Cf"))
MULTILINE = text(characters("Cc", keep="\n\r\t"))
# Surrounding spaces are trimmed before the name is stored.
USERNAME = r"^\s*[A-Za-z0-9_.-]+\s*$"
# Taken as typed (only hashed): any character but NUL.
PASSWORD = "^[^\x00]*$"


def is_text(value: str) -> bool:
    """False for a string with lone surrogates, which cannot be stored or sent as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
