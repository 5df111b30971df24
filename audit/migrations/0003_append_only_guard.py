# The database layer of the audit log's append-only rule (audit/db.py): triggers on SQLite and
# PostgreSQL refuse UPDATE and DELETE of audit entries. Nothing to do on MongoDB (access control).

from django.db import migrations


def install(apps, schema_editor):
    from audit import db

    db.install_guard(schema_editor.connection)


def remove(apps, schema_editor):
    from audit import db

    db.remove_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_event_fields"),
    ]

    operations = [migrations.RunPython(install, remove)]
