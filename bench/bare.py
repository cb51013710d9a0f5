"""The baseline: a bare Sanic app answering {"ok": true}, served as Lingpao is (one process,
no access log), so a ratio to it measures what Lingpao adds, not what the machine is."""

from __future__ import annotations

import os

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json


def create_app() -> Sanic:
    app = Sanic("bare", configure_logging=False)
    # Sanic alone: sanic-ext, when installed, would extend it with every extension, and its
    # dependency injection costs a signal per request that Lingpao does not pay.
    app.config.AUTO_EXTEND = False

    @app.get("/")
    async def ok(request: Request) -> HTTPResponse:
        return json({"ok": True})

    return app


if __name__ == "__main__":
    app = create_app()
    app.prepare(
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        single_process=True,
        access_log=False,
        motd=False,
    )
    Sanic.serve_single(primary=app)
