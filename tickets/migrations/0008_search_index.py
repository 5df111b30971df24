"""The full-text index of tickets' public text, one per database (tickets/search/ queries it).

What is indexed: the title and `public_text` (title, description and public replies: never an
internal note). No visibility is stored in the index: who may read a ticket is tickets.policies'
rule, applied as a WHERE clause of the same statement (SQLite, PostgreSQL) or the same $match
(MongoDB), before anything is ranked or limited.

SQLite: an FTS5 table (porter stemming) and a docid map, kept by triggers on tickets_ticket.
PostgreSQL: a weighted tsvector column kept by a trigger (title A, public text B), GIN index.
MongoDB: a weighted text index. Any other database: nothing.
"""

from django.db import migrations

SQLITE_INSTALL = [
    "CREATE TABLE tickets_ticket_fts_docid ("
    "docid INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id varchar(24) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE tickets_ticket_fts USING fts5("
    "title, body, tokenize = 'porter unicode61 remove_diacritics 2')",
    """CREATE TRIGGER tickets_ticket_fts_insert AFTER INSERT ON tickets_ticket BEGIN
        INSERT INTO tickets_ticket_fts_docid (ticket_id) VALUES (new.id);
        INSERT INTO tickets_ticket_fts (rowid, title, body) VALUES (
            (SELECT docid FROM tickets_ticket_fts_docid WHERE ticket_id = new.id), new.title, new.public_text);
    END""",
    """CREATE TRIGGER tickets_ticket_fts_update AFTER UPDATE OF title, public_text ON tickets_ticket BEGIN
        UPDATE tickets_ticket_fts SET title = new.title, body = new.public_text
        WHERE rowid = (SELECT docid FROM tickets_ticket_fts_docid WHERE ticket_id = new.id);
    END""",
    """CREATE TRIGGER tickets_ticket_fts_delete AFTER DELETE ON tickets_ticket BEGIN
        DELETE FROM tickets_ticket_fts
        WHERE rowid = (SELECT docid FROM tickets_ticket_fts_docid WHERE ticket_id = old.id);
        DELETE FROM tickets_ticket_fts_docid WHERE ticket_id = old.id;
    END""",
    "INSERT INTO tickets_ticket_fts_docid (ticket_id) SELECT id FROM tickets_ticket",
    "INSERT INTO tickets_ticket_fts (rowid, title, body) "
    "SELECT d.docid, t.title, t.public_text FROM tickets_ticket t JOIN tickets_ticket_fts_docid d ON d.ticket_id = t.id",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS tickets_ticket_fts_delete",
    "DROP TRIGGER IF EXISTS tickets_ticket_fts_update",
    "DROP TRIGGER IF EXISTS tickets_ticket_fts_insert",
    "DROP TABLE IF EXISTS tickets_ticket_fts",
    "DROP TABLE IF EXISTS tickets_ticket_fts_docid",
]

POSTGRES_INSTALL = [
    "ALTER TABLE tickets_ticket ADD COLUMN search_vector tsvector",
    """CREATE FUNCTION tickets_ticket_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
            || setweight(to_tsvector('english', coalesce(NEW.public_text, '')), 'B');
        RETURN NEW;
    END
    $$""",
    "CREATE TRIGGER tickets_ticket_search_vector "
    "BEFORE INSERT OR UPDATE OF title, public_text "
    "ON tickets_ticket FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_vector()",
    "UPDATE tickets_ticket SET title = title",
    "CREATE INDEX tickets_ticket_search_vector_gin ON tickets_ticket USING GIN (search_vector)",
]
POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS tickets_ticket_search_vector ON tickets_ticket",
    "DROP FUNCTION IF EXISTS tickets_ticket_search_vector()",
    "DROP INDEX IF EXISTS tickets_ticket_search_vector_gin",
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_vector",
]

MONGO_TEXT_INDEX = {
    "keys": [("title", "text"), ("public_text", "text")],
    "name": "tickets_ticket_text",
    "weights": {"title": 4, "public_text": 1},
    "default_language": "english",
}


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_INSTALL)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_INSTALL)
    elif vendor == "mongodb":
        collection = schema_editor.connection.get_collection("tickets_ticket")
        options = {key: value for key, value in MONGO_TEXT_INDEX.items() if key != "keys"}
        collection.create_index(MONGO_TEXT_INDEX["keys"], **options)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UNINSTALL)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UNINSTALL)
    elif vendor == "mongodb":
        schema_editor.connection.get_collection("tickets_ticket").drop_index(MONGO_TEXT_INDEX["name"])


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_ticket_participants")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
