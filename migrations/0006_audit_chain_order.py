from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_audit_chain')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditSeal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chain_seq', fields.BigIntField()),
                ('chain_hash', fields.CharField(max_length=64)),
                ('sealed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('signature', fields.TextField(unique=False)),
            ],
            options={'table': 'audit_seals', 'app': 'models', 'pk_attr': 'id', 'table_description': "The chain's head at a moment, signed with the programme's key: a deletion of the"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EventCursor',
            fields=[
                ('consumer', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=60)),
                ('position', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'event_cursors', 'app': 'models', 'pk_attr': 'consumer', 'table_description': 'How far one consumer of the audit log (the after-commit path) has come, as a'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='AuditEvent',
            name='chain_seq',
            field=fields.BigIntField(null=True, unique=True),
        ),
        # Events chained before this migration were chained in id order: that is their place.
        ops.RunSQL(
            "UPDATE audit_events SET chain_seq = ranked.n FROM ("
            "SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_events "
            "WHERE chain_hash IS NOT NULL) AS ranked WHERE audit_events.id = ranked.id",
        ),
    ]
