from django.db import migrations, models


class Migration(migrations.Migration):
    """A similar-ticket label's tickets by department and category (decision 0038)."""

    dependencies = [
        ("tickets", "0008_search_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["department", "category"], name="ticket_dept_category"),
        ),
    ]
