"""Retrieval: the vector index (Chroma, a store derived from the database) as one corpus per
collection, each owning its writes and its search.

- `chroma`: the client of this process, collections, other processes' writes, and the article
  collection's generation stamp;
- `corpus`: the article corpus's base (a collection and this process's snapshot of it);
- `tickets`: `TicketCorpus` (one vector per ticket's public text), searched where the data lives:
  Chroma's HNSW index and the database's full-text index, no copy per process (decision 0033);
- `articles`: `ArticleChunkCorpus` (published articles sentence by sentence, with their visibility;
  candidates from Chroma's HNSW index and the database's full-text search, ranked hybrid; no
  copy in the process: docs/decisions/0035);
- `similar`: similar-ticket ranking over the candidates the ticket corpus gathers.

Visibility is applied before ranking. Tickets: the candidates are kept through tickets.policies'
scope (a database query) before anything is ranked; article units: their visibility against
knowledge.policies, checked on each unit Chroma returns. The hits are read back through the same rule.
`manage.py reindex` rebuilds both collections; ai_assist.subscribers keeps them current.
"""

from __future__ import annotations

from ai_assist.retrieval import chroma
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
    """Forget the client and what each corpus remembers (tests point VAR_DIR elsewhere)."""
    chroma.reset_client()
    _tickets.forget()
    _articles.forget()
