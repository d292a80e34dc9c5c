from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_registration_reviewer')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='WebhookAttempt',
            index=Index(fields=['delivery_id', 'id']),
        ),
    ]
