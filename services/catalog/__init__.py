"""Service items (事项) and their handling modes.

rules.py    plain item views and the mode rules (no I/O)
records.py  the `ItemRecords` port and its tortoise implementation
version.py  the shared catalog version and the per-process cache it keeps coherent
service.py  `Catalog`: snapshot, switch, sync — each change broadcast to every worker
"""

from services.catalog.records import ItemRecords, ModeChange, TortoiseItemRecords
from services.catalog.rules import (
    IN_PERSON,
    MODES,
    ONE_TRIP,
    ZERO_TRIP,
    ItemView,
    MaterialView,
    check_mode,
    zero_trip_blockers,
)
from services.catalog.service import Catalog
from services.catalog.version import CatalogVersion

__all__ = [
    "IN_PERSON",
    "MODES",
    "ONE_TRIP",
    "ZERO_TRIP",
    "Catalog",
    "CatalogVersion",
    "ItemRecords",
    "ItemView",
    "MaterialView",
    "ModeChange",
    "TortoiseItemRecords",
    "check_mode",
    "zero_trip_blockers",
]
