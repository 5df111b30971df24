"""Text features shared by the router and the similar-ticket ranker: fitted once, used by both.

Word 1-2 grams of the whole text, word 1-2 grams of the title alone (titles are short and
telling), character 2-5 grams (robust to the anonymised, telegraphic wording) and the sentence
embedding, side by side in one sparse matrix. Each block is L2-normalised by its vectoriser, so
the weights say how much each view counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from ai_assist.ml.text import normalise


class TextFeatures:
    def __init__(self, *, char: bool = True, title_weight: float = 1.0, embedding_weight: float = 0.5):
        self.char = char
        self.title_weight = title_weight
        self.embedding_weight = embedding_weight

    def fit(self, texts: Sequence[str], titles: Sequence[str]) -> TextFeatures:
        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32).fit(texts)
        self.title_words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
        titles = [normalise(title) for title in titles]
        if any(titles):
            self.title_words.fit(titles)
        else:
            self.title_words = None
        self.chars = (
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32).fit(
                texts
            )
            if self.char and len(texts) > 1
            else None
        )
        return self

    def transform(self, texts: Sequence[str], titles: Sequence[str], embeddings: np.ndarray) -> sparse.csr_matrix:
        blocks = [self.words.transform(texts)]
        if self.title_words is not None:
            blocks.append(self.title_words.transform([normalise(title) for title in titles]) * self.title_weight)
        if self.chars is not None:
            blocks.append(self.chars.transform(texts))
        if self.embedding_weight:
            blocks.append(sparse.csr_matrix(np.asarray(embeddings, dtype=np.float32) * self.embedding_weight))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)
