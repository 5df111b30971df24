"""How far an agent's final text is from the AI's draft: the Levenshtein distance over words.

Words, not characters: an agent who rewrites one word of a long reply made one edit, not six,
and a distance in words reads as "how many words changed". A word is a run of characters
between white space, compared exactly (case and punctuation count: "[1]" removed is one edit);
line breaks and repeated spaces do not count. Insertions, deletions and substitutions cost 1.

Each row of the dynamic programme is one set of numpy operations (the insertion chain as a
running minimum), so two 3,000-word texts take about 0.1 s instead of seconds in pure Python.
Pure code (no Django).
"""

from __future__ import annotations

import numpy as np


def words(text: str) -> list[str]:
    return (text or "").split()


def word_edit_distance(before: str, after: str) -> int:
    """Insertions, deletions and substitutions of words that turn `before` into `after`."""
    a, b = words(before), words(after)
    if not a or not b:
        return max(len(a), len(b))
    # Words as integers, so a row compares with one vector operation.
    vocabulary: dict[str, int] = {}
    a_ids = np.array([vocabulary.setdefault(word, len(vocabulary)) for word in a], dtype=np.int64)
    b_ids = np.array([vocabulary.setdefault(word, len(vocabulary)) for word in b], dtype=np.int64)
    columns = np.arange(len(b) + 1, dtype=np.int64)
    previous = columns.copy()
    for i, word in enumerate(a_ids, start=1):
        substitution = previous[:-1] + (b_ids != word)
        deletion = previous[1:] + 1
        best = np.empty_like(previous)
        best[0] = i
        best[1:] = np.minimum(substitution, deletion)
        # Insertions: best[j] = min(best[j], best[j-1] + 1), i.e. a running minimum of best[j] - j.
        previous = np.minimum.accumulate(best - columns) + columns
    return int(previous[-1])
