from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Contract',
            index=Index(fields=['partner_id', 'created_at']),
        ),
        ops.AddIndex(
            model_name='Partner',
            index=Index(fields=['manager_id', 'created_at']),
        ),
    ]
