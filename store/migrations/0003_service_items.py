from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("lingpao", "0002_users_and_refresh_families")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CertificateType",
            fields=[
                (
                    "code",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=16),
                ),
                ("name", fields.CharField(max_length=64)),
                ("issuer_name", fields.CharField(default="", max_length=128)),
            ],
            options={
                "table": "certificate_type",
                "app": "lingpao",
                "pk_attr": "code",
                "table_description": "A certificate type the provincial certificate library issues.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Item",
            fields=[
                (
                    "code",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32),
                ),
                ("name", fields.CharField(max_length=128)),
                ("category", fields.CharField(db_index=True, max_length=32)),
                ("department", fields.CharField(max_length=128)),
                ("livelihood", fields.BooleanField(default=False)),
                ("secret", fields.BooleanField(default=False)),
                ("handheld", fields.BooleanField(default=False)),
                ("online", fields.BooleanField(default=False)),
                ("guide_address", fields.CharField(default="", max_length=256)),
                ("guide_hours", fields.CharField(default="", max_length=256)),
                ("mode", fields.CharField(db_index=True, max_length=16)),
                ("version", fields.IntField(default=1)),
                ("mode_set_by_ops", fields.BooleanField(default=False)),
                ("mode_changed_by", fields.CharField(default="", max_length=64)),
                (
                    "mode_changed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("mode_reason", fields.CharField(default="", max_length=500)),
                ("synced_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "item",
                "app": "lingpao",
                "pk_attr": "code",
                "table_description": "A service item from the provincial catalog, with the handling mode ops chose.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Material",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "item",
                    fields.ForeignKeyField(
                        "lingpao.Item",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="code",
                        related_name="materials",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("code", fields.CharField(max_length=64)),
                ("name", fields.CharField(max_length=128)),
                ("source", fields.CharField(max_length=16)),
                ("certificate_type", fields.CharField(null=True, max_length=16)),
                ("position", fields.IntField(default=0)),
            ],
            options={
                "table": "item_material",
                "app": "lingpao",
                "unique_together": (("item", "code"),),
                "pk_attr": "id",
                "table_description": "One material an item asks for: a certificate, an upload or a paper original.",
            },
            bases=["Model"],
        ),
    ]
