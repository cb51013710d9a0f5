"""Numbers written by clients and peers: ASCII digits only, and no larger than we can hold.

`str.isdigit()` is true for '²' and '١٢٣', which `int()` then refuses or reads as another
number: every number that comes from outside is read here instead.
"""

from __future__ import annotations

# The largest value a BIGINT column (and so every id and count we store) can hold.
BIGINT_MAX = 2**63 - 1


def plain_int(text: str | None, *, maximum: int = BIGINT_MAX) -> int | None:
    """The value of a string of ASCII digits from 0 to `maximum`; None for anything else."""
    if not text or len(text) > len(str(maximum)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None
