"""The embedded database keeps SQLite's planner statistics fresh: a read by id uses the id index
once the data has grown, instead of walking a status index over every row."""

from django.db import connections

from helpdesk.sqlite.base import DatabaseWrapper

SCHEMA = [
    "CREATE TABLE article (id varchar(24) PRIMARY KEY, title text, status text, visibility int, updated text)",
    "CREATE INDEX article_status_vis_updated ON article (status, visibility, updated)",
]
BY_ID = "SELECT id, title FROM article WHERE status = 'published' AND visibility <= 1 AND id IN ({})"


def open_file(path) -> DatabaseWrapper:
    settings = {**connections.settings["default"], "NAME": str(path), "ENGINE": "helpdesk.sqlite", "TEST": {}}
    settings["OPTIONS"] = {}
    return DatabaseWrapper(settings, alias="statistics-test")


def plan(wrapper: DatabaseWrapper, ids: list[str]) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + BY_ID.format(",".join(["%s"] * len(ids))), ids)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


def test_a_closing_connection_leaves_statistics_that_send_reads_by_id_to_the_id_index(tmp_path, django_db_blocker):
    with django_db_blocker.unblock():  # a database file of its own, not the test database
        check_statistics(tmp_path / "planner.sqlite3")


def check_statistics(path) -> None:
    wrapper = open_file(path)
    with wrapper.cursor() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)
        cursor.execute("BEGIN")  # one commit, not 5,000 (each one an fsync)
        cursor.executemany(
            "INSERT INTO article VALUES (%s, %s, 'published', 1, %s)",
            [(f"{n:024x}", f"Article {n}", str(n)) for n in range(5_000)],
        )
        cursor.execute("COMMIT")
    ids = [f"{n:024x}" for n in range(0, 5_000, 350)]
    assert "article_status_vis_updated" in plan(wrapper, ids)  # no statistics yet: the planner guesses
    wrapper.close()

    reopened = open_file(path)
    try:
        assert "article_status_vis_updated" not in plan(reopened, ids)
        assert "sqlite_autoindex_article_1 (id=?)" in plan(reopened, ids)
    finally:
        reopened.close()
