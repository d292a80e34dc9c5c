from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_password_links')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='active',
            field=fields.BooleanField(default=True, db_default=True),
        ),
    ]
