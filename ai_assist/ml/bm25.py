"""Okapi BM25, the one implementation: the formula (`okapi_idf`, `lucene_idf`, `term_weights`) and
`BM25`, an index of whole texts as one sparse matrix product.

Two rankers use it, each with the idf it was tuned with (changing either changes its figures):
- `BM25` (similar tickets, the ticket corpus's questions, the evaluations' baselines): rank_bm25's
  BM25Okapi (idf with its epsilon floor, k1 1.5; a test checks the scores equal), one sparse
  product per query instead of a Python loop over every document per query term (about 0.2 ms
  instead of 10 ms at 5k tickets);
- ai_assist.ml.answer.HybridIndex (article units): `lucene_idf` (never negative), k1 1.2, fitted
  per visibility level and kind of unit over its own rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ai_assist.ml.text import normalised_tokens, tokens


def okapi_idf(doc_freq: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
    """rank_bm25's idf: log((N - df + 0.5) / (df + 0.5)), a negative one floored at epsilon times the mean."""
    idf = np.log(n_docs - doc_freq + 0.5) - np.log(doc_freq + 0.5)
    if len(idf):
        idf = np.where(idf < 0, epsilon * idf.mean(), idf)
    return idf


def lucene_idf(doc_freq: np.ndarray, n_docs: int) -> np.ndarray:
    """Lucene's idf: log(1 + (N - df + 0.5) / (df + 0.5)), never negative."""
    return np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def term_weights(
    tf: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    idf: np.ndarray,
    lengths: np.ndarray,
    average_length: float,
    *,
    k1: float,
    b: float,
) -> np.ndarray:
    """BM25's weight of each (row, term) count `tf`: idf times the saturated, length-normalised count."""
    norm = k1 * (1 - b + b * lengths / (average_length or 1.0))
    return idf[cols] * tf * (k1 + 1) / (tf + norm[rows])


class BM25:
    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.vocabulary: dict[str, int] = {}
        self.matrix: sparse.csr_matrix | None = None  # documents x terms, BM25 weight per term

    def fit(self, documents: Sequence[str], *, normalised: bool = False) -> BM25:
        """`normalised`: the documents are ai_assist.ml.text.normalise'd already (ticket texts and
        documents are), so tokenising skips doing it again; the tokens are the same."""
        split = normalised_tokens if normalised else tokens
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(documents), dtype=np.float64)
        vocabulary = self.vocabulary
        for row, document in enumerate(documents):
            words = split(document)
            lengths[row] = len(words)
            bag = Counter(words)  # counted in C, in order of first use: the same columns as word by word
            rows += [row] * len(bag)
            cols += [vocabulary.setdefault(word, len(vocabulary)) for word in bag]
            counts += bag.values()
        n_docs, n_terms = len(documents), len(self.vocabulary)
        tf = sparse.csr_matrix((np.asarray(counts, dtype=np.float64), (rows, cols)), shape=(n_docs, n_terms))
        doc_freq = np.bincount(np.asarray(cols, dtype=np.int64), minlength=n_terms).astype(np.float64)
        idf = okapi_idf(doc_freq, n_docs, self.epsilon)
        avg_length = lengths.mean() if n_docs else 0.0
        tf = tf.tocoo()
        weights = term_weights(tf.data, tf.row, tf.col, idf, lengths, avg_length, k1=self.k1, b=self.b)
        self.matrix = sparse.csr_matrix((weights, (tf.row, tf.col)), shape=(n_docs, n_terms))
        self._columns = self.matrix.tocsc()  # one query reads only its terms' columns
        return self

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every document for one query."""
        out = np.zeros(self.matrix.shape[0], dtype=np.float64)
        counts: dict[int, int] = {}
        for word in tokens(text):
            col = self.vocabulary.get(word)
            if col is not None:
                counts[col] = counts.get(col, 0) + 1
        columns = self._columns
        for col, count in counts.items():
            start, end = columns.indptr[col], columns.indptr[col + 1]
            out[columns.indices[start:end]] += count * columns.data[start:end]
        return out
