"""Ops: item modes with their blockers, mode switches, the audit log and the KPIs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from core.errors import InvalidRequest, PreconditionRequired
from core.numbers import plain_int
from server.body import SafeText, parse_body
from server.context import services
from server.guards import require_ops
from services import audit, catalog, kpis, listing
from services.times import rfc3339

bp = Blueprint("ops")


class ModeBody(BaseModel):
    mode: str = Field(min_length=1, max_length=16)
    reason: SafeText = Field(min_length=1, max_length=500)


def _ops_view(item: catalog.ItemView) -> dict:
    return {
        **item.detail(),
        "zero_trip_blockers": catalog.zero_trip_blockers(item),
        "mode_changed_by": item.mode_changed_by or None,
        "mode_changed_at": rfc3339(item.mode_changed_at) if item.mode_changed_at else None,
        "mode_reason": item.mode_reason or None,
    }


def _if_match_version(request: Request) -> int:
    sent = request.headers.get("if-match")
    if sent is None:
        raise PreconditionRequired()
    # Versions are INT columns: anything past 2**31 - 1 is no version of ours.
    version = plain_int(sent.strip().removeprefix("W/").strip('"'), maximum=2**31 - 1)
    if version is None:
        raise InvalidRequest(
            "If-Match 须为事项版本号 If-Match must be the item version",
            fields=[{"field": "If-Match", "problem": "not a version"}],
        )
    return version


@bp.get("/api/v1/ops/items")
@openapi.summary("Items with mode, version and zero-trip blockers (ops)")
@openapi.secured("bearer")
@require_ops
async def ops_items(request: Request) -> HTTPResponse:
    args = request.args
    limit = listing.parse_limit(args.get("limit"))
    found = listing.search(
        await services(request).catalog.all_items(),
        args.get("q"),
        args.get("category"),
        args.get("mode"),
    )
    chosen, next_cursor = listing.page(found, lambda i: i.code, args.get("cursor"), limit)
    return json(
        {"items": [_ops_view(i) for i in chosen], "next_cursor": next_cursor}, ensure_ascii=False
    )


@bp.put("/api/v1/ops/items/<code:str>/mode")
@openapi.summary("Switch an item's handling mode; If-Match: <version> and a reason required")
@openapi.secured("bearer")
@openapi.body({"application/json": ModeBody.model_json_schema()})
@require_ops
async def switch_mode(request: Request, code: str) -> HTTPResponse:
    version = _if_match_version(request)
    body = parse_body(request, ModeBody)
    principal = request.ctx.principal
    item = await services(request).catalog.switch_mode(
        code,
        body.mode,
        body.reason,
        version,
        actor=principal.id_number_masked,
        actor_user_id=principal.user_id,
        request_id=request.ctx.request_id,
    )
    return json(_ops_view(item), headers={"ETag": f'"{item.version}"'}, ensure_ascii=False)


def _time_arg(request: Request, name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(fields=[{"field": name, "problem": "not an RFC 3339 time"}]) from exc


@bp.get("/api/v1/ops/audit")
@openapi.summary("Audit entries, newest first; filters actor, action, target, since, until")
@openapi.secured("bearer")
@require_ops
async def audit_log(request: Request) -> HTTPResponse:
    args = request.args
    entries, next_cursor = await audit.query(
        actor=args.get("actor"),
        action=args.get("action"),
        target=args.get("target"),
        since=_time_arg(request, "since"),
        until=_time_arg(request, "until"),
        cursor=args.get("cursor"),
        limit=listing.parse_limit(args.get("limit")),
    )
    return json({"items": entries, "next_cursor": next_cursor}, ensure_ascii=False)


@bp.get("/api/v1/ops/kpis")
@openapi.summary("The city's five indicators, live, with numerators and denominators")
@openapi.secured("bearer")
@require_ops
async def indicators(request: Request) -> HTTPResponse:
    c = services(request)
    indicators = await kpis.current(c.catalog, c.applications)
    return json({"indicators": [i.as_dict() for i in indicators]}, ensure_ascii=False)


@bp.get("/api/v1/ops/outbox")
@openapi.summary("Deliveries to the gateway: state, attempts and last error (ops)")
@openapi.parameter("state", str)
@openapi.secured("bearer")
@require_ops
async def outbox(request: Request) -> HTTPResponse:
    entries, next_cursor = await services(request).outbox_desk.page(
        request.args.get("state") or None,
        request.args.get("cursor"),
        listing.parse_limit(request.args.get("limit")),
    )
    return json({"items": [e.as_dict() for e in entries], "next_cursor": next_cursor})


@bp.post("/api/v1/ops/outbox/<row_id:str>/requeue")
@openapi.summary("Put a delivery back in the queue with its attempt count reset (audited)")
@openapi.secured("bearer")
@require_ops
async def requeue(request: Request, row_id: str) -> HTTPResponse:
    principal = request.ctx.principal
    entry = await services(request).outbox_desk.requeue(
        row_id,
        actor=principal.id_number_masked,
        actor_user_id=principal.user_id,
        request_id=request.ctx.request_id,
    )
    return json(entry.as_dict())
