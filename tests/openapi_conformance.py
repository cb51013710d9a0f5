"""Every response the API suites see is checked against the published document.

The document is built from the routes (server/openapi); the handlers build plain dicts. This
check keeps the two together: a status the operation does not list, or a JSON body that does
not match its schema, fails the test that caused it. Response schemas are checked strictly
here (no property the document does not name), though the published document lets clients
ignore fields added later.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator


class Conformance:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = _strict(copy.deepcopy(document["components"]))
        self.routes = [
            (re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), methods)
            for path, methods in document["paths"].items()
        ]
        self.checked = 0

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        for pattern, methods in self.routes:
            if pattern.match(path):
                return methods.get(method.lower())
        return None

    def check(self, response: httpx.Response) -> None:
        request = response.request
        method = "GET" if request.method == "HEAD" else request.method
        op = self.operation(method, request.url.path)
        if op is None:
            return  # an unknown route or method: the error suites check those envelopes
        where = f"{request.method} {request.url.path} → {response.status_code}"
        documented = op["responses"].get(str(response.status_code))
        assert documented is not None, f"{where}: status not in the document"
        content = documented.get("content", {})
        if request.method == "HEAD":
            return  # no body to check; Sanic names static files' type only on GET
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if not content:
            assert not response.content, f"{where}: the document promises no body"
            return
        assert media in content, f"{where}: {media!r} is not {sorted(content)}"
        schema = content[media].get("schema")
        if media != "application/json" or schema is None:
            return
        errors = sorted(
            Draft202012Validator({**schema, "components": self.components}).iter_errors(
                response.json()
            ),
            key=str,
        )
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, err.absolute_path))}: {err.message}" for err in errors[:5]
        )
        self.checked += 1


# The envelope itself may carry more beside `error` (readiness names what is down); what is
# inside `error` is checked strictly.
OPEN = {"Error"}


def _strict(components: dict[str, Any]) -> dict[str, Any]:
    for name, schema in components.get("schemas", {}).items():
        if (
            name not in OPEN
            and "properties" in schema
            and schema.get("additionalProperties", True) is True
        ):
            schema["additionalProperties"] = False
    return components
