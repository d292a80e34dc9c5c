from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_manager_deactivation')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ContractTemplate',
            name='published_by',
            field=fields.ForeignKeyField('models.User', source_field='published_by_id', null=True, db_constraint=True, to_field='id', related_name='published_templates', on_delete=OnDelete.RESTRICT),
        ),
    ]
