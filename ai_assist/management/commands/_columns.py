"""The CSV column options shared by import_tickets and ai_eval (defaults fit the shared data)."""

from __future__ import annotations

from ai_assist.ml.data import DEFAULT_SUB_COLUMNS, Columns


def add_column_arguments(parser) -> None:
    group = parser.add_argument_group("CSV columns")
    group.add_argument("--title-col", default="title", help="Title column (default: title).")
    group.add_argument("--body-col", default="body", help="Body column (default: body).")
    group.add_argument("--label-col", default="category", help="Label column: the department (default: category).")
    group.add_argument("--id-col", default="ticket_id", help="External id column (default: ticket_id).")
    group.add_argument(
        "--sub-cols",
        default=",".join(DEFAULT_SUB_COLUMNS),
        help="Finer label columns, comma-separated, used when present: the ticket's category, and what "
        "'similar' compares (default: sub_category1,sub_category2).",
    )


def columns_from(options: dict) -> Columns:
    return Columns(
        title=options["title_col"],
        body=options["body_col"],
        label=options["label_col"],
        id=options["id_col"],
        sub=tuple(name.strip() for name in options["sub_cols"].split(",") if name.strip()),
    )
