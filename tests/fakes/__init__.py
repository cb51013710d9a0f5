"""In-memory stand-ins for the ports, for unit tests: no database, no network.

Each fake keeps the semantics of what it replaces and records what it was asked in
`calls`, so a test can check both what happened and what was (not) attempted.

    common.py    FakeClock, FakeAudit, FakeLimiter
    auth.py      FakeVerifier, FakeUserRecords, FakeSessionRecords, FakeLogins,
                 fake_auth_store
    services.py  FakeGateway (with FakeIssuer, FakeSm2Issuer), FakeItemRecords,
                 FakePresentationRecords, FakeIdentities, FakeOutboxRecords, certificate_id
    applications.py  FakeApplicationRecords (its outbox rows in a FakeOutboxRecords)
    uploads.py   FakeUploadRecords, FakeOcrEngine
"""

from tests.fakes.applications import FakeApplicationRecords
from tests.fakes.auth import (
    FakeLogins,
    FakeSessionRecords,
    FakeUserRecords,
    FakeVerifier,
    fake_auth_store,
    new_signing_key,
)
from tests.fakes.common import FakeAudit, FakeClock, FakeLimiter
from tests.fakes.services import (
    FakeGateway,
    FakeIdentities,
    FakeIssuer,
    FakeItemRecords,
    FakeOutboxRecords,
    FakePresentationRecords,
    FakeSm2Issuer,
    certificate_id,
)
from tests.fakes.uploads import FakeOcrEngine, FakeUploadRecords

__all__ = [
    "FakeApplicationRecords",
    "FakeAudit",
    "FakeClock",
    "FakeGateway",
    "FakeIdentities",
    "FakeLogins",
    "FakeIssuer",
    "FakeItemRecords",
    "FakeLimiter",
    "FakeOutboxRecords",
    "FakeOcrEngine",
    "FakePresentationRecords",
    "FakeSessionRecords",
    "FakeSm2Issuer",
    "FakeUploadRecords",
    "FakeUserRecords",
    "FakeVerifier",
    "fake_auth_store",
    "certificate_id",
    "new_signing_key",
]
