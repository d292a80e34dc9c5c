from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_audit_chain_order')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=200)),
                ('kind', fields.CharField(max_length=40)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('partner_id', fields.UUIDField(null=True)),
                ('contract_id', fields.UUIDField(null=True)),
                ('event_id', fields.BigIntField(null=True)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('due_on', fields.DateField(null=True)),
                ('days_late', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('email_status', fields.CharField(max_length=20)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'notifications', 'app': 'models', 'indexes': [Index(fields=['user_id', 'created_at']), Index(fields=['email_status', 'next_attempt_at']), Index(fields=['partner_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One notice to one person (S-25): shown in the product, and sent by email until it'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReminderRecord',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=120)),
                ('contract_id', fields.UUIDField(null=True)),
                ('kind', fields.CharField(max_length=40)),
                ('due_on', fields.DateField()),
                ('outcome', fields.CharField(max_length=20)),
                ('reason', fields.CharField(null=True, max_length=40)),
                ('days_late', fields.IntField(default=0)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reminders', 'app': 'models', 'pk_attr': 'key', 'table_description': 'A reminder (domain/reminders.py) the sweep sent or found superseded: once per'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('partner', fields.ForeignKeyField('models.Partner', source_field='partner_id', null=True, db_constraint=True, to_field='id', related_name='webhook_endpoints', on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='webhook_endpoints', on_delete=OnDelete.RESTRICT)),
                ('url', fields.CharField(max_length=2000)),
                ('description', fields.CharField(default='', max_length=200)),
                ('event_types', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('secret', fields.CharField(max_length=100)),
                ('previous_secret', fields.CharField(null=True, max_length=100)),
                ('previous_secret_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('enabled', fields.BooleanField(default=True)),
                ('disabled_reason', fields.TextField(null=True, unique=False)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_endpoints', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Where an integration receives events (S-26): programme-wide (no partner, made by an'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=200)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('message_id', fields.CharField(max_length=40)),
                ('event_type', fields.CharField(max_length=60)),
                ('event_id', fields.BigIntField(null=True)),
                ('body', fields.TextField(unique=False)),
                ('status', fields.CharField(max_length=20)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'webhook_deliveries', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['endpoint_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One event for one endpoint, tried until it is delivered or the endpoint gives up.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('models.WebhookDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempt_log', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status_code', fields.IntField(null=True)),
                ('latency_ms', fields.IntField(null=True)),
                ('error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'webhook_attempts', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The delivery log: every try, its answer and how long it took.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='locale',
            field=fields.CharField(default='en', db_default='en', max_length=20),
        ),
        ops.AddField(
            model_name='User',
            name='reminders_enabled',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        # The reactions of the after-commit path start at today's head: an upgrade does not
        # mail the programme's whole history, nor queue every past seal again.
        ops.RunSQL(
            "INSERT INTO event_cursors (consumer, position, updated_at) "
            "SELECT name, COALESCE((SELECT MAX(chain_seq) FROM audit_events), 0), CURRENT_TIMESTAMP "
            "FROM (SELECT 'sealing' AS name UNION ALL SELECT 'notifications') AS reactions",
        ),
    ]
