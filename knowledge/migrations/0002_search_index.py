"""The full-text index of articles, one per database (knowledge/search/ queries it).

SQLite: an FTS5 table (porter stemming; the status and visibility as tokens of a `scope` column) and a
docid map, kept by triggers on knowledge_article.
PostgreSQL: a weighted tsvector column kept by a trigger (title A; summary, tags B; body C; the status
and visibility as lexemes), GIN index.
MongoDB: a weighted text index. Any other database: nothing.
"""

from django.db import migrations

SQLITE_INSTALL = [
    "CREATE TABLE knowledge_article_fts_docid ("
    "docid INTEGER PRIMARY KEY AUTOINCREMENT, article_id varchar(24) NOT NULL UNIQUE)",
    # `scope` holds tokens for the status and the visibility ("xpublished v10"), so that a search
    # narrows to what the caller may read inside the index, before ranking.
    "CREATE VIRTUAL TABLE knowledge_article_fts USING fts5("
    "title, summary, body, tags, scope, tokenize = 'porter unicode61 remove_diacritics 2')",
    """CREATE TRIGGER knowledge_article_fts_insert AFTER INSERT ON knowledge_article BEGIN
        INSERT INTO knowledge_article_fts_docid (article_id) VALUES (new.id);
        INSERT INTO knowledge_article_fts (rowid, title, summary, body, tags, scope) VALUES (
            (SELECT docid FROM knowledge_article_fts_docid WHERE article_id = new.id),
            new.title, new.summary, new.body, replace(new.tags_text, '|', ' '),
            'x' || new.status || ' v' || new.visibility);
    END""",
    """CREATE TRIGGER knowledge_article_fts_update
    AFTER UPDATE OF title, summary, body, tags_text, status, visibility ON knowledge_article BEGIN
        UPDATE knowledge_article_fts SET title = new.title, summary = new.summary, body = new.body,
            tags = replace(new.tags_text, '|', ' '), scope = 'x' || new.status || ' v' || new.visibility
        WHERE rowid = (SELECT docid FROM knowledge_article_fts_docid WHERE article_id = new.id);
    END""",
    """CREATE TRIGGER knowledge_article_fts_delete AFTER DELETE ON knowledge_article BEGIN
        DELETE FROM knowledge_article_fts
        WHERE rowid = (SELECT docid FROM knowledge_article_fts_docid WHERE article_id = old.id);
        DELETE FROM knowledge_article_fts_docid WHERE article_id = old.id;
    END""",
    "INSERT INTO knowledge_article_fts_docid (article_id) SELECT id FROM knowledge_article",
    "INSERT INTO knowledge_article_fts (rowid, title, summary, body, tags, scope) "
    "SELECT d.docid, a.title, a.summary, a.body, replace(a.tags_text, '|', ' '), "
    "'x' || a.status || ' v' || a.visibility "
    "FROM knowledge_article a JOIN knowledge_article_fts_docid d ON d.article_id = a.id",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS knowledge_article_fts_delete",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_update",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_insert",
    "DROP TABLE IF EXISTS knowledge_article_fts",
    "DROP TABLE IF EXISTS knowledge_article_fts_docid",
]

POSTGRES_INSTALL = [
    "ALTER TABLE knowledge_article ADD COLUMN search_vector tsvector",
    """CREATE FUNCTION knowledge_article_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
            || setweight(to_tsvector('english', coalesce(NEW.summary, '')), 'B')
            || setweight(to_tsvector('english', replace(coalesce(NEW.tags_text, ''), '|', ' ')), 'B')
            || setweight(to_tsvector('english', coalesce(NEW.body, '')), 'C')
            -- the status and visibility as lexemes ('xpublished', 'v10'): a search narrows to what
            -- the caller may read inside the GIN index, before anything is ranked
            || setweight(to_tsvector('simple', 'x' || NEW.status || ' v' || NEW.visibility), 'D');
        RETURN NEW;
    END
    $$""",
    "CREATE TRIGGER knowledge_article_search_vector "
    "BEFORE INSERT OR UPDATE OF title, summary, body, tags_text, status, visibility "
    "ON knowledge_article FOR EACH ROW EXECUTE FUNCTION knowledge_article_search_vector()",
    "UPDATE knowledge_article SET title = title",
    "CREATE INDEX knowledge_article_search_vector_gin ON knowledge_article USING GIN (search_vector)",
]
POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS knowledge_article_search_vector ON knowledge_article",
    "DROP FUNCTION IF EXISTS knowledge_article_search_vector()",
    "DROP INDEX IF EXISTS knowledge_article_search_vector_gin",
    "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector",
]

MONGO_TEXT_INDEX = {
    "keys": [("title", "text"), ("summary", "text"), ("body", "text"), ("tags_text", "text")],
    "name": "knowledge_article_text",
    "weights": {"title": 10, "summary": 4, "body": 1, "tags_text": 5},
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
        collection = schema_editor.connection.get_collection("knowledge_article")
        options = {key: value for key, value in MONGO_TEXT_INDEX.items() if key != "keys"}
        collection.create_index(MONGO_TEXT_INDEX["keys"], **options)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UNINSTALL)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UNINSTALL)
    elif vendor == "mongodb":
        schema_editor.connection.get_collection("knowledge_article").drop_index(MONGO_TEXT_INDEX["name"])


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
