from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus, ReviewStatus
from domain.models import Role
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

# Hand-ordered: tortoise 1.1.9 creates models alphabetically and drops a foreign key
# whose target table does not exist yet, so referenced tables come first.
class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ContractTemplate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.IntField(unique=True)),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'contract_templates', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Document',
            fields=[
                ('sha256', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('size', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'documents', 'app': 'models', 'pk_attr': 'sha256', 'table_description': 'A sealed PDF, stored content-addressed by its SHA-256.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Partner',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('legal_name', fields.CharField(max_length=200)),
                ('registration_number', fields.CharField(max_length=64)),
                ('address', fields.CharField(max_length=500)),
                ('contact_name', fields.CharField(max_length=200)),
                ('email', fields.CharField(max_length=254)),
                ('phone', fields.CharField(max_length=32)),
                ('registration_status', fields.CharEnumField(default=RegistrationStatus.PENDING_REVIEW, description='PENDING_REVIEW: PENDING_REVIEW\nAPPROVED: APPROVED\nREJECTED: REJECTED', enum_type=RegistrationStatus, max_length=20)),
                ('review_comment', fields.TextField(null=True, unique=False)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'partners', 'app': 'models', 'indexes': [Index(fields=['registration_status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=200)),
                ('password_hash', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(description='PARTNER: PARTNER\nCHANNEL_MANAGER: CHANNEL_MANAGER\nADMIN: ADMIN\nSYSTEM: SYSTEM', enum_type=Role, max_length=20)),
                ('partner', fields.ForeignKeyField('models.Partner', source_field='partner_id', null=True, db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        # Partner and User refer to each other: add this side once both tables exist.
        ops.AddField(
            model_name='Partner',
            name='manager',
            field=fields.ForeignKeyField('models.User', source_field='manager_id', null=True, db_constraint=True, to_field='id', related_name='managed_partners', on_delete=OnDelete.RESTRICT),
        ),
        ops.CreateModel(
            name='Contract',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('partner', fields.ForeignKeyField('models.Partner', source_field='partner_id', db_constraint=True, to_field='id', related_name='contracts', on_delete=OnDelete.RESTRICT)),
                ('template', fields.ForeignKeyField('models.ContractTemplate', source_field='template_id', db_constraint=True, to_field='id', related_name='contracts', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='INITIAL: INITIAL\nRENEWAL: RENEWAL', enum_type=ContractKind, max_length=20)),
                ('status', fields.CharEnumField(description='PENDING_SIGNATURE: PENDING_SIGNATURE\nSIGNING: SIGNING\nSIGNING_FAILED: SIGNING_FAILED\nSIGNED: SIGNED\nACTIVE: ACTIVE\nEXPIRED: EXPIRED', enum_type=ContractStatus, max_length=20)),
                ('predecessor', fields.ForeignKeyField('models.Contract', source_field='predecessor_id', null=True, db_constraint=True, to_field='id', related_name='successors', on_delete=OnDelete.RESTRICT)),
                ('partner_snapshot', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('regions', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('effective_on', fields.DateField(null=True)),
                ('expires_on', fields.DateField(null=True)),
                ('content_hash', fields.CharField(null=True, max_length=64)),
                ('signed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('signed_by', fields.ForeignKeyField('models.User', source_field='signed_by_id', null=True, db_constraint=True, to_field='id', related_name='signed_contracts', on_delete=OnDelete.RESTRICT)),
                ('signing_attempt', fields.IntField(default=0)),
                ('signing_error', fields.TextField(null=True, unique=False)),
                ('sealed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('document', fields.ForeignKeyField('models.Document', source_field='document_id', null=True, db_constraint=True, to_field='sha256', related_name='contracts', on_delete=OnDelete.RESTRICT)),
                ('auto_renewed', fields.BooleanField(default=False)),
                ('version', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'contracts', 'app': 'models', 'indexes': [Index(fields=['status', 'expires_on'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InfoChangeRequest',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('partner', fields.ForeignKeyField('models.Partner', source_field='partner_id', db_constraint=True, to_field='id', related_name='info_change_requests', on_delete=OnDelete.RESTRICT)),
                ('requested_by', fields.ForeignKeyField('models.User', source_field='requested_by_id', db_constraint=True, to_field='id', related_name='info_change_requests', on_delete=OnDelete.RESTRICT)),
                ('changes', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('previous', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('reason', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=ReviewStatus.IN_REVIEW, description='IN_REVIEW: IN_REVIEW\nAPPROVED: APPROVED\nREJECTED: REJECTED', enum_type=ReviewStatus, max_length=20)),
                ('reviewer', fields.ForeignKeyField('models.User', source_field='reviewer_id', null=True, db_constraint=True, to_field='id', related_name='info_change_reviews', on_delete=OnDelete.RESTRICT)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'info_change_requests', 'app': 'models', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_id', fields.UUIDField(null=True)),
                ('actor_role', fields.CharEnumField(null=True, description='PARTNER: PARTNER\nCHANNEL_MANAGER: CHANNEL_MANAGER\nADMIN: ADMIN\nSYSTEM: SYSTEM', enum_type=Role, max_length=20)),
                ('action', fields.CharField(max_length=60)),
                ('partner_id', fields.UUIDField(null=True)),
                ('contract_id', fields.UUIDField(null=True)),
                ('subject_id', fields.UUIDField(null=True)),
                ('from_status', fields.CharField(null=True, max_length=30)),
                ('to_status', fields.CharField(null=True, max_length=30)),
                ('detail', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('request_id', fields.CharField(null=True, max_length=64)),
                ('client_ip', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'audit_events', 'app': 'models', 'indexes': [Index(fields=['contract_id', 'id']), Index(fields=['partner_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Append-only (S-22). The id is a monotonically increasing cursor.'},
            bases=['Model'],
        ),
    ]
