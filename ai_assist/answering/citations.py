"""The citation check, the pipeline's last stage before logging: every AI text's markers [n]
(parsed by ai_assist.ml.markers) stand only where they name a passage the writer was
shown and a source the text's audience may read now. Every other marker is removed, whatever wrote
the text (a model, the extractive path, a thread quoted as written), so no text says [n] with no
citation n.

1. `keep_citations`: a model's markers that name a passage it was shown (any other is removed);
2. `checked_citations`: the citations the audience may read now (`audience.allowed_sources`,
   against the database as it is now), as the API shows them;
3. `cite`: both on one written text: the text with only the markers of its checked citations;
4. `only_listed`: a text shown again later (a stored chat turn) keeps only the markers of the
   citations that still pass; a text with no citations keeps none.
"""

from __future__ import annotations

from django.urls import reverse

from ai_assist.audience import Audience, SourceUse, allowed_sources
from ai_assist.ml import markers
from ai_assist.ml.passages import Passage, Written


def citation_url(kind: str, object_id: str) -> str:
    if kind == "article":
        return reverse("kb-article-detail", kwargs={"pk": object_id})
    return reverse("ticket-detail", kwargs={"pk": object_id})


def keep_citations(text: str, passages: list[Passage]) -> tuple[str, list[tuple[int, Passage]]]:
    """The markers [n] of a model's text that name a passage it was shown, in order of first use;
    any other marker is removed from the text."""
    kept = markers.keep_only(text, lambda n: 1 <= n <= len(passages))
    return kept, [(n, passages[n - 1]) for n in markers.numbers_in(kept)]


def checked_citations(*, audience: Audience, cited: list[tuple[int, Passage]]) -> list[dict]:
    """The citations `audience` may read now, as the API shows them: [{n, kind, id, title, url}]."""
    if not cited:
        return []
    allowed = allowed_sources(audience, [SourceUse(p.kind, p.id) for _, p in cited])
    return [
        {"n": n, "kind": p.kind, "id": p.id, "title": allowed[(p.kind, p.id)], "url": citation_url(p.kind, p.id)}
        for n, p in cited
        if (p.kind, p.id) in allowed
    ]


def only_listed(text: str, citations: list[dict]) -> str:
    """`text` with only the markers of `citations` (a marker of any other number is removed)."""
    numbers = {c["n"] for c in citations}
    return markers.keep_only(text, lambda n: n in numbers)


def cite(*, audience: Audience, written: Written) -> tuple[str, list[dict]]:
    """A written text and its checked citations: the marker of a citation that did not pass, or
    that names no citation at all, is removed."""
    citations = checked_citations(audience=audience, cited=written.cited)
    return only_listed(written.text, citations), citations
