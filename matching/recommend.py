"""Rank short texts (shared resources) against a query (a chat topic) with TF-IDF.

The library's documents are a resource's title, the line on why it helped and its tags; the
query is a topic's title, description and tags. Both are short, so the ranking is plain
cosine similarity of TF-IDF vectors (sublinear term frequency, English stop words removed,
accents stripped) with a floor below which nothing is recommended: an unrelated link is
worse than none.

Fit once on the documents, then rank as many queries as needed: a monthly round ranks the
library once per distinct topic, not once per person.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

__all__ = ["ResourceRanker", "rank_resources"]


def _check_texts(texts: object, name: str) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"{name} must be a sequence of strings, got {type(texts).__name__}")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{index}] must be a string, got {type(text).__name__}")
    return list(texts)


def _check_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
    return limit


class ResourceRanker(BaseEstimator):
    """Rank documents by TF-IDF cosine similarity to a query.

    Parameters
    ----------
    min_score : float, default=0.05
        Documents whose cosine similarity to the query is below this are never returned.
        Must be in ``[0, 1]``; with 0, every document sharing at least one term qualifies
        (a similarity of exactly 0 never does).
    ngram_range : tuple of int, default=(1, 2)
        Word n-grams used as terms; bigrams make "patient safety" closer to
        "patient safety huddles" than to "patient experience".
    stop_words : {"english"} or None, default="english"
        Words ignored by the vectorizer.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer or None
        The fitted vectorizer; None when the documents have no usable term at all.
    matrix_ : scipy.sparse.csr_matrix or None
        L2-normalised TF-IDF rows of the fitted documents.
    n_documents_ : int
        Number of documents seen in :meth:`fit`.

    Examples
    --------
    >>> ranker = ResourceRanker().fit(["Sleep after night shifts", "Grant writing tips"])
    >>> ranker.rank("Night shift sleep and recovery", limit=2)
    [0]
    """

    def __init__(
        self,
        *,
        min_score: float = 0.05,
        ngram_range: tuple[int, int] = (1, 2),
        stop_words: str | None = "english",
    ) -> None:
        self.min_score = min_score
        self.ngram_range = ngram_range
        self.stop_words = stop_words

    def _check_params(self) -> None:
        score = self.min_score
        if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
            raise ValueError(f"min_score must be a number in [0, 1], got {score!r}")
        low, high = self.ngram_range
        if not (1 <= low <= high):
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, got "
                             f"{self.ngram_range!r}")

    def fit(self, documents: Sequence[str]) -> ResourceRanker:
        """Learn the vocabulary and IDF of ``documents`` and keep their vectors.

        Parameters
        ----------
        documents : sequence of str
            One text per resource; empty strings are allowed (they never match).

        Returns
        -------
        self : ResourceRanker
        """
        self._check_params()
        texts = _check_texts(documents, "documents")
        self.n_documents_ = len(texts)
        vectorizer = TfidfVectorizer(
            ngram_range=self.ngram_range,
            stop_words=self.stop_words,
            strip_accents="unicode",
            sublinear_tf=True,
        )
        try:
            self.matrix_ = vectorizer.fit_transform(texts).tocsr() if texts else None
            self.vectorizer_ = vectorizer if texts else None
        except ValueError:  # "empty vocabulary": only stop words, digits or punctuation
            self.matrix_ = None
            self.vectorizer_ = None
        return self

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each query to each fitted document.

        Parameters
        ----------
        queries : sequence of str

        Returns
        -------
        scores : ndarray of shape (n_queries, n_documents)
            Values in ``[0, 1]``; all zeros when nothing was learnt in :meth:`fit`.
        """
        check_is_fitted(self, "n_documents_")
        texts = _check_texts(queries, "queries")
        if self.vectorizer_ is None or self.matrix_ is None:
            return np.zeros((len(texts), self.n_documents_))
        query_matrix = self.vectorizer_.transform(texts)
        return np.asarray((query_matrix @ self.matrix_.T).toarray(), dtype=float)

    def rank_many(self, queries: Sequence[str], *, limit: int = 2) -> list[list[int]]:
        """The best documents for each query, best first.

        Parameters
        ----------
        queries : sequence of str
        limit : int, default=2
            At most this many indices per query.

        Returns
        -------
        ranked : list of list of int
            For each query, indices into the fitted documents with a score of at least
            ``min_score`` (and above 0). Ties keep the documents' order, so callers put the
            tie-break (e.g. most appreciated, then newest) into the order they fit.
        """
        limit = _check_limit(limit)
        all_scores = self.scores(queries)
        ranked = []
        for row in all_scores:
            # Stable sort on the negated score: equal scores keep the document order.
            order = np.argsort(-row, kind="stable")
            keep = [int(i) for i in order[:limit] if row[i] > 0 and row[i] >= self.min_score]
            ranked.append(keep)
        return ranked

    def rank(self, query: str, *, limit: int = 2) -> list[int]:
        """The best documents for one query, best first; see :meth:`rank_many`."""
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}")
        return self.rank_many([query], limit=limit)[0]


def rank_resources(
    query_text: str, documents: Sequence[str], *, limit: int = 2, min_score: float = 0.05
) -> list[int]:
    """Indices of the ``limit`` documents most similar to ``query_text``, best first.

    A one-shot shortcut for ``ResourceRanker(min_score=min_score).fit(documents).rank(...)``.

    Parameters
    ----------
    query_text : str
        What to match, e.g. a topic's title, description and tags.
    documents : sequence of str
        One text per candidate, e.g. a resource's title, why and tags.
    limit : int, default=2
    min_score : float, default=0.05
        See :class:`ResourceRanker`.

    Returns
    -------
    list of int

    Examples
    --------
    >>> rank_resources("wellbeing and burnout", ["Burnout: a practical guide", "Excel macros"])
    [0]
    """
    return ResourceRanker(min_score=min_score).fit(documents).rank(query_text, limit=limit)
