"""`python -m server demo login NAME`: act as a demo citizen from a terminal (development only).

It signs in the way the mobile app does, with the pieces the server itself is made of: an
identity token from the mock gateway's IdP, asked for through the one gateway client, then
the login of `AuthService`, in this process, on a container opened like the server's
(server/bootstrap.py). The access token it prints is the server's own: same database, same
signing key, so the API `make run` started accepts it.
"""

from __future__ import annotations

from core.errors import (
    CommandFailed,
    GatewayBadAnswer,
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    LingpaoError,
)
from server.bootstrap import open_container
from server.settings import Settings
from services.gateway import Transport

# The demo population every environment ships (API.md; mock_gateway/data/population.json).
# The backend shares no code with the mock, so the names are repeated here.
DEMO_CITIZENS = {
    "张三": "330402199001011230",
    "李四": "330411198506152348",
    "王五": "330402197803203454",  # granted the ops role by seed-demo
}


async def login(
    settings: Settings,
    name: str,
    assurance: str = "face",
    *,
    gateway_transport: Transport | None = None,
) -> str:
    """An access token for the demo citizen called `name`."""
    # Both refusals come before anything is opened, or a production shell would first be
    # told about its secrets.
    if settings.production:
        raise CommandFailed(
            "the demo commands are for development only, not LINGPAO_ENV=production"
        )
    id_number = DEMO_CITIZENS.get(name)
    if id_number is None:
        raise CommandFailed(
            f"{name!r} is not a demo citizen; the demo citizens are {known_names()}"
        )
    async with open_container(
        settings.ensure_secrets(), gateway_transport=gateway_transport
    ) as container:
        where = container.settings.gateway_url
        try:
            identity = await container.gateway.identity_token(id_number, name, assurance)
            pair, _ = await container.auth.login(identity, request_id="cli-demo")
        except GatewayError as exc:
            raise CommandFailed(_gateway_failure(exc, where)) from exc
        except LingpaoError as exc:
            # The reason stays out of API answers; the developer at this terminal may read it.
            why = f" ({exc.reason})" if exc.reason else ""
            raise CommandFailed(f"the login was refused: {exc.code}{why}: {exc.message}") from exc
        return pair.access_token


def known_names() -> str:
    return ", ".join(DEMO_CITIZENS)


def _gateway_failure(exc: GatewayError, where: str) -> str:
    """What to check, by the way the gateway failed; never the ID number the call carried."""
    if isinstance(exc, GatewayTimeout):
        return f"the mock gateway at {where} did not answer in time"
    if isinstance(exc, GatewayRejected):
        upstream = f"{exc.upstream_status} {exc.upstream_code}"
        return (
            f"the gateway at {where} refused the sign-in ({upstream}): the demo needs the mock "
            "gateway, whose IdP issues tokens on request"
        )
    if isinstance(exc, GatewayBadAnswer):
        return f"the gateway at {where} answered with something that is not an identity token"
    return (
        f"cannot reach the mock gateway at {where}: is `make run` running, with the same "
        "MOCK_GATEWAY_PORT (or GATEWAY_URL) as this shell?"
    )
