"""Loading historical tickets from a CSV (`manage.py import_tickets`).

Decisions (docs/decisions/0012-ai-routing-and-retrieval.md):
- the label column names the department, as `<prefix><label>` ("Category 4"); missing
  departments are created, with a description that says where they came from;
- finer label columns (sub_category1, sub_category2) become the ticket's category, "2/21";
- the requester is one dedicated, inactive account (imported-tickets@helpdesk.invalid): history
  must not show up in any real employee's list, and nobody can sign in as it;
- tickets are resolved history, idempotent by external id; a bad row is reported with its line
  number and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from accounts.models import Department, Role, User
from ai_assist import retrieval
from ai_assist.ml.data import Columns, Row, iter_rows

IMPORT_EMAIL = "imported-tickets@helpdesk.invalid"


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    departments_created: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def import_requester() -> User:
    user, _ = User.objects.get_or_create(
        email=IMPORT_EMAIL,
        defaults={"first_name": "Imported", "last_name": "tickets", "role": Role.EMPLOYEE, "is_active": False},
    )
    return user


def import_csv(
    path: str | Path,
    *,
    columns: Columns | None = None,
    department_prefix: str = "Category ",
    id_prefix: str = "",
    progress: Callable | None = None,
    index_progress: Callable | None = None,
) -> ImportReport:
    from tickets import services

    report = ImportReport()
    requester = import_requester()
    departments = {department.name: department for department in Department.objects.all()}
    rows = iter_rows(path, columns or Columns())
    # One batched embedding of everything new, at the end. The import adds what it created itself:
    # the ticket.imported events reach the index only after their commit (or on a worker).
    with retrieval.ticket_corpus().deferred(index_progress) as pending:
        for item in progress(rows) if progress else rows:
            if not isinstance(item, Row):
                report.errors.append(item)
                continue
            name = f"{department_prefix}{item.label}"[:80]
            department = departments.get(name)
            if department is None:
                department, made = Department.objects.get_or_create(
                    name=name,
                    defaults={"description": f"Imported from {Path(path).name}: tickets labelled {item.label}."},
                )
                departments[name] = department
                if made:
                    report.departments_created.append(name)
            try:
                ticket, created = services.ticket_import(
                    external_id=f"{id_prefix}{item.external_id}"[:64],
                    requester=requester,
                    title=item.title,
                    description=item.body or item.title,
                    department=department,
                    category=item.category,
                )
            except Exception as exc:  # one bad row never stops the load
                report.errors.append((item.line, f"{type(exc).__name__}: {exc}"))
                continue
            if created:
                pending.add(ticket.pk)
                report.created += 1
            else:
                report.existing += 1
    return report
