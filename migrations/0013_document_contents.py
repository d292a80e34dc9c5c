from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_webhook_attempt_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DocumentContent',
            fields=[
                ('sha256', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('content', fields.BinaryField()),
            ],
            options={'table': 'document_contents', 'app': 'models', 'pk_attr': 'sha256', 'table_description': "A sealed PDF's bytes, in the database store (domain/documents/storage.py). A table of"},
            bases=['Model'],
        ),
    ]
