"""In-memory stand-ins for the ports, for unit tests: no database, no network.

Each fake keeps the semantics of what it replaces and records what it was asked in
`calls`, so a test can check both what happened and what was (not) attempted.

    common.py    FakeClock, FakeAudit, FakeLimiter
    auth.py      FakeVerifier, FakeUserRecords, FakeSessionRecords, fake_auth_store
    services.py  FakeGateway (with FakeIssuer), FakeItemRecords, FakePresentationRecords,
                 FakeIdentities, FakeOutboxRecords
    uploads.py   FakeUploadRecords, FakeOcrEngine
"""

from tests.fakes.auth import (
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
)
from tests.fakes.uploads import FakeOcrEngine, FakeUploadRecords

__all__ = [
    "FakeAudit",
    "FakeClock",
    "FakeGateway",
    "FakeIdentities",
    "FakeIssuer",
    "FakeItemRecords",
    "FakeLimiter",
    "FakeOutboxRecords",
    "FakeOcrEngine",
    "FakePresentationRecords",
    "FakeSessionRecords",
    "FakeUploadRecords",
    "FakeUserRecords",
    "FakeVerifier",
    "fake_auth_store",
    "new_signing_key",
]
