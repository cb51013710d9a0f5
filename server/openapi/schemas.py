"""The response bodies the API promises, as named component schemas.

Handlers build plain dicts (the hot paths serialise once per catalog version); these
models are what the published document says of them. The suites keep the two together:
every JSON response the API tests see is validated against the document, with no
property allowed beyond the ones named here (`tests/openapi_conformance.py`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.body import SAFE_PATTERN

Mode = Literal["in_person", "one_trip", "zero_trip"]
Time = Field(json_schema_extra={"format": "date-time"})


class Schema(BaseModel):
    model_config = ConfigDict(extra="allow")


class FieldProblem(Schema):
    field: str
    problem: str


class ErrorBody(Schema):
    code: str = Field(description="snake_case; the codes each operation can answer are listed")
    message: str = Field(description="zh-CN and English, for people; never parse it")
    request_id: str
    fields: list[FieldProblem] | None = Field(default=None, description="invalid_request only")
    blockers: list[ZeroTripBlocker] | None = Field(default=None, description="mode_blocked only")
    guide: Guide | None = Field(default=None, description="item_requires_visit only")
    missing: list[str] | None = Field(default=None, description="materials_missing only")
    problems: list[MaterialProblem] | None = Field(
        default=None, description="materials_missing only: each material and what is wrong"
    )
    current_version: int | None = Field(default=None, description="version_mismatch only")
    state: str | None = Field(default=None, description="requeue conflict: the delivery's state")
    certificate_status: str | None = Field(
        default=None, description="presentation conflict: why the certificate cannot be shown"
    )


class Error(Schema):
    """The contract's error envelope."""

    error: ErrorBody


class User(Schema):
    id: str
    name: str
    id_number_masked: str = Field(examples=["3304**********1230"])
    roles: list[str]
    assurance: Literal["face", "sms"]


class Tokens(Schema):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds the access token lives")
    user: User


class ItemSummary(Schema):
    code: str
    name: str
    department: str
    category: str
    mode: Mode
    handheld: bool = Field(description="can be finished on the phone (掌上办)")
    livelihood: bool = Field(description="a livelihood item (民生事项)")


class Material(Schema):
    code: str
    name: str
    source: str = Field(
        description="certificate (pulled from the library), upload, or paper (an original "
        "brought in person)",
        examples=["certificate", "upload", "paper"],
    )
    certificate_type: str | None


class Guide(Schema):
    address: str
    hours: str
    bring: list[str]


class Item(ItemSummary):
    secret: bool
    online: bool
    materials: list[Material]
    version: int = Field(description="send it back as If-Match to switch the mode")
    guide: Guide


class ZeroTripBlocker(Schema):
    kind: Literal["material", "intake"]
    code: str | None
    name: str
    reason: str


class MaterialProblem(Schema):
    material: str
    problem: str


class OpsItem(Item):
    zero_trip_blockers: list[ZeroTripBlocker]
    mode_changed_by: str | None = Field(description="the ops user, ID number masked")
    mode_changed_at: str | None = Time
    mode_reason: str | None


class OneIdMaterial(Material):
    satisfied_by: str | None = Field(description="the caller's certificate id that serves it")


class OneIdItem(Schema):
    code: str
    name: str
    mode: Mode
    eligible: bool = Field(description="can be filed with the ID card alone (一证通办)")
    materials: list[OneIdMaterial]
    missing: list[str] = Field(description="codes of the materials the caller lacks")


class CertificateSummary(Schema):
    id: str
    type: str
    name: str
    issuer: str
    issued_at: str | None = Time
    expires_at: str | None = Time
    status: str = Field(examples=["valid", "expired", "revoked", "invalid_seal"])


class Certificate(CertificateSummary):
    fields: dict[str, Any] = Field(description="the certificate's own fields, unmasked")
    signature_valid: bool
    status_reason: str | None
    issuer_code: str


class Presentation(Schema):
    token: str = Field(description="QR-sized; show it as a QR code (亮证)")
    expires_at: str = Time


