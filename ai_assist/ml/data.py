"""Reading labelled ticket CSVs (import_tickets, ai_eval and bench/ai_cv.py share it).

A bad row never stops a load: it is reported with its line number and skipped.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ai_assist.ml.text import ticket_text

# Columns of the shared data set (../shared/data/it_tickets/README.md) that refine the label.
DEFAULT_SUB_COLUMNS = ("sub_category1", "sub_category2")


@dataclass(frozen=True)
class Columns:
    title: str = "title"
    body: str = "body"
    label: str = "category"
    id: str = "ticket_id"
    # Finer label columns, used when present: they become the ticket's category, and
    # "similar" means the same label and the same finer labels.
    sub: tuple[str, ...] = DEFAULT_SUB_COLUMNS


@dataclass(frozen=True)
class Row:
    line: int
    external_id: str
    title: str
    body: str
    label: str
    sub_labels: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return ticket_text(self.title, self.body)

    @property
    def fine_label(self) -> str:
        """The label with its finer parts, e.g. "4|2|21": what "similar" compares."""
        return "|".join((self.label, *self.sub_labels))

    @property
    def category(self) -> str:
        """The finer labels as a ticket category, e.g. "2/21" (empty when there are none)."""
        return "/".join(self.sub_labels)


@dataclass
class Table:
    rows: list[Row]
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [row.text for row in self.rows]

    @property
    def labels(self) -> list[str]:
        return [row.label for row in self.rows]

    @property
    def fine_labels(self) -> list[str]:
        return [row.fine_label for row in self.rows]


class ColumnsMissing(ValueError):
    pass


def iter_rows(
    path: str | Path, columns: Columns = Columns(), *, need_label: bool = True
) -> Iterator[Row | tuple[int, str]]:
    """Rows of the CSV, or (line, message) for a row that cannot be used. Line numbers count the
    header as line 1, as an editor shows them."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        required = [columns.title, columns.body, columns.id] + ([columns.label] if need_label else [])
        missing = [name for name in required if name not in header]
        if missing:
            raise ColumnsMissing(f"{path}: no column {', '.join(missing)} (columns: {', '.join(header)}).")
        subs = tuple(name for name in columns.sub if name in header)
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield (line, f"unreadable CSV: {exc}")
                continue
            line = reader.line_num  # a quoted field may span lines: report where the row ends
            if None in record or any(value is None for value in record.values()):
                yield (line, f"expected {len(header)} fields, got a different number")
                continue
            external_id = record[columns.id].strip()
            label = record.get(columns.label, "").strip() if need_label or columns.label in header else ""
            if not external_id:
                yield (line, f"empty {columns.id}")
                continue
            if len(external_id) > 64:
                yield (line, f"{columns.id} longer than 64 characters")
                continue
            if need_label and not label:
                yield (line, f"empty {columns.label}")
                continue
            title, body = record[columns.title], record[columns.body]
            if not (title or "").strip() and not (body or "").strip():
                yield (line, f"empty {columns.title} and {columns.body}")
                continue
            yield Row(
                line=line,
                external_id=external_id,
                title=title.strip(),
                body=body.strip(),
                label=label,
                sub_labels=tuple(record[name].strip() for name in subs),
            )


def read_table(path: str | Path, columns: Columns = Columns(), *, need_label: bool = True) -> Table:
    table = Table(rows=[])
    seen: set[str] = set()
    for item in iter_rows(path, columns, need_label=need_label):
        if isinstance(item, Row):
            if item.external_id in seen:
                table.errors.append((item.line, f"duplicate {columns.id} {item.external_id!r}"))
                continue
            seen.add(item.external_id)
            table.rows.append(item)
        else:
            table.errors.append(item)
    return table


def content_hash(texts: list[str], *salt: str) -> str:
    digest = hashlib.sha256()
    for part in salt:
        digest.update(part.encode() + b"\x00")
    for text in texts:
        digest.update(text.encode() + b"\x00")
    return digest.hexdigest()
