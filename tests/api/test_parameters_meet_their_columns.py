"""Query and path parameters that reach a database filter, each with a value its column's
own rules refuse: a clear 4xx before any query, never a 500 (tortoise's own refusal, or an
integer past the database's range), and nothing stored. Runs on the bad-input matrix's
backend: SQLite here, PostgreSQL in tests/integration/api/."""

from __future__ import annotations

import uuid

import pytest

from services import listing
from store.models import AuditEntry
from tests.api.test_bad_input_matrix import NothingStored, matrix_stores, world
from tests.api.test_error_envelope import assert_envelope
from tests.auth_helpers import bearer

__all__ = ["matrix_stores", "world"]


def cursor_of(value: str) -> str:
    return listing.encode_cursor(value)


TOO_BIG = str(2**70)  # no integer column holds it
# (who, path, query, status): every parameter the server turns into a database filter, each
# with a value its column's own rules refuse (too long, not a UUID, out of range): a 4xx,
# never a 500. An actor as long as the actor column allows but no user id (which that filter
# also matches) is simply nobody: 200 and nothing.
PARAMETERS = [
    pytest.param(
        "ops", "/api/v1/ops/audit", {"actor": "0" * 64}, 200, id="actor: longer than a user id"
    ),
    pytest.param("ops", "/api/v1/ops/audit", {"actor": "0" * 65}, 400, id="actor: too long"),
    pytest.param("ops", "/api/v1/ops/audit", {"action": "a" * 65}, 400, id="action: too long"),
    pytest.param("ops", "/api/v1/ops/audit", {"target": "t" * 129}, 400, id="target: too long"),
    pytest.param(
        "ops", "/api/v1/ops/audit", {"cursor": cursor_of(TOO_BIG)}, 400, id="audit cursor"
    ),
    pytest.param(
        "ops", "/api/v1/ops/outbox", {"cursor": cursor_of(TOO_BIG)}, 400, id="outbox cursor"
    ),
    pytest.param(
        "citizen",
        "/api/v1/me/access-log",
        {"cursor": cursor_of(TOO_BIG)},
        400,
        id="access-log cursor",
    ),
    pytest.param(
        "citizen",
        "/api/v1/applications",
        {"cursor": cursor_of("2026-01-01T00:00:00+00:00|not-a-uuid")},
        400,
        id="applications cursor: not a UUID",
    ),
    pytest.param(
        "citizen",
        "/api/v1/applications",
        {"cursor": cursor_of("not a time|" + str(uuid.uuid4()))},
        400,
        id="applications cursor: not a time",
    ),
    pytest.param("citizen", "/api/v1/applications/" + "0" * 64, {}, 404, id="application id"),
    pytest.param("ops", f"/api/v1/ops/outbox/{TOO_BIG}/requeue", None, 404, id="outbox row id"),
]


@pytest.mark.parametrize(("who", "path", "query", "status"), PARAMETERS)
async def test_a_parameter_its_column_cannot_hold_is_answered_before_any_query(
    world, who, path, query, status
):
    caller = world.citizen if who == "citizen" else world.ops
    async with NothingStored(world, allow=(AuditEntry,)):
        if query is None:
            answer = await world.stack.client.post(path, headers=bearer(caller))
        else:
            answer = await world.stack.client.get(path, params=query, headers=bearer(caller))
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.json()["items"] == []
    else:
        code = answer.json()["error"]["code"]
        assert code in ("invalid_request", "application_not_found", "outbox_row_not_found")
        assert_envelope(answer, status, code)
