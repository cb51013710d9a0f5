"""Rehearsal controls under /_admin/ (development only): the fault knobs, IdP key rotation,
certificate tampering, and the tallies and callback log tests read back.

They pass neither the fault knobs nor the signature check (mock_gateway/middleware.py): a
test must be able to turn a fault off while the gateway plays dead.
"""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from mock_gateway.context import state
from mock_gateway.web import error, json_object

bp = Blueprint("admin")


@bp.on_request
async def development_only(request: Request) -> HTTPResponse | None:
    # One gate for the whole blueprint, so a new knob cannot forget it: outside development
    # these routes answer as if they did not exist, a rehearsal tool and never a backdoor.
    if not state(request).config.development:
        return error(404, "not_found", "not found")
    return None


@bp.get("/_admin/faults")
async def get_faults(request: Request) -> HTTPResponse:
    return json(state(request).faults.as_dict())


@bp.put("/_admin/faults")
async def put_faults(request: Request) -> HTTPResponse:
    body = json_object(request)
    if body is None:
        return error(400, "bad_request", "body must be a JSON object")
    faults = state(request).faults
    problem = faults.update(body)
    if problem:
        return error(400, "bad_fault", problem)
    return json(faults.as_dict())


@bp.post("/_admin/idp/rotate")
async def rotate(request: Request) -> HTTPResponse:
    return json({"kid": state(request).idp.rotate()})


@bp.post("/_admin/certificates/tamper")
async def tamper(request: Request) -> HTTPResponse:
    body = json_object(request) or {}
    # part "fields" (the default) forges the content; "identifier" breaks the check
    # character of the GB/T 36904 identifier and seals it again.
    part = body.get("part", "fields")
    if part not in ("fields", "identifier"):
        return error(400, "bad_request", "part is 'fields' or 'identifier'")
    library = state(request).library
    change = library.tamper if part == "fields" else library.misnumber
    document = change(str(body.get("certificate_id", "")))
    if document is None:
        return error(404, "certificate_not_found", "证照不存在")
    return json({"tampered": document["id"]})


@bp.get("/_admin/tally")
async def tally(request: Request) -> HTTPResponse:
    # What a test of several senders checks: the catalog fetched once, each key sent once.
    ctx = state(request)
    return json(
        {"catalog_fetches": ctx.catalog_fetches, "intake_submissions": ctx.intake.submissions}
    )


@bp.get("/_admin/callbacks")
async def callbacks(request: Request) -> HTTPResponse:
    return json({"callbacks": state(request).intake.callbacks})
