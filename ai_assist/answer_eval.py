"""`manage.py ai_eval answer`: the chatbot measured end to end on a BEIR-format question set.

In a throwaway database (Django's test-database set-up: SQLite in memory by default, `test_<name>`
on PostgreSQL or MongoDB) and a throwaway embedded Chroma index in a temporary directory, with
no language model: the corpus becomes published, everyone-visible articles through the knowledge
services, indexed by the real index code; then every question is asked through the chat service
(`ai_assist.chat.ask`) as a signed-in employee, each in a new conversation. Measured: the rank of
the gold article among the ranked sources the answer was built from, whether it answered, whether
the answer holds the gold answer, the honest no-answer on `--unanswerable` questions, whether
every citation points at a retrieved article the asker may read, and the time per question;
beside plain BM25 over whole articles in the same run (ai_assist.ml.qa_eval).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.test.utils import override_settings, setup_databases, teardown_databases

from ai_assist.ml.qa_eval import QaSet, Query, bm25_baseline, holds_answer, percentile, ranking_measures

MAX_TITLE = 200


@contextmanager
def throwaway() -> Iterator[Path]:
    """A fresh database and index for the run, removed afterwards; no LLM, no routing."""
    from ai_assist import retrieval, store

    folder = Path(tempfile.mkdtemp(prefix="ai-eval-"))
    with override_settings(
        AI_DIR=folder / "ai", CHROMA_URL="", AI_LLM_MODEL="", AI_LLM_BASE_URL="", AI_AUTO_ROUTE=False
    ):
        retrieval.reset()
        store.forget()
        databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        try:
            yield folder
        finally:
            teardown_databases(databases, verbosity=0)
            retrieval.reset()
            store.forget()
            shutil.rmtree(folder, ignore_errors=True)


def _person(email: str, role) -> object:
    from accounts.models import User

    user = User(email=email, role=role, first_name="Eval", is_active=True)
    user.set_unusable_password()
    user.save()
    return user


def load_corpus(rows: list[dict], *, progress: Callable = iter) -> dict[str, str]:
    """Each row as a published, everyone-visible article (knowledge services, events, index);
    returns article id -> corpus id."""
    from accounts.models import Role
    from ai_assist import retrieval
    from knowledge import services as kb
    from knowledge.models import Article, Visibility

    author = _person("ai-eval-author@example.invalid", Role.ADMIN)
    made: dict[str, str] = {}
    for row in progress(rows):
        text = (row.get("text") or "").strip()
        title = " ".join((row.get("title") or "").split())[:MAX_TITLE] or text[:80] or str(row["_id"])
        article = kb.article_create(actor=author, title=title, body=text or title, visibility=Visibility.EVERYONE)
        kb.article_publish(actor=author, article=article)
        made[article.pk] = str(row["_id"])
    # The events index each article as it is published; one the delivery has not reached yet
    # (a broker configured, a retry pending) is indexed by the same code here.
    corpus = retrieval.article_corpus()
    indexed = corpus.indexed(made)
    for article in Article.objects.filter(pk__in=[pk for pk in made if pk not in indexed]).select_related("category"):
        corpus.upsert(article)
    return made


def evaluate_answers(
    qa: QaSet,
    *,
    unanswerable: list[Query] | None = None,
    progress: Callable[[list, str], object] | None = None,
) -> dict:
    """Every figure of `ai_eval answer` (see the module docstring)."""
    from accounts.models import Role
    from ai_assist import chat
    from ai_assist.answering import ground

    def bar(items, label):
        return progress(items, label) if progress else items

    golds = [qa.qrels.get(query.id, set()) for query in qa.queries]
    judged = [i for i, gold in enumerate(golds) if gold]
    baseline = bm25_baseline(qa.corpus, [qa.queries[i] for i in judged], [golds[i] for i in judged])
    with throwaway():
        corpus_id = load_corpus(qa.corpus, progress=lambda rows: bar(rows, "Loading articles"))
        employee = _person("ai-eval-employee@example.invalid", Role.EMPLOYEE)
        rankings, answered, hits, with_answer, times = [], [], [], [], []
        citations = valid = 0
        for query in bar(qa.queries, "Asking"):
            started = time.perf_counter()
            result = chat.ask(user=employee, message=query.text)
            times.append((time.perf_counter() - started) * 1000)
            ranked_articles = [s["id"] for s in result.sources if s["kind"] == "article"]
            rankings.append([corpus_id.get(article_id, "") for article_id in ranked_articles])
            got = result.answered and bool(result.citations)
            answered.append(got)
            retrieved = set(ranked_articles)
            citations += len(result.citations)
            valid += sum(1 for c in result.citations if c["kind"] == "article" and c["id"] in retrieved)
            if got and query.answers:
                with_answer.append(True)
                hits.append(holds_answer(result.text, query.answers))
        no_answer = []
        for query in bar(unanswerable or [], "Asking unanswerable"):
            started = time.perf_counter()
            result = chat.ask(user=employee, message=query.text)
            times.append((time.perf_counter() - started) * 1000)
            no_answer.append(not result.answered and not result.citations)
            citations += len(result.citations)
            retrieved = {s["id"] for s in result.sources if s["kind"] == "article"}
            valid += sum(1 for c in result.citations if c["kind"] == "article" and c["id"] in retrieved)
    measures = ranking_measures([rankings[i] for i in judged], [golds[i] for i in judged])
    return {
        "task": "answer",
        "articles": len(qa.corpus),
        "queries": len(qa.queries),
        "judged": len(judged),
        "unanswerable_queries": len(unanswerable or []),
        **measures,
        "answered": sum(answered) / (len(answered) or 1),
        "answer_hit": (sum(hits) / len(hits)) if hits else None,
        "no_answer": (sum(no_answer) / len(no_answer)) if no_answer else None,
        "citation_valid": (valid / citations) if citations else 1.0,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "model": ground.ANSWERER.name,
        "baseline": baseline,
    }
