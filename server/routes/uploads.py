"""Uploads: a citizen's file (an ID-card photo, a document) for their applications."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from core import errors as e
from server.context import services
from server.guards import require_user
from server.multipart import read_upload_form
from server.openapi import schemas as sc
from server.openapi.operations import Operation, Success, documented
from services.times import rfc3339
from services.uploads import KINDS, UploadView

bp = Blueprint("uploads")

UPLOAD_FORM = {
    "type": "object",
    "required": ["file", "kind"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "minLength": 1,
            "description": "JPEG, PNG or PDF (recognised by its bytes), at most UPLOAD_MAX_BYTES "
            "(5 MiB by default)",
        },
        "kind": {"type": "string", "enum": list(KINDS)},
    },
}


def uploaded(view: UploadView) -> dict:
    return {
        "upload_id": view.id,
        "ocr": view.ocr,
        "kind": view.kind,
        "media_type": view.media_type,
        "size": view.size,
        "flagged": view.flagged,
        "flag_reason": view.flag_reason,
        "created_at": rfc3339(view.created_at),
    }


@bp.post("/api/v1/uploads", stream=True)
@documented(
    Operation(
        "upload_file",
        "Upload a file for an application; an ID card is read and checked",
        "applications",
        {201: Success("kept", sc.Upload)},
        description="The body is streamed to disk, never held in memory; the file is kept "
        "encrypted, images without their metadata. An `id_card` whose ID number is not the "
        "caller's is kept but flagged, and cannot stand in for the ID card.",
        auth="user",
        body_schema=UPLOAD_FORM,
        body_media_type="multipart/form-data",
        errors=(
            e.UploadEmpty,
            e.UploadTooLarge,
            e.UnsupportedUploadType,
            e.UnsafeDocument,
            e.InvalidRequest,
        ),
    )
)
@require_user
async def upload(request: Request) -> HTTPResponse:
    uploads = services(request).uploads
    with uploads.spool() as spool:
        kind = await read_upload_form(request, spool)
        view = await uploads.accept(
            request.ctx.principal.user_id, kind, spool, request.ctx.request_id
        )
    return json(
        uploaded(view), status=201, headers={"Cache-Control": "no-store"}, ensure_ascii=False
    )
