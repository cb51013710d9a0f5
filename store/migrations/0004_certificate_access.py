from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("lingpao", "0003_service_items")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Presentation",
            fields=[
                (
                    "jti",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32),
                ),
                ("user_id", fields.CharField(db_index=True, max_length=36)),
                ("certificate_id", fields.CharField(max_length=128)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "presentation",
                "app": "lingpao",
                "pk_attr": "jti",
                "table_description": "A 亮证 presentation we signed, so a verifier can learn of a later revocation.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="AuditEntry",
            name="subject_user_id",
            field=fields.CharField(null=True, db_index=True, max_length=36),
        ),
    ]
