from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_non_renewal_requests')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Contract',
            index=Index(fields=['created_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Contract',
            index=Index(fields=['status', 'created_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Partner',
            index=Index(fields=['created_at', 'id']),
        ),
    ]