class PresentedCertificate(Schema):
    id: str
    type: str | None
    name: str | None
    status: str
    issuer: str | None
    holder_name: str | None = Field(description="masked")
    fields: dict[str, Any] = Field(description="only the disclosed fields")
    expires_at: str = Time


class Verification(Schema):
    valid: bool
    certificate: PresentedCertificate | None = None
    reason: str | None = Field(
        default=None,
        examples=["expired", "tampered", "unknown_presentation", "certificate_revoked"],
    )


class AccessLogEntry(Schema):
    id: int
    at: str = Time
    actor: str
    action: str
    target: str
    purpose: str
    outcome: str


class AuditEntry(AccessLogEntry):
    before: Any
    after: Any
    reason: str
    request_id: str


class StatusChange(Schema):
    status: str
    at: str = Time


class Application(Schema):
    id: str
    item_code: str
    status: str = Field(examples=["queued", "submitted", "accepted", "approved", "rejected"])
    history: list[StatusChange]
    created_at: str = Time
    materials_verified: bool
    result_certificate_id: str | None


class Upload(Schema):
    upload_id: str
    ocr: dict[str, Any] | None = Field(
        description="id_card only: the fields read, the ID number as id_number_masked"
    )
    kind: str
    media_type: str
    size: int = Field(description="bytes kept, after metadata stripping")
    flagged: bool
    flag_reason: str
    created_at: str = Time


class Kpi(Schema):
    key: str
    name: str
    value: float | None = Field(description="numerator / denominator; null while 0/0")
    target: float
    met: bool
    numerator: int
    denominator: int
    note: str


class Kpis(Schema):
    indicators: list[Kpi]


class Delivery(Schema):
    id: int
    application_id: str
    state: Literal["pending", "in_flight", "delivered", "dead"]
    attempts: int
    last_error: str | None = Field(description="our words, never the gateway's")
    next_attempt_at: str = Time
    created_at: str = Time
    delivered_at: str | None = Time


class CallbackAnswer(Schema):
    ok: bool
    changed: bool


class Health(Schema):
    status: Literal["ok"]


class Readiness(Schema):
    status: Literal["ok"]
    checks: dict[str, Literal["ok", "down"]]


class NotReady(Error):
    status: Literal["unavailable"]
    down: list[str]
    checks: dict[str, Literal["ok", "down"]]


class DemoIdentity(Schema):
    name: str
    id_number: str = Field(description="a synthetic demo number, development only")
    note: str


class ConsoleConfig(Schema):
    environment: str
    idp_token_url: str | None = Field(description="the mock IdP, development only")
    sign_in_url: str | None = Field(description="the provincial sign-in page, production")
    demo_identities: list[DemoIdentity]


class Jwks(Schema):
    keys: list[dict[str, Any]]


# A form's values: text, numbers, yes/no, null, or one level of lists and objects of those, two
# at most (an address inside a list of contacts). Spelled out level by level rather than
# as one recursive schema: client generators cannot build a recursive union, and the
# server refuses what the document does not describe (FORM_DEPTH in
# server/routes/applications.py).
FORM_SCALAR = {
    "anyOf": [
        {"type": "string", "pattern": SAFE_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
}


def _form_level(inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "anyOf": [
            *FORM_SCALAR["anyOf"],
            {"type": "array", "items": inner},
            {
                "type": "object",
                "propertyNames": {"pattern": SAFE_PATTERN},
                "additionalProperties": inner,
            },
        ]
    }


FORM_SCHEMAS = {
    "FormScalar": FORM_SCALAR,
    "FormInner": _form_level({"$ref": "#/components/schemas/FormScalar"}),
    "FormValue": _form_level({"$ref": "#/components/schemas/FormInner"}),
}
FORM_VALUE_REF = {"$ref": "#/components/schemas/FormValue"}


def page_of(model: type[Schema]) -> type[Schema]:
    """The contract's list shape around `model`."""
    return type(
        model.__name__ + "Page",
        (Schema,),
        {
            "__annotations__": {"items": list[model], "next_cursor": str | None},  # type: ignore[valid-type]
            "__doc__": f"A page of {model.__name__}; next_cursor is null on the last page.",
            "__module__": __name__,
        },
    )


ErrorBody.model_rebuild()
