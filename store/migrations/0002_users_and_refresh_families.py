from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("lingpao", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="User",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("id_hash", fields.CharField(unique=True, max_length=64)),
                ("id_encrypted", fields.CharField(max_length=128)),
                ("id_masked", fields.CharField(max_length=18)),
                ("name", fields.CharField(max_length=64)),
                ("idp_subject", fields.CharField(null=True, max_length=64)),
                ("assurance", fields.CharField(default="sms", max_length=8)),
                ("roles", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("disabled", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "last_login_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "app_user",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "A citizen (and maybe ops). The ID number is stored encrypted plus a keyed hash.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RefreshFamily",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "lingpao.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="families",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("device_id", fields.CharField(default="", max_length=128)),
                ("assurance", fields.CharField(max_length=8)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_reason", fields.CharField(default="", max_length=32)),
            ],
            options={
                "table": "refresh_family",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "The chain of refresh tokens of one login, revoked as a whole.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RefreshToken",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "family",
                    fields.ForeignKeyField(
                        "lingpao.RefreshFamily",
                        source_field="family_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "refresh_token",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "One refresh token, stored only as its SHA-256, with used_at set once rotated.",
            },
            bases=["Model"],
        ),
    ]
