"""Ops: item modes with their blockers, mode switches, the audit log and the KPIs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from core import errors as e
from core.errors import InvalidRequest, PreconditionRequired
from server.body import SafeText, parse_body
from server.context import services
from server.guards import require_ops
from server.openapi import schemas as sc
from server.openapi.operations import PAGING, Operation, Success, documented, header, path, query
from server.routes.items import FILTERS
from services import audit, catalog, kpis, listing
from services.outbox.desk import STATES
from services.times import rfc3339

bp = Blueprint("ops")


class ModeBody(BaseModel):
    mode: Literal["in_person", "one_trip", "zero_trip"]
    reason: SafeText = Field(min_length=1, max_length=500)


def _ops_view(item: catalog.ItemView) -> dict:
    return {
        **item.detail(),
        "zero_trip_blockers": catalog.zero_trip_blockers(item),
        "mode_changed_by": item.mode_changed_by or None,
        "mode_changed_at": rfc3339(item.mode_changed_at) if item.mode_changed_at else None,
        "mode_reason": item.mode_reason or None,
    }


# The item's ETag as we send it ("3"), weak or not, or the bare number.
VERSION_PATTERN = r'^(W/)?"(0|[1-9][0-9]{0,17})"$|^(0|[1-9][0-9]{0,17})$'
VERSION = re.compile(VERSION_PATTERN)
IF_MATCH = header(
    "If-Match",
    {"type": "string", "pattern": VERSION_PATTERN},
    'the item\'s version as read, e.g. "3" (its ETag) or 3',
    required=True,
)


def _if_match_version(request: Request) -> int:
    sent = request.headers.get("if-match")
    if sent is None:
        raise PreconditionRequired()
    if not VERSION.fullmatch(sent.strip()):
        raise InvalidRequest(
            "If-Match 须为事项版本号 If-Match must be the item version",
            fields=[{"field": "If-Match", "problem": "not a version"}],
        )
    # Versions are INT columns: a number past 2**31 - 1 is well formed but no version an
    # item has, so it is not the current one.
    return min(int(sent.strip().removeprefix("W/").strip('"')), 2**31)


@bp.get("/api/v1/ops/items")
@documented(
    Operation(
        "list_ops_items",
        "Items with mode, version, zero-trip blockers and the last change (ops)",
        "ops",
        {200: Success("a page of items", sc.page_of(sc.OpsItem))},
        auth="ops",
        params=(*FILTERS, *PAGING),
    )
)
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
@documented(
    Operation(
        "switch_mode",
        "Switch an item's handling mode; If-Match: <version> and a reason required",
        "ops",
        {
            200: Success(
                "the item in its new mode",
                sc.OpsItem,
                headers={"ETag": {"required": True, "schema": {"type": "string"}}},
            )
        },
        description="409 mode_blocked lists the blockers (paper originals, no online "
        "intake); 412 version_mismatch when someone switched first: reload the item.",
        auth="ops",
        params=(path("code", "the item's code", 64), IF_MATCH),
        body=ModeBody,
        body_example={"mode": "zero_trip", "reason": "材料均已可电子证照调取，改为零跑"},
        errors=(
            e.ItemNotFound,
            e.ModeBlocked,
            e.VersionMismatch,
            e.PreconditionRequired,
            e.InvalidRequest,
        ),
    )
)
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
@documented(
    Operation(
        "list_audit",
        "Audit entries, newest first; filters actor, action, target, since, until",
        "ops",
        {200: Success("a page of audit entries", sc.page_of(sc.AuditEntry))},
        auth="ops",
        params=(
            query("actor", {"type": "string", "maxLength": 64}, "who acted (masked ID number)"),
            query("action", {"type": "string", "maxLength": 64}, "e.g. item.mode_switched"),
            query("target", {"type": "string", "maxLength": 128}, "what was acted on"),
            query("since", {"type": "string", "format": "date-time"}, "RFC 3339, inclusive"),
            query("until", {"type": "string", "format": "date-time"}, "RFC 3339, exclusive"),
            *PAGING,
        ),
    )
)
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
@documented(
    Operation(
        "get_kpis",
        "The city's five indicators, live, with numerators and denominators",
        "ops",
        {200: Success("the indicators against the city's targets", sc.Kpis)},
        auth="ops",
    )
)
@require_ops
async def indicators(request: Request) -> HTTPResponse:
    c = services(request)
    indicators = await kpis.current(c.catalog, c.applications)
    return json({"indicators": [i.as_dict() for i in indicators]}, ensure_ascii=False)


@bp.get("/api/v1/ops/outbox")
@documented(
    Operation(
        "list_outbox",
        "Deliveries to the gateway: state, attempts and last error (ops)",
        "ops",
        {200: Success("a page of deliveries, newest first", sc.page_of(sc.Delivery))},
        auth="ops",
        params=(
            query("state", {"type": "string", "enum": list(STATES)}, "only deliveries in it"),
            *PAGING,
        ),
    )
)
@require_ops
async def outbox(request: Request) -> HTTPResponse:
    entries, next_cursor = await services(request).outbox_desk.page(
        request.args.get("state") or None,
        request.args.get("cursor"),
        listing.parse_limit(request.args.get("limit")),
    )
    return json({"items": [e.as_dict() for e in entries], "next_cursor": next_cursor})


@bp.post("/api/v1/ops/outbox/<row_id:str>/requeue")
@documented(
    Operation(
        "requeue_delivery",
        "Put a delivery back in the queue with its attempt count reset (audited)",
        "ops",
        {200: Success("the delivery, pending again", sc.Delivery)},
        auth="ops",
        params=(path("row_id", "the delivery's id", 20),),
        errors=(e.OutboxRowNotFound, e.Conflict),
    )
)
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
