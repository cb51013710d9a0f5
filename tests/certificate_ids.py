"""GB/T 36904 certificate identifiers for tests."""

from __future__ import annotations

from core.ids import is_certificate_id


def misnumbered(certificate_id: str) -> str:
    """The same identifier with another check character: it cannot verify."""
    for check in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        wrong = certificate_id[:-1] + check
        if not is_certificate_id(wrong):
            return wrong
    raise AssertionError("every check character verified")
