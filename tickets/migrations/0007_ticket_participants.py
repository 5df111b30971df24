# Ticket.participants: who wrote a comment or added a file, as `|id|id|` (decision 0027), filled in
# for the tickets that already have comments or files. One single-document update per ticket, no
# transaction needed (re-running it writes the same values).

from django.db import migrations, models


def participants(comments, attachments):
    # A copy of tickets.schemas.participants as it was when this migration was written.
    ids = sorted({c["author"] for c in comments} | {a["uploaded_by"] for a in attachments if a.get("uploaded_by")})
    return f"|{'|'.join(ids)}|" if ids else ""


def fill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    rows = (
        Ticket.objects.exclude(public_comment_count=0, internal_comment_count=0, attachment_count=0)
        .order_by("id")
        .values_list("id", "comments", "attachments")
    )
    for pk, comments, attachments in rows.iterator(chunk_size=500):
        Ticket.objects.filter(pk=pk).update(participants=participants(comments or [], attachments or []))


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0006_ticket_last_event'),
    ]

    operations = [
        migrations.AddField(
            model_name='ticket',
            name='participants',
            field=models.TextField(blank=True, editable=False, help_text='|id|id|: comment authors and uploaders.'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
