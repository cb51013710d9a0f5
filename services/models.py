"""Tables of the domain. The schema comes from services/migrations, never generate_schemas."""

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
