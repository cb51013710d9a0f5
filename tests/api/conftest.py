from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel, Field
from sanic.response import json

from server.body import parse_body
from server.guards import require_face, require_ops
from server.openapi.operations import undocumented
from store.db import apply_migrations
from tests.conftest import backend_with_gateway


class Echo(BaseModel):
    name: str = Field(min_length=1, max_length=20)


def add_probe_routes(app) -> None:
    """Routes that exist only in tests: one echoes a JSON body, one raises."""

    async def echo(request):
        body = parse_body(request, Echo)
        return json({"name": body.name})

    async def boom(request):
        raise RuntimeError("secret detail 330402199001011230 must not leak")

    @require_face
    async def face_only(request):
        return json({"ok": True})

    @require_ops
    async def ops_only(request):
        return json({"ok": True})

    async def held(request):
        # Answers when the test lets it: a request that stays in flight.
        await request.app.ctx.probe_gate.wait()
        return json({"ok": True})

    app.ctx.probe_gate = asyncio.Event()
    # Not the API's: left out of its document.
    app.add_route(undocumented(echo), "/_test/echo", methods=["POST"])
    app.add_route(undocumented(boom), "/_test/boom")
    app.add_route(undocumented(face_only), "/_test/face")
    app.add_route(undocumented(ops_only), "/_test/ops")
    app.add_route(undocumented(held), "/_test/held")


@pytest.fixture
async def stack(settings):
    await apply_migrations(settings.database_url)
    async with backend_with_gateway(settings, app_hook=add_probe_routes) as running:
        yield running


@pytest.fixture
def client(stack):
    return stack.client
