from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("lingpao", "0005_uploads")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Application",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("user_id", fields.CharField(db_index=True, max_length=36)),
                ("item_code", fields.CharField(max_length=32)),
                ("status", fields.CharField(db_index=True, max_length=16)),
                ("history", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("materials", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("form", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("materials_verified", fields.BooleanField(default=True)),
                (
                    "gateway_application_id",
                    fields.CharField(null=True, db_index=True, max_length=64),
                ),
                ("result_certificate_id", fields.CharField(null=True, max_length=128)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
                ),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "application",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "A citizen's application (办件), filed once from the phone and delivered by the outbox.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CallbackNonce",
            fields=[
                (
                    "nonce",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                (
                    "seen_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "callback_nonce",
                "app": "lingpao",
                "pk_attr": "nonce",
                "table_description": "A gateway callback's nonce, kept past the signature window so a replay is refused.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IdempotencyRecord",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("user_id", fields.CharField(max_length=36)),
                ("key", fields.CharField(max_length=255)),
                ("fingerprint", fields.CharField(max_length=64)),
                ("application_id", fields.UUIDField(null=True)),
                ("claimed_until", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "idempotency_record",
                "app": "lingpao",
                "unique_together": (("user_id", "key"),),
                "pk_attr": "id",
                "table_description": "One Idempotency-Key of one user: the body's fingerprint and what it produced.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OutboxAttempt",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("outbox_id", fields.BigIntField(db_index=True)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("outcome", fields.CharField(max_length=32)),
                ("error", fields.CharField(default="", max_length=200)),
                ("duration_ms", fields.IntField(default=0)),
            ],
            options={
                "table": "outbox_attempt",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "One try at delivering an outbox row, kept for ops: when, how it went, why not.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OutboxRow",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("application_id", fields.UUIDField(unique=True)),
                ("state", fields.CharField(db_index=True, max_length=16)),
                ("attempts", fields.IntField(default=0)),
                (
                    "next_attempt_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("claimed_by", fields.CharField(null=True, max_length=64)),
                (
                    "claimed_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_error", fields.CharField(default="", max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "delivered_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "outbox",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "A delivery to the gateway waiting, in flight, done or parked as dead.",
            },
            bases=["Model"],
        ),
    ]
