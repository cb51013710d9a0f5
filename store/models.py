"""Tables of the domain. The schema comes only from the migrations in store/migrations."""

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """One append-only line of the audit log: logins, mode switches, certificate access.

    No code path updates or deletes a row; the actor is stored masked, never as a full ID.
    """

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=64, db_index=True)
    actor_user_id = fields.CharField(max_length=36, null=True, db_index=True)
    # Whose data was touched (the holder of a certificate), for the citizen's access log.
    subject_user_id = fields.CharField(max_length=36, null=True, db_index=True)
    action = fields.CharField(max_length=64, db_index=True)
    target = fields.CharField(max_length=128, db_index=True)
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)
    reason = fields.CharField(max_length=500, default="")
    purpose = fields.CharField(max_length=200, default="")
    request_id = fields.CharField(max_length=128, default="")
    outcome = fields.CharField(max_length=32, default="ok")

    class Meta:
        table = "audit_entry"
        ordering = ["-id"]


class Item(Model):
    """A service item from the provincial catalog, with the handling mode ops chose."""

    code = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=128)
    category = fields.CharField(max_length=32, db_index=True)
    department = fields.CharField(max_length=128)
    livelihood = fields.BooleanField(default=False)
    secret = fields.BooleanField(default=False)
    handheld = fields.BooleanField(default=False)
    online = fields.BooleanField(default=False)
    guide_address = fields.CharField(max_length=256, default="")
    guide_hours = fields.CharField(max_length=256, default="")
    mode = fields.CharField(max_length=16, db_index=True)
    version = fields.IntField(default=1)
    mode_set_by_ops = fields.BooleanField(default=False)
    mode_changed_by = fields.CharField(max_length=64, default="")
    mode_changed_at = fields.DatetimeField(null=True)
    mode_reason = fields.CharField(max_length=500, default="")
    synced_at = fields.DatetimeField(null=True)

    class Meta:
        table = "item"


class Material(Model):
    """One material an item asks for: a certificate, an upload or a paper original."""

    id = fields.BigIntField(primary_key=True)
    item = fields.ForeignKeyField("lingpao.Item", related_name="materials")
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=128)
    source = fields.CharField(max_length=16)
    certificate_type = fields.CharField(max_length=16, null=True)
    position = fields.IntField(default=0)

    class Meta:
        table = "item_material"
        unique_together = (("item", "code"),)


class CertificateType(Model):
    """A certificate type the provincial certificate library issues."""

    code = fields.CharField(max_length=16, primary_key=True)
    name = fields.CharField(max_length=64)
    issuer_name = fields.CharField(max_length=128, default="")

    class Meta:
        table = "certificate_type"


class Presentation(Model):
    """A 亮证 presentation we signed, so a verifier can learn of a later revocation."""

    jti = fields.CharField(max_length=32, primary_key=True)
    user_id = fields.CharField(max_length=36, db_index=True)
    certificate_id = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "presentation"


class Application(Model):
    """A citizen's application (办件), filed once from the phone and delivered by the outbox.

    The applicant is the user id alone: the ID number the gateway needs is looked up when
    the application is sent, so it is never copied here.
    """

    id = fields.UUIDField(primary_key=True)
    user_id = fields.CharField(max_length=36, db_index=True)
    item_code = fields.CharField(max_length=32)
    status = fields.CharField(max_length=16, db_index=True)
    history = fields.JSONField(default=list)
    materials = fields.JSONField(default=dict)
    form = fields.JSONField(default=dict)
    materials_verified = fields.BooleanField(default=True)
    gateway_application_id = fields.CharField(max_length=64, null=True, db_index=True)
    result_certificate_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "application"


class IdempotencyRecord(Model):
    """One Idempotency-Key of one user: the body's fingerprint and what it produced.

    Written with its application in one transaction or statement. `claimed_until` and an
    empty `application_id` are only ever written by instances of the previous release
    (which claimed a key before filing), mid-upgrade: such a key is answered 409 in flight.
    This release writes the filing's time there and never reads it.
    """

    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(max_length=36)
    key = fields.CharField(max_length=255)
    fingerprint = fields.CharField(max_length=64)
    application_id = fields.UUIDField(null=True)
    claimed_until = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("user_id", "key"),)


class OutboxRow(Model):
    """A delivery to the gateway waiting, in flight, done or parked as dead."""

    id = fields.BigIntField(primary_key=True)
    application_id = fields.UUIDField(unique=True)
    state = fields.CharField(max_length=16, db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"


class OutboxAttempt(Model):
    """One try at delivering an outbox row, kept for ops: when, how it went, why not."""

    id = fields.BigIntField(primary_key=True)
    outbox_id = fields.BigIntField(db_index=True)
    at = fields.DatetimeField(auto_now_add=True)
    outcome = fields.CharField(max_length=32)
    error = fields.CharField(max_length=200, default="")
    duration_ms = fields.IntField(default=0)

    class Meta:
        table = "outbox_attempt"


class CallbackNonce(Model):
    """A gateway callback's nonce, kept past the signature window so a replay is refused."""

    nonce = fields.CharField(max_length=64, primary_key=True)
    seen_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "callback_nonce"


class Upload(Model):
    """A file a citizen uploaded, sealed on disk under its id.

    The OCR fields of an ID card are kept encrypted (`ocr_sealed`) and never hold a full ID
    number: the verdict is `flagged`/`flag_reason`, and only the owner's masked number stays.
    """

    # The docstring's first paragraph becomes the table's SQL comment, and tortoise's SQLite
    # migrations split statements at semicolons: none may appear in it.

    id = fields.CharField(max_length=32, primary_key=True)
    user_id = fields.CharField(max_length=36, db_index=True)
    kind = fields.CharField(max_length=16)
    media_type = fields.CharField(max_length=32)
    size = fields.IntField()
    flagged = fields.BooleanField(default=False)
    flag_reason = fields.CharField(max_length=32, default="")
    ocr_sealed = fields.TextField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "upload"
