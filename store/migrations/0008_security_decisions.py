from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("lingpao", "0007_used_identity_tokens")]

    initial = False

    operations = [
        ops.CreateModel(
            name="MirrorState",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("generation", fields.BigIntField(default=1)),
            ],
            options={
                "table": "mirror_state",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "The generation the Redis mirror of security decisions must carry to be trusted.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RevokedAccessToken",
            fields=[
                (
                    "jti",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                (
                    "expires_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "revoked_access_token",
                "app": "lingpao",
                "pk_attr": "jti",
                "table_description": "An access token ended before its expiry (a logout), kept until it would have expired.",
            },
            bases=["Model"],
        ),
    ]
