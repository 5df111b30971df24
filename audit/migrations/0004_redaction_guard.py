# The append-only guard lets one UPDATE through: a personal-data erasure's redaction, which rewrites
# only `changes` and `details` and marks the entry (audit/db.py, decision 0027). The triggers are
# installed again in their new form; nothing to do on MongoDB (access control).

from django.db import migrations


def reinstall(apps, schema_editor):
    from audit import db

    db.remove_guard(schema_editor.connection)
    db.install_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_only_guard"),
    ]

    operations = [migrations.RunPython(reinstall, reinstall)]
