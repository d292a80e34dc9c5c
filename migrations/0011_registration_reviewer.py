from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_template_publisher')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Partner',
            name='reviewed_by',
            field=fields.ForeignKeyField('models.User', source_field='reviewed_by_id', null=True, db_constraint=True, to_field='id', related_name='registration_reviews', on_delete=OnDelete.RESTRICT),
        ),
    ]
