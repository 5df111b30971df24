"""The chatbot's cross-validation bench (bench/ai_answer_cv.py) models the serving path's candidate
step (decision 0035): its keyword leg must rank as the knowledge base's full-text search does."""

from __future__ import annotations

import importlib
import json

import pytest
from django.db import connection

from accounts.models import Role
from bench.ai_answer_cv import FTS_TOKENIZER, FTS_WEIGHTS, KeywordLeg
from knowledge import selectors
from knowledge import services as kb
from knowledge.models import Visibility
from tests.ai_assist.conftest import DATA
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_bench_keeps_the_full_text_search_constants():
    from knowledge.search.sqlite import WEIGHTS

    migration = importlib.import_module("knowledge.migrations.0002_search_index")
    assert FTS_WEIGHTS == WEIGHTS
    assert any(f"tokenize = '{FTS_TOKENIZER}'" in sql for sql in migration.SQLITE_INSTALL)


QUESTIONS = [
    "Which printer on the third floor prints in colour?",
    "How often are company laptops replaced?",
    "What is the name of the guest Wi-Fi network for visitors?",
    "network printer laptop",
    "VPN profile for hotel networks",
    "the",
]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the bench models the SQLite backend")
def test_the_bench_keyword_leg_ranks_as_the_knowledge_base_search():
    rows = [json.loads(line) for line in (DATA / "kb_tiny" / "corpus.jsonl").read_text().splitlines() if line]
    admin = UserFactory(role=Role.ADMIN)
    employee = UserFactory(role=Role.EMPLOYEE)
    made = {}
    for row in rows:
        article = kb.article_create(actor=admin, title=row["title"], body=row["text"], visibility=Visibility.EVERYONE)
        made[str(kb.article_publish(actor=admin, article=article).pk)] = row["_id"]
    leg = KeywordLeg(rows)
    for question in QUESTIONS:
        for limit in (1, 3, 5):
            served = [
                made[str(h.article_id)] for h in selectors.ai_keyword_hits(user=employee, text=question, limit=limit)
            ]
            assert leg.best(question, limit) == served, question


def test_coverage_weighs_the_questions_rare_terms():
    from bench.ai_noanswer_signals import auc, coverage

    weight = {"vpn": 5.0, "office": 1.0}.__getitem__
    assert coverage({"vpn", "office"}, {"office"}, weight) == pytest.approx(1 / 6)
    assert coverage({"vpn", "office"}, {"vpn", "office", "other"}, weight) == 1.0
    assert coverage(set(), {"vpn"}, weight) == 1.0  # a question of stop words only: nothing to miss
    assert auc([0.9, 0.8], [0.1, 0.8]) == pytest.approx(0.875)
