"""SQLite: an FTS5 table kept by triggers on knowledge_article, ranked with bm25().

Tables and triggers (migration 0002, which does nothing on other databases):
    knowledge_article_fts        fts5(title, summary, body, tags, scope), porter stemming; `scope`
                                 holds a status token and a visibility token ("xpublished v10")
    knowledge_article_fts_docid  docid INTEGER PRIMARY KEY <-> article_id (FTS5 rows need an integer
                                 rowid that never changes; knowledge_article's own rowid may after VACUUM)
    triggers after INSERT, UPDATE (of the text, tags, status, visibility) and DELETE on
    knowledge_article keep both in step with every write, bulk loads included, in the same statement.

The caller's scope is part of the MATCH expression itself (status and visibility tokens), so the
index narrows to what the caller may read before anything is ranked, counted or limited; the
words are searched in the text columns only. A category or tag filter joins knowledge_article
in the same statement. Ranking: the two tiers of TieredSearch (every word, then some), each by
bm25() with column weights.
"""

from __future__ import annotations

from django.db import connection

from helpdesk.search_words import fts5_phrases
from knowledge.models import Visibility
from knowledge.search.base import (
    ELLIPSIS,
    START,
    STOP,
    Highlight,
    Hit,
    ParsedQuery,
    Scope,
    TieredSearch,
    marked_to_html,
)

# bm25() column weights: title, summary, body, tags, scope. A title hit outweighs body hits.
WEIGHTS = (10.0, 4.0, 1.0, 5.0, 0.0)
SNIPPET_TOKENS = 32
TEXT_COLUMNS = "{title summary body tags}"


def words_expression(terms: tuple[str, ...], tier: str) -> str:
    """The words of a tier: `any` (some word), `all` (every word), `rest` (some but not all)."""
    if tier == "all":
        return fts5_phrases(terms, "AND")
    if tier == "rest":
        return f"({fts5_phrases(terms, 'OR')}) NOT ({fts5_phrases(terms, 'AND')})"
    return fts5_phrases(terms, "OR")


def scoped_match(query: ParsedQuery, scope: Scope, tier: str = "any") -> str:
    """The words (in the text columns only) AND a readable status AND a readable visibility."""
    visibilities = [value for value in Visibility.values if value <= scope.max_visibility]
    return (
        f"{TEXT_COLUMNS} : ({words_expression(query.terms, tier)})"
        f" AND scope : ({fts5_phrases('x' + status for status in scope.statuses)})"
        f" AND scope : ({fts5_phrases('v' + str(value) for value in visibilities)})"
    )


def _joined_filters(scope: Scope) -> tuple[str, list]:
    """Category and tag filters, on knowledge_article joined in the same statement ("" if none)."""
    sql: list[str] = []
    params: list = []
    if scope.category_ids is not None:
        sql.append(f"a.category_id IN ({', '.join(['%s'] * len(scope.category_ids))})")
        params += list(scope.category_ids)
    for tag in scope.tags:
        sql.append("a.tags_text LIKE %s ESCAPE '\\'")
        params.append("%|" + tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "|%")
    return " AND ".join(sql), params


def _from(scope: Scope) -> tuple[str, list]:
    filters, params = _joined_filters(scope)
    if not filters:
        return "FROM knowledge_article_fts WHERE knowledge_article_fts MATCH %s", params
    return (
        "FROM knowledge_article_fts "
        "JOIN knowledge_article_fts_docid jd ON jd.docid = knowledge_article_fts.rowid "
        "JOIN knowledge_article a ON a.id = jd.article_id "
        f"WHERE knowledge_article_fts MATCH %s AND {filters}",
        params,
    )


class SqliteSearch(TieredSearch):
    vendor = "sqlite"
    needs_body = False  # FTS5's snippet() reads the indexed text itself

    def _usable(self, query: ParsedQuery, scope: Scope) -> bool:
        return super()._usable(query, scope) and scope.max_visibility >= min(Visibility.values)

    def _count(self, query: ParsedQuery, scope: Scope, tier: str) -> int:
        source, params = _from(scope)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) {source}", [scoped_match(query, scope, tier), *params])
            return cursor.fetchone()[0]

    def _page(self, query: ParsedQuery, scope: Scope, tier: str, *, offset: int, limit: int) -> list[Hit]:
        source, params = _from(scope)
        weights = ", ".join(str(weight) for weight in WEIGHTS)
        sql = (
            "SELECT d.article_id, ranked.score FROM ("  # noqa: S608 # nosec B608 - constants and placeholders only
            f"SELECT knowledge_article_fts.rowid AS docid, bm25(knowledge_article_fts, {weights}) AS score "
            f"{source} ORDER BY score, knowledge_article_fts.rowid LIMIT %s OFFSET %s"
            ") AS ranked JOIN knowledge_article_fts_docid d ON d.docid = ranked.docid "
            "ORDER BY ranked.score, ranked.docid"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [scoped_match(query, scope, tier), *params, limit, offset])
            # bm25() is lower for better matches: report it negated, so a higher score is better.
            every = tier == "all" or not query.several
            return [Hit(article_id=row[0], score=-row[1], all_words=every) for row in cursor.fetchall()]

    def highlights(self, query: ParsedQuery, rows: dict[str, dict]) -> dict[str, Highlight]:
        article_ids = list(rows)
        if not query.terms or not article_ids:
            return {}
        sql = (
            "SELECT d.article_id, highlight(knowledge_article_fts, 0, %s, %s), "  # noqa: S608 # nosec B608
            f"snippet(knowledge_article_fts, 2, %s, %s, %s, {SNIPPET_TOKENS}) "
            "FROM knowledge_article_fts "
            "JOIN knowledge_article_fts_docid d ON d.docid = knowledge_article_fts.rowid "
            "WHERE knowledge_article_fts MATCH %s AND knowledge_article_fts.rowid IN ("
            "SELECT docid FROM knowledge_article_fts_docid WHERE article_id IN "
            f"({', '.join(['%s'] * len(article_ids))}))"
        )
        words = f"{TEXT_COLUMNS} : ({fts5_phrases(query.terms, 'OR')})"
        params = [START, STOP, START, STOP, ELLIPSIS, words, *article_ids]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {
                article_id: Highlight(title=marked_to_html(title), snippet=marked_to_html(snippet, markdown=True))
                for article_id, title, snippet in cursor.fetchall()
            }

    def rebuild(self) -> None:
        """Re-create the index from knowledge_article (after a restore, or to repair it)."""
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM knowledge_article_fts")
            cursor.execute("DELETE FROM knowledge_article_fts_docid")
            cursor.execute("INSERT INTO knowledge_article_fts_docid (article_id) SELECT id FROM knowledge_article")
            cursor.execute(
                "INSERT INTO knowledge_article_fts (rowid, title, summary, body, tags, scope) "
                "SELECT d.docid, a.title, a.summary, a.body, replace(a.tags_text, '|', ' '), "
                "'x' || a.status || ' v' || a.visibility "
                "FROM knowledge_article a JOIN knowledge_article_fts_docid d ON d.article_id = a.id"
            )
            cursor.execute("INSERT INTO knowledge_article_fts (knowledge_article_fts) VALUES ('optimize')")
