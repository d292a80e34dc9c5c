from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.lifecycle import ReviewStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

async def sqlite_indexes(apps, schema_editor) -> None:
    """On SQLite, AlterField rebuilds the table: it drops the table's indexes and does not
    add the UNIQUE constraint. Put both back; PostgreSQL needs none of this."""
    if schema_editor.client.capabilities.dialect != "sqlite":
        return
    await schema_editor.client.execute_script(
        'CREATE UNIQUE INDEX IF NOT EXISTS "uid_contracts_predecessor" ON "contracts" ("predecessor_id");'
        'CREATE INDEX IF NOT EXISTS "idx_contracts_partner_2c9afe" ON "contracts" ("partner_id", "created_at");'
        'CREATE INDEX IF NOT EXISTS "idx_contracts_status_98836d" ON "contracts" ("status", "expires_on");'
        'CREATE INDEX IF NOT EXISTS "idx_info_change_status_119f7e" ON "info_change_requests" ("status", "created_at");'
    )


class Migration(migrations.Migration):
    dependencies = [('models', '0002_foreign_key_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NonRenewalRequest',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('contract', fields.ForeignKeyField('models.Contract', source_field='contract_id', db_constraint=True, to_field='id', related_name='non_renewal_requests', on_delete=OnDelete.RESTRICT)),
                ('partner', fields.ForeignKeyField('models.Partner', source_field='partner_id', db_constraint=True, to_field='id', related_name='non_renewal_requests', on_delete=OnDelete.RESTRICT)),
                ('requested_by', fields.ForeignKeyField('models.User', source_field='requested_by_id', db_constraint=True, to_field='id', related_name='non_renewal_requests', on_delete=OnDelete.RESTRICT)),
                ('confirmed', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('status', fields.CharEnumField(default=ReviewStatus.IN_REVIEW, description='IN_REVIEW: IN_REVIEW\nAPPROVED: APPROVED\nREJECTED: REJECTED\nWITHDRAWN: WITHDRAWN', enum_type=ReviewStatus, max_length=20)),
                ('reviewer', fields.ForeignKeyField('models.User', source_field='reviewer_id', null=True, db_constraint=True, to_field='id', related_name='non_renewal_reviews', on_delete=OnDelete.RESTRICT)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'non_renewal_requests', 'app': 'models', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': "A partner's request not to renew a contract (S-15, S-16)."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Contract',
            name='predecessor',
            field=fields.OneToOneField('models.Contract', source_field='predecessor_id', null=True, db_constraint=True, to_field='id', related_name='successor', on_delete=OnDelete.RESTRICT),
        ),
        ops.AlterField(
            model_name='InfoChangeRequest',
            name='status',
            field=fields.CharEnumField(default=ReviewStatus.IN_REVIEW, description='IN_REVIEW: IN_REVIEW\nAPPROVED: APPROVED\nREJECTED: REJECTED\nWITHDRAWN: WITHDRAWN', enum_type=ReviewStatus, max_length=20),
        ),
        ops.RunPython(sqlite_indexes, ops.RunPython.noop),
    ]
