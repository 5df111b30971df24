# Every write to an article counts in `revision` and stamps it with its event (helpdesk.outbox).
#
# On SQLite, adding a NOT NULL column re-creates the table, and the full-text index's triggers on
# it (migration 0002) go with the old table: they are put back right after, from 0002's own SQL.

import importlib

from django.db import migrations, models

TRIGGERS = ("knowledge_article_fts_insert", "knowledge_article_fts_update", "knowledge_article_fts_delete")


def restore_fts_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    search_index = importlib.import_module("knowledge.migrations.0002_search_index")
    statements = [sql for sql in search_index.SQLITE_INSTALL if sql.lstrip().startswith("CREATE TRIGGER")]
    assert len(statements) == len(TRIGGERS)
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0002_search_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='article',
            name='last_event',
            field=models.JSONField(blank=True, editable=False, help_text='The event of the latest write (helpdesk.outbox re-creates its outbox row if a crash lost it).', null=True),
        ),
        migrations.AddField(
            model_name='article',
            name='revision',
            field=models.PositiveIntegerField(default=1, editable=False),
        ),
        migrations.RunPython(restore_fts_triggers, migrations.RunPython.noop),
    ]
