from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ("actor", fields.CharField(db_index=True, max_length=64)),
                ("actor_user_id", fields.CharField(null=True, db_index=True, max_length=36)),
                ("action", fields.CharField(db_index=True, max_length=64)),
                ("target", fields.CharField(db_index=True, max_length=128)),
                ("before", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("after", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("reason", fields.CharField(default="", max_length=500)),
                ("purpose", fields.CharField(default="", max_length=200)),
                ("request_id", fields.CharField(default="", max_length=128)),
                ("outcome", fields.CharField(default="ok", max_length=32)),
            ],
            options={
                "table": "audit_entry",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "One append-only line of the audit log: logins, mode switches, certificate access.",
            },
            bases=["Model"],
        ),
    ]
