"""Identifiers that come from outside: checked for shape before a database sees them."""

from __future__ import annotations

import re
import uuid
from functools import lru_cache

from stdnum.iso7064 import mod_37_36


def is_uuid(value: str) -> bool:
    """Whether `value` is a UUID: a lookup with anything else would be a database error."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# GB/T 36904 electronic-certificate identifiers: the root OID of the certificate library
# (1.2.156.3005.2), then type code, issuer code, serial and version, dot-separated, and one
# check character over every letter and digit before it (ISO 7064 MOD 37,36, GB/T 17710).
CERTIFICATE_ROOT = "1.2.156.3005.2."
_CERTIFICATE_ID = re.compile(r"1\.2\.156\.3005\.2(\.[0-9A-Z]+){4}\.[0-9A-Z]")


def is_certificate_id(value: object) -> bool:
    """Whether `value` is a GB/T 36904 identifier whose check character verifies."""
    if not isinstance(value, str) or len(value) > 128:
        return False
    return _checks(value)


@lru_cache(maxsize=8192)
def _checks(value: str) -> bool:
    # Every certificate shown is checked on each read and listing (~1.5% of a certificate
    # read); a citizen's few identifiers come back again and again.
    if not _CERTIFICATE_ID.fullmatch(value):
        return False
    return mod_37_36.is_valid("".join(ch for ch in value if ch != "."))
