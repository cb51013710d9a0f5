"""Resident ID numbers (GB 11643): validation and masking."""

from __future__ import annotations

import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")


def normalize(id_number: str) -> str:
    return id_number.strip().upper()


def is_valid(id_number: str) -> bool:
    value = normalize(id_number)
    if not _SHAPE.match(value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == value[17]


def mask(id_number: str) -> str:
    """`3304**********1230`: region prefix and last four, as the contract shows it."""
    value = normalize(id_number)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"
