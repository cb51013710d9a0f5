"""`python -m server demo login NAME`: act as a demo citizen from a terminal (development only).

It signs in the way the mobile app does, against the processes `make run` started: an
identity token from the mock gateway's IdP (`POST /idp/token`), exchanged at our own
`POST /api/v1/auth/login` for an access token. Both are plain calls to running servers, so
this module uses httpx itself: the gateway client in services/ signs calls to the real
gateway, and `/idp/token` exists only on the mock.
"""

from __future__ import annotations

from typing import Any

import httpx

from server.settings import Settings

# The demo population every environment ships (API.md; mock_gateway/data/population.json).
# The backend shares no code with the mock, so the names are repeated here.
DEMO_CITIZENS = {
    "张三": "330402199001011230",
    "李四": "330411198506152348",
    "王五": "330402197803203454",  # granted the ops role by seed-demo
}
# Both servers answer on loopback in milliseconds; a bound keeps a wedged one from hanging a
# terminal (or a script's `TOKEN=$(…)`).
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class DemoError(Exception):
    """A problem the person at the terminal can fix; the message says what it is."""


def login(
    settings: Settings,
    name: str,
    assurance: str = "face",
    transport: httpx.BaseTransport | None = None,
) -> str:
    """An access token for the demo citizen called `name`."""
    if settings.production:
        raise DemoError("the demo commands are for development only, not LINGPAO_ENV=production")
    id_number = DEMO_CITIZENS.get(name)
    if id_number is None:
        raise DemoError(f"{name!r} is not a demo citizen; the demo citizens are {known_names()}")
    with httpx.Client(timeout=TIMEOUT, transport=transport) as http:
        identity = _post(
            http,
            "the mock gateway's IdP",
            f"{settings.gateway_url}/idp/token",
            {"id_number": id_number, "name": name, "assurance": assurance},
            "identity_token",
        )
        return _post(
            http,
            "the Lingpao API",
            f"{settings.api_url}/api/v1/auth/login",
            {"identity_token": identity},
            "access_token",
        )


def known_names() -> str:
    return ", ".join(DEMO_CITIZENS)


def _post(http: httpx.Client, who: str, url: str, body: dict[str, Any], wanted: str) -> str:
    try:
        response = http.post(url, json=body)
    except httpx.TimeoutException as exc:
        raise DemoError(f"{who} at {url} did not answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise DemoError(
            f"cannot reach {who} at {url} ({type(exc).__name__}): is `make run` running, "
            "with the same PORT and MOCK_GATEWAY_PORT as this shell?"
        ) from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_success and isinstance(answer, dict) and isinstance(answer.get(wanted), str):
        return answer[wanted]
    raise DemoError(f"{who} at {url} answered {response.status_code}: {_reason(answer)}")


def _reason(answer: object) -> str:
    """The code and message of either error shape: ours (`{"error": {…}}`) or the gateway's."""
    if not isinstance(answer, dict):
        return "not the JSON expected"
    error = answer.get("error")
    if isinstance(error, dict):
        return f"{error.get('code')}: {error.get('message')}"
    if isinstance(error, str):
        return f"{error}: {answer.get('message')}"
    return "not the answer expected"
