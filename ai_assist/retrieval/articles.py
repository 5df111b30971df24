"""The article-unit corpus: collection `helpdesk_kb`, the knowledge base sentence by sentence.

Which articles the AI reads is knowledge.policies' rule (`ai_reads`: published ones only). An
article is cut into units (ai_assist.ml.answer.units_of: its summary and body, sentence by
sentence, a list step being one unit), one vector each; each unit keeps its article's id,
version, visibility (the lowest role that may read it), category, title, its position and the
list it belongs to. Units, not 1,000-character chunks: on the development set a question's best
sentence finds the right article far more often than its best chunk (docs/ai.md).

The snapshot holds the visibilities as one array, so the rows an asker may read are a comparison
computed before ranking, with no database round trip and no Chroma filter; ranking is hybrid
(ai_assist.ml.answer.HybridIndex: BM25 per visibility level + cosine, fused by z-scores over the
readable rows). The articles of the best rows are then read back through knowledge.policies
(`ai_readable_articles`), so an article hidden since it was indexed never reaches the asker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ai_assist import embeddings
from ai_assist.ml.answer import HybridIndex, Source, build_sources, joined, top_sources, units_of
from ai_assist.ml.compose import Passage
from ai_assist.retrieval.corpus import Corpus, vectors_of

KB = "helpdesk_kb"
BATCH_ROWS = 2_000  # records per Chroma write in a rebuild


def article_text(article) -> str:
    """What the index reads of an article: summary and body (the title is kept beside each unit)."""
    return "\n\n".join(part for part in (article.summary, article.body) if part) or article.title


def article_units(article) -> list[tuple[str, int]]:
    return units_of(article_text(article))


@dataclass
class ChunkSnapshot:
    """Every unit in memory, row by row: ranking and the readers' masks run over these."""

    generation: str
    ids: list[str]  # "<article id>:<version>:<n>"
    article_ids: list[str]
    titles: list[str]
    texts: list[str]  # as written (not normalised): what an answer quotes
    visibility: np.ndarray  # per row, the lowest role that may read the article
    vectors: np.ndarray
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    blocks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    rows_of: dict[str, np.ndarray] = field(default_factory=dict)  # article id -> its rows in text order
    _index: HybridIndex | None = None
    _index_lock: threading.Lock = field(default_factory=threading.Lock)

    def index(self) -> HybridIndex:
        """The hybrid index over these rows (built on first use: about 2 s per 10,000 articles)."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    self._index = HybridIndex(self.texts, self.vectors, self.visibility)
        return self._index

    def article_units(self, article_id: str) -> list[tuple[str, int]]:
        return [(self.texts[row], int(self.blocks[row])) for row in self.rows_of.get(article_id, ())]


class ArticleChunkCorpus(Corpus[ChunkSnapshot]):
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
        ids, texts, metadatas = [], [], []
        for article in articles:
            units = article_units(article)
            metadata = {
                "article_id": str(article.pk),
                "version": int(article.version),
                "visibility": int(article.visibility),
                "category": article.category.name if article.category_id else "",
                "title": article.title[:200],
            }
            for n, (text, block) in enumerate(units):
                ids.append(f"{article.pk}:{article.version}:{n}")
                texts.append(text)
                metadatas.append({**metadata, "chunk": n, "block": block})
        if not ids:
            return 0
        vectors = np.asarray(embeddings.embedder().embed(texts), dtype=np.float32)
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

    # --- reads ----------------------------------------------------------------------------

    def _load(self, data: dict, generation: str) -> ChunkSnapshot:
        metadatas = [meta or {} for meta in data.get("metadatas") or []]
        article_ids = [str(meta.get("article_id", "")) for meta in metadatas]
        positions = np.asarray([int(meta.get("chunk", 0)) for meta in metadatas], dtype=np.int32)
        grouped: dict[str, list[int]] = {}
        for row, article_id in enumerate(article_ids):
            grouped.setdefault(article_id, []).append(row)
        return ChunkSnapshot(
            generation=generation,
            ids=list(data["ids"]),
            article_ids=article_ids,
            titles=[str(meta.get("title", "")) for meta in metadatas],
            texts=list(data.get("documents") or []),
            # An unknown visibility is readable by nobody.
            visibility=np.asarray([int(meta.get("visibility", 1_000)) for meta in metadatas], dtype=np.int32),
            vectors=vectors_of(data),
            positions=positions,
            blocks=np.asarray([int(meta.get("block", 0)) for meta in metadatas], dtype=np.int32),
            rows_of={
                article_id: np.asarray(sorted(rows, key=lambda row: positions[row]), dtype=np.int64)
                for article_id, rows in grouped.items()
            },
        )

    def readable(self, snapshot: ChunkSnapshot, reader) -> np.ndarray:
        """The rows `reader` may read: the mask applied before any ranking."""
        from knowledge import policies

        return snapshot.visibility <= policies.max_visibility(reader)

    def rank(self, *, reader, question: str, embedding: np.ndarray, limit: int = 10) -> list[Source]:
        """The articles `reader` may read that answer `question` best (hybrid: keyword and
        vector over their units), best first, each with all its units scored."""
        from knowledge import policies
        from knowledge.models import Article

        snapshot = self.snapshot()
        if not snapshot.ids or snapshot.vectors.shape[1] != len(embedding):
            return []
        rows, fused, cosine = snapshot.index().rank(question, embedding, level=policies.max_visibility(reader))
        if not len(rows):
            return []
        # A few spare, for articles hidden since they were indexed (dropped by the read-back).
        best = top_sources(rows, fused, snapshot.article_ids, limit + 5)
        titles = dict(
            Article.objects.filter(policies.ai_readable_articles(reader), pk__in=list(best)).values_list("id", "title")
        )
        return build_sources(
            best=best,
            titles=titles,
            rows=rows,
            fused=fused,
            cosine=cosine,
            rows_of=snapshot.rows_of,
            texts=snapshot.texts,
            positions=snapshot.positions,
            blocks=snapshot.blocks,
            limit=limit,
        )

    def search(self, *, reader, embedding: np.ndarray, limit: int = 10, question: str = "") -> list[Passage]:
        """The articles `reader` may read nearest to `embedding`, best first, one passage each
        (its text as indexed: prose and numbered steps; score: its best unit's cosine). With
        `question`, ranked hybrid (keyword and vector); without, by cosine alone."""
        snapshot = self.snapshot()
        if not snapshot.ids or snapshot.vectors.shape[1] != len(embedding):
            return []
        if question:
            sources = self.rank(reader=reader, question=question, embedding=embedding, limit=limit)
            return [
                Passage(s.passage.id, "article", s.passage.title, s.passage.text, float(s.best_cosine)) for s in sources
            ]
        from knowledge import policies
        from knowledge.models import Article

        rows = np.flatnonzero(self.readable(snapshot, reader))
        if not len(rows):
            return []
        scores = snapshot.vectors[rows] @ np.asarray(embedding, dtype=np.float32)
        best: dict[str, float] = {}
        for i in np.argsort(-scores, kind="stable").tolist():
            article_id = snapshot.article_ids[rows[i]]
            if article_id not in best:
                best[article_id] = float(scores[i])
                if len(best) >= limit + 5:
                    break
        titles = dict(
            Article.objects.filter(policies.ai_readable_articles(reader), pk__in=list(best)).values_list("id", "title")
        )
        return [
            Passage(article_id, "article", titles[article_id], joined(snapshot.article_units(article_id)), score)
            for article_id, score in best.items()
            if article_id in titles
        ][:limit]
