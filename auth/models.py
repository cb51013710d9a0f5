"""Tables of the auth layer: users and refresh-token families."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class User(Model):
    """A citizen (and maybe ops). The ID number is stored encrypted plus a keyed hash."""

    id = fields.UUIDField(primary_key=True)
    id_hash = fields.CharField(max_length=64, unique=True)
    id_encrypted = fields.CharField(max_length=128)
    id_masked = fields.CharField(max_length=18)
    name = fields.CharField(max_length=64)
    idp_subject = fields.CharField(max_length=64, null=True)
    assurance = fields.CharField(max_length=8, default="sms")
    roles = fields.JSONField(default=list)
    disabled = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "app_user"


class RefreshFamily(Model):
    """The chain of refresh tokens of one login, revoked as a whole."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("lingpao.User", related_name="families")
    device_id = fields.CharField(max_length=128, default="")
    assurance = fields.CharField(max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, default="")

    class Meta:
        table = "refresh_family"


class RefreshToken(Model):
    """One refresh token, stored only as its SHA-256, with used_at set once rotated."""

    id = fields.BigIntField(primary_key=True)
    family = fields.ForeignKeyField("lingpao.RefreshFamily", related_name="tokens")
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"


class UsedIdentityToken(Model):
    """An identity token that has logged in: kept until it expires, so it logs in once.

    The database is the record, not Redis: a Redis that restarts empty must not let a
    used token in again."""

    jti = fields.CharField(max_length=128, primary_key=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "used_identity_token"


class RevokedAccessToken(Model):
    """An access token ended before its expiry (a logout), kept until it would have expired."""

    jti = fields.CharField(max_length=64, primary_key=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "revoked_access_token"


class MirrorState(Model):
    """The generation the Redis mirror of security decisions must carry to be trusted.

    It moves whenever a decision reached the database but not Redis."""

    id = fields.IntField(primary_key=True)
    generation = fields.BigIntField(default=1)

    class Meta:
        table = "mirror_state"
