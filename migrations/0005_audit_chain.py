from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_keyset_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AuditEvent',
            name='chain_hash',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
