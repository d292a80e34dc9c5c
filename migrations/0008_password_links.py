from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PasswordLink',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='password_links', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'password_links', 'app': 'models', 'pk_attr': 'id', 'table_description': "A one-time link to set a password: the first admin's, or an invited manager's. Only"},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='User',
            name='password_hash',
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
