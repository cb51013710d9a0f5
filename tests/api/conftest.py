from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel, Field
from sanic.response import json

from server.app import create_app
from server.body import parse_body
from services.db import apply_migrations
from tests.conftest import serve_in_process


class Echo(BaseModel):
    name: str = Field(min_length=1, max_length=20)


def add_probe_routes(app) -> None:
    """Routes that exist only in tests: one echoes a JSON body, one raises."""

    async def echo(request):
        body = parse_body(request, Echo)
        return json({"name": body.name})

    async def boom(request):
        raise RuntimeError("secret detail 330402199001011230 must not leak")

    app.add_route(echo, "/_test/echo", methods=["POST"])
    app.add_route(boom, "/_test/boom")


@pytest.fixture
async def client(settings):
    await apply_migrations(settings.database_url)
    app = create_app(settings)
    add_probe_routes(app)
    async with serve_in_process(app) as c:
        c.app = app
        yield c
    await asyncio.sleep(0)
