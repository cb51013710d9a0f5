from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("lingpao", "0006_applications")]

    initial = False

    operations = [
        ops.CreateModel(
            name="UsedIdentityToken",
            fields=[
                (
                    "jti",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128),
                ),
                (
                    "expires_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "used_identity_token",
                "app": "lingpao",
                "pk_attr": "jti",
                "table_description": "An identity token that has logged in: kept until it expires, so it logs in once.",
            },
            bases=["Model"],
        ),
    ]
