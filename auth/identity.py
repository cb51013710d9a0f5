"""Resident ID numbers (GB 11643): validation and masking.

One normalisation everywhere (surrounding space dropped, a lowercase check character x made
uppercase), and nothing else: a number written with full-width or other non-ASCII digits is
refused, never quietly rewritten, so one person cannot become two users.
"""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# [0-9], not \d: \d would take any Unicode digit.
_SHAPE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
EARLIEST_BIRTH = date(1900, 1, 1)


def normalize(id_number: str) -> str:
    return id_number.strip().upper()


def is_valid(id_number: str, today: date | None = None) -> bool:
    """The shape, a birth date that exists and has passed, and the check character."""
    value = normalize(id_number)
    if not _SHAPE.match(value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False  # month 13, 30 February
    if not EARLIEST_BIRTH <= born <= (today or date.today()):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == value[17]


def mask(id_number: str) -> str:
    """`3304**********1230`: region prefix and last four, as the contract shows it."""
    value = normalize(id_number)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"
