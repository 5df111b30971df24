"""The article-unit corpus: collection `helpdesk_kb`, the knowledge base unit by unit.

Which articles the AI reads is knowledge.policies' rule (`ai_reads`: published ones only). An
article is cut into units (ai_assist.ml.answer.units_of_article: its summary and body following
their structure, sentence by sentence, a list step, a table row or a code line being one unit,
each with the heading trail of its section; and, per section, passages of up to 120 words), one
vector each, of the unit's text after its heading trail (decision 0034); each unit keeps its
article's id, version, visibility (the lowest role that may read it), category, title, its
position, the list it belongs to, its heading trail (`section`) and whether it is a passage. Units,
not 1,000-character chunks: on the development sets a question's best sentence, with its section's
best passage, finds the right article far more often than its best chunk (docs/ai.md).

Search runs where the data lives; a process keeps no copy of the collection (docs/decisions/0035):
- candidates: the articles of the units nearest the question in Chroma's HNSW index (`query`),
  the asker's visibility applied to those units before anything is ranked, together with the
  best articles of the database's full-text search, scoped to what the AI may read for the
  asker (knowledge.selectors.ai_keyword_hits);
- read-back: those articles through knowledge.policies (`ai_readable_articles`), so an article
  hidden since it was indexed never reaches the asker and nothing unreadable is ranked; their
  units cut again from the rows (`article_units`), only the units' vectors read from Chroma by id;
- ranking: those units scored hybrid (ai_assist.ml.answer.HybridIndex: cosine + BM25 over those
  units, fused by z-scores, sentences and passages each within their kind), an article ranking as
  its best sentence plus its best passage. Units written before decision 0034 have other ids and
  are not read back: `manage.py reindex --if-stale` (run by `make run` and the compose stack's
  migrate step) sees that and rebuilds the collection.
A write is in Chroma and the database at once, so every process's next search sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ai_assist import embeddings
from ai_assist.ml.answer import HybridIndex, Source, Unit, build_sources, joined, top_sources, units_of_article
from ai_assist.ml.passages import Passage
from ai_assist.retrieval import chroma
from ai_assist.retrieval.corpus import Corpus, vectors_of

KB = "helpdesk_kb"
BATCH_ROWS = 2_000  # records per Chroma write in a rebuild
NEAREST_UNITS = 60  # units asked of the HNSW index per question
VECTOR_ARTICLES = 10  # of their articles, the first this many are candidates
KEYWORD_ARTICLES = 5  # articles asked of the full-text search per question
OVERFETCH = 4  # an unfiltered query this many times larger before a filtered one (see _nearest)
UNREADABLE = 1_000  # the visibility of a unit without one: readable by nobody


def article_text(article) -> str:
    """What the index reads of an article: summary and body (the title is kept beside each unit)."""
    return "\n\n".join(part for part in (article.summary, article.body) if part) or article.title


def article_units(article) -> list[Unit]:
    return units_of_article(article_text(article))


def unit_key(article, n: int) -> str:
    """A unit's id in the collection: its article, the article's version, its place, and "s" for
    the units of decision 0034 (sentences with their heading trail, passages), so that units
    indexed before it are never read back as these."""
    return f"{article.pk}:{article.version}:s{n}"


@dataclass
class Units:
    """The units of a few articles for one question: cut from the database rows, vectors from Chroma."""

    titles: dict[str, str]  # article id -> title, of the articles the reader may read
    article_ids: list[str]
    texts: list[str]  # as written: what an answer quotes
    indexed: list[str]  # what was embedded and is matched by keywords: the heading trail, then the unit
    vectors: np.ndarray
    positions: np.ndarray
    blocks: np.ndarray
    passages: np.ndarray  # per row: a passage (ranking only, never quoted)
    rows_of: dict[str, np.ndarray]  # article id -> its rows in text order

    def of(self, article_id: str) -> list[tuple[str, int]]:
        """Its sentences and steps (not its passages), in text order."""
        return [
            (self.texts[row], int(self.blocks[row]))
            for row in self.rows_of.get(article_id, ())
            if not self.passages[row]
        ]


class ArticleChunkCorpus(Corpus):
    name = KB

    # --- writes ---------------------------------------------------------------------------

    def upsert(self, article) -> int:
        """Replace an article's units with those of its current version; an article the AI does
        not read (a draft, an archived one) is removed. Returns the units written."""
        from knowledge import policies

        article_id = str(article.pk)
        self.remove(article_id)
        if not policies.ai_reads(article):
            return 0
        written = self._write([article])
        self._changed()
        return written

    def _write(self, articles: list) -> int:
        ids, texts, indexed, metadatas = [], [], [], []
        for article in articles:
            units = article_units(article)
            metadata = {
                "article_id": str(article.pk),
                "version": int(article.version),
                "visibility": int(article.visibility),
                "category": article.category.name if article.category_id else "",
                "title": article.title[:200],
            }
            for n, unit in enumerate(units):
                ids.append(unit_key(article, n))
                texts.append(unit.text)
                indexed.append(unit.indexed)
                metadatas.append(
                    {**metadata, "chunk": n, "block": unit.block, "section": unit.section, "passage": unit.passage}
                )
        if not ids:
            return 0
        vectors = np.asarray(embeddings.embedder().embed(indexed), dtype=np.float32)
        collection = self.collection()
        for start in range(0, len(ids), BATCH_ROWS):
            end = start + BATCH_ROWS
            collection.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=texts[start:end],
                metadatas=metadatas[start:end],
            )
        return len(ids)

    def remove(self, article_id: str) -> None:
        # A where filter on a write: rare, and the unit ids of older versions are not known here.
        self.collection().delete(where={"article_id": str(article_id)})
        self._changed()

    def rebuild(self, articles: Iterable, *, progress: Callable | None = None, batch: int = 64) -> int:
        """Drop and refill the collection (`manage.py reindex`), `batch` articles per embedding
        call and write; the units written."""
        from knowledge import policies

        self.drop()
        written, pending = 0, []
        for article in progress(articles) if progress else articles:
            if policies.ai_reads(article):
                pending.append(article)
            if len(pending) >= batch:
                written += self._write(pending)
                pending = []
        if pending:
            written += self._write(pending)
        self._changed()
        return written

    def current(self, articles: Iterable) -> bool:
        """Whether the collection holds these articles' units as this code cuts them: their first
        unit, at their current version, under this code's ids. False after an upgrade that changed
        the units (their ids carry the format), or when articles were written while the index was
        away: `manage.py reindex --if-stale` rebuilds then."""
        ids = [unit_key(article, 0) for article in articles]
        if not ids:
            return True
        found = self._read(lambda c: c.get(ids=ids, include=[]))
        return len(found["ids"]) == len(ids)

    def indexed(self, article_ids: Iterable[str]) -> set[str]:
        """Which of these articles have units in the collection."""
        wanted = [str(pk) for pk in article_ids]
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            got = self._read(lambda c, part=part: c.get(where={"article_id": {"$in": part}}, include=["metadatas"]))
            found |= {str((meta or {}).get("article_id", "")) for meta in got.get("metadatas") or []}
        return found

    # --- reads ----------------------------------------------------------------------------

    def _read(self, ask: Callable):
        """`ask(collection)`; with the embedded index, once more after reopening it if it fails: another
        process wrote it and this process's Chroma caches are stale ("Nothing found on disk")."""
        from chromadb.errors import InternalError

        try:
            return ask(self.collection())
        except InternalError:
            if settings.CHROMA_URL:
                raise
            chroma._reopen_embedded()
            return ask(self.collection())

    def _nearest(self, embedding: np.ndarray, level: int, n: int) -> list[tuple[str, float]]:
        """(article id, cosine) of the `n` units of visibility `level` or below nearest to
        `embedding`, nearest first. Most units are readable by everyone, so first one unfiltered
        query `OVERFETCH` times larger, its unreadable units dropped; only when too few are left,
        one query with a `where` filter (a filter costs Chroma far more than the larger query)."""
        from chromadb.errors import InvalidArgumentError

        include = ["metadatas", "distances"]
        vector = [np.asarray(embedding, dtype=np.float32)]
        unfiltered = level >= self._top_level()
        wanted = n if unfiltered else n * OVERFETCH
        try:
            found = self._read(lambda c: c.query(query_embeddings=vector, n_results=wanted, include=include))
        except InvalidArgumentError:  # vectors of another width: an index of another model, not rebuilt yet
            return []
        hits = self._readable_hits(found, level)
        if not unfiltered and len(hits) < n and len(found["ids"][0]) == wanted:
            where = {"visibility": {"$lte": int(level)}}
            found = self._read(lambda c: c.query(query_embeddings=vector, n_results=n, where=where, include=include))
            hits = self._readable_hits(found, level)
        return hits[:n]

    @staticmethod
    def _top_level() -> int:
        from knowledge.models import Visibility

        return max(Visibility.values)

    @staticmethod
    def _readable_hits(found: dict, level: int) -> list[tuple[str, float]]:
        return [
            (str(meta.get("article_id", "")), 1.0 - float(distance))
            for meta, distance in zip(found["metadatas"][0], found["distances"][0], strict=True)
            if int((meta or {}).get("visibility", UNREADABLE)) <= level
        ]

    def _units(self, reader, article_ids: list[str]) -> Units:
        """Every unit of these articles that the AI may read for `reader` (read back through
        knowledge.policies first, so nothing else is ranked), in text order, with its vector.
        The units are cut again from the database row (the index cut them the same way); only
        their vectors are read from Chroma, by id ("<article>:<version>:<n>": a unit of another
        version, not re-indexed yet, is left out)."""
        from knowledge import policies
        from knowledge.models import Article

        rows = (
            Article.objects.filter(policies.ai_readable_articles(reader), pk__in=article_ids)
            .only("id", "title", "version", "summary", "body")
            .in_bulk()
        )
        ids, article_of, units, positions = [], [], [], []
        titles = {}
        for article_id in article_ids:
            article = rows.get(article_id)
            if article is None:
                continue
            titles[article_id] = article.title
            for n, unit in enumerate(article_units(article)):
                ids.append(unit_key(article, n))
                article_of.append(article_id)
                units.append(unit)
                positions.append(n)
        found = self._read(lambda c: c.get(ids=ids, include=["embeddings"])) if ids else {"ids": []}
        row_of = {unit_id: row for row, unit_id in enumerate(found["ids"])}
        vectors = vectors_of(found)
        keep = [i for i, unit_id in enumerate(ids) if unit_id in row_of]
        grouped: dict[str, list[int]] = {}
        for row, i in enumerate(keep):
            grouped.setdefault(article_of[i], []).append(row)
        return Units(
            titles=titles,
            article_ids=[article_of[i] for i in keep],
            texts=[units[i].text for i in keep],
            indexed=[units[i].indexed for i in keep],
            vectors=vectors[[row_of[ids[i]] for i in keep]] if keep else vectors[:0],
            positions=np.asarray([positions[i] for i in keep], dtype=np.int32),
            blocks=np.asarray([units[i].block for i in keep], dtype=np.int32),
            passages=np.asarray([units[i].passage for i in keep], dtype=bool),
            rows_of={article_id: np.asarray(rows_, dtype=np.int64) for article_id, rows_ in grouped.items()},
        )

    def rank(self, *, reader, question: str, embedding: np.ndarray, limit: int = 10) -> list[Source]:
        """The articles `reader` may read that answer `question` best (hybrid: keyword and
        vector over their units), best first, each with all its units scored."""
        from knowledge import policies, selectors

        level = policies.max_visibility(reader)
        candidates: dict[str, None] = {}
        for article_id, _ in self._nearest(embedding, level, NEAREST_UNITS):
            candidates.setdefault(article_id, None)
            if len(candidates) >= VECTOR_ARTICLES:
                break
        for hit in selectors.ai_keyword_hits(user=reader, text=question, limit=KEYWORD_ARTICLES):
            candidates.setdefault(str(hit.article_id), None)
        units = self._units(reader, list(candidates))
        if not units.texts:
            return []
        index = HybridIndex(units.indexed, units.vectors, kinds=units.passages)
        rows, fused, cosine = index.rank(question, embedding, level=0)
        return build_sources(
            best=top_sources(rows, fused, units.article_ids, limit, passages=units.passages, rows_of=units.rows_of),
            titles=units.titles,
            rows=rows,
            fused=fused,
            cosine=cosine,
            rows_of=units.rows_of,
            texts=units.texts,
            positions=units.positions,
            blocks=units.blocks,
            limit=limit,
            passages=units.passages,
        )

    def search(self, *, reader, embedding: np.ndarray, limit: int = 10, question: str = "") -> list[Passage]:
        """The articles `reader` may read nearest to `embedding`, best first, one passage each
        (its text as indexed: prose and numbered steps; score: its best unit's cosine). With
        `question`, ranked hybrid (keyword and vector); without, by cosine alone."""
        if question:
            sources = self.rank(reader=reader, question=question, embedding=embedding, limit=limit)
            return [
                Passage(s.passage.id, "article", s.passage.title, s.passage.text, float(s.best_cosine)) for s in sources
            ]
        from knowledge import policies

        best: dict[str, float] = {}
        for article_id, score in self._nearest(embedding, policies.max_visibility(reader), NEAREST_UNITS):
            best.setdefault(article_id, score)
            if len(best) >= limit + 5:
                break
        units = self._units(reader, list(best))
        kept = [article_id for article_id in best if article_id in units.rows_of][:limit]
        return [Passage(pk, "article", units.titles[pk], joined(units.of(pk)), best[pk]) for pk in kept]

    def best_cosines(self, vectors: np.ndarray, level: int) -> np.ndarray:
        """For each vector, the cosine of the nearest unit of visibility `level` or below (0 when
        there is none): ai_assist.gaps' test of whether the knowledge base covers a question."""
        best = np.zeros(len(vectors), dtype=np.float32)
        if not len(vectors):
            return best
        where = None if level >= self._top_level() else {"visibility": {"$lte": int(level)}}
        found = self._read(
            lambda c: c.query(
                query_embeddings=np.asarray(vectors, dtype=np.float32), n_results=1, where=where, include=["distances"]
            )
        )
        for i, distances in enumerate(found["distances"]):
            if len(distances):
                best[i] = 1.0 - float(distances[0])
        return best

    def generation(self) -> str:
        """The collection's stamp: it changes with every write (what ai_assist.gaps keys its cache on)."""
        return chroma.generation(self.name)
