"""Retrieval: the vector index (Chroma, a store derived from the database) as one corpus per
collection, each owning its writes and its search.

- `chroma`: the client of this process, collections, and each collection's generation stamp;
- `corpus`: what the corpora share (a collection and this process's snapshot of it);
- `tickets`: `TicketCorpus` (one vector per ticket's public text);
- `articles`: `ArticleChunkCorpus` (published articles sentence by sentence, with their visibility;
  candidates from Chroma's HNSW index and the database's full-text search, ranked hybrid; no
  copy in the process: docs/decisions/0035);
- `similar`: similar-ticket ranking over the ticket corpus.

Visibility is applied before ranking (tickets: a mask over the snapshot's rows, from the database
through tickets.policies; article units: their visibility against knowledge.policies, checked on
each unit Chroma returns), then the hits are read back through the same rule.
`manage.py reindex` rebuilds both collections; ai_assist.subscribers keeps them current.
"""

from __future__ import annotations

from ai_assist.retrieval.articles import ArticleChunkCorpus
from ai_assist.retrieval.tickets import TicketCorpus

_tickets = TicketCorpus()
_articles = ArticleChunkCorpus()


def ticket_corpus() -> TicketCorpus:
    """The process's ticket corpus."""
    return _tickets


def article_corpus() -> ArticleChunkCorpus:
    """The process's article-chunk corpus."""
    return _articles


def reset() -> None:
    """Forget the client, the snapshots and the ranker (tests point VAR_DIR elsewhere)."""
    from ai_assist.retrieval import chroma, similar

    chroma.reset_client()
    _tickets.forget()
    _articles.forget()
    similar.reset()
