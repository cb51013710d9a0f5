from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("lingpao", "0004_certificate_access")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Upload",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32),
                ),
                ("user_id", fields.CharField(db_index=True, max_length=36)),
                ("kind", fields.CharField(max_length=16)),
                ("media_type", fields.CharField(max_length=32)),
                ("size", fields.IntField()),
                ("flagged", fields.BooleanField(default=False)),
                ("flag_reason", fields.CharField(default="", max_length=32)),
                ("ocr_sealed", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "upload",
                "app": "lingpao",
                "pk_attr": "id",
                "table_description": "A file a citizen uploaded, sealed on disk under its id.",
            },
            bases=["Model"],
        ),
    ]
