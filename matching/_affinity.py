"""Pairwise affinity between participants: shared interests, complementarity, mix and reach.

Features are computed once per cohort (:class:`CohortFeatures`); dense affinity matrices are
only ever built for blocks of at most a few thousand people, so memory stays ``O(block^2)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from ._availability import slot_matrix, start_matrix
from ._people import MatchWeights, Person

__all__ = ["CohortFeatures", "normalize_phrase"]

_SPACES = re.compile(r"\s+")
#: Bonus (times ``no_common_time``) for a pair whose meeting-start vectors coincide fully.
_TIME_BONUS = 1.0
#: Share of ``seniority_mix`` charged for two seniors or two trainees in one group.
_SAME_LEVEL = 0.5


def normalize_phrase(text: str) -> str:
    """Lower-case, trim and collapse whitespace so 'Grant  Writing' matches 'grant writing'."""
    return _SPACES.sub(" ", text.strip().lower())


def _profile_text(person: Person) -> str:
    return " ; ".join([*person.interests, person.goals])


def _phrase_matrix(lists: Sequence[Sequence[str]], vocab: dict[str, int]) -> sparse.csr_matrix:
    rows, cols = [], []
    for i, phrases in enumerate(lists):
        for phrase in {normalize_phrase(p) for p in phrases}:
            if phrase in vocab:
                rows.append(i)
                cols.append(vocab[phrase])
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(lists), max(len(vocab), 1)))


def _codes(values: Sequence[str]) -> np.ndarray:
    """Integer codes per distinct non-empty value; -1 for blank (blank never counts as 'other')."""
    table: dict[str, int] = {}
    out = np.full(len(values), -1, dtype=np.int64)
    for i, value in enumerate(values):
        norm = normalize_phrase(value)
        if norm:
            out[i] = table.setdefault(norm, len(table))
    return out


def _typical_good_similarity(sim: np.ndarray, can_meet: np.ndarray | None = None,
                             k: int = 3) -> float:
    """Mean of each person's k-th best similarity: the cosine a "good match" has here.

    Interest cosines are small and cohort-dependent (0.05-0.3 with many distinct interests);
    dividing by this puts the interest term in units of a good match, comparable with the
    0/1 mix and department terms whatever the vocabulary. With ``can_meet`` (pairs sharing a
    30-minute window) only partners one can meet count: when availability is sparse, the
    best matches of the whole cohort are mostly out of reach, and measuring "good" by them
    would shrink the interest term exactly where every shared interest is hardest to find.
    """
    n = sim.shape[0]
    if n <= k:
        return 1.0
    off = np.array(sim, dtype=np.float64)
    np.fill_diagonal(off, -np.inf)
    kth = np.partition(off, n - k, axis=1)[:, n - k]
    if can_meet is not None:
        reachable = np.partition(np.where(can_meet, off, -np.inf), n - k, axis=1)[:, n - k]
        # Someone with fewer than k partners to meet keeps the cohort-wide measure.
        kth = np.where(np.isfinite(reachable), reachable, kth)
    value = float(np.maximum(kth, 0.0).mean())
    return value if value > 1e-6 else 1.0


@dataclass
class CohortFeatures:
    """Everything pairwise affinity needs, for one cohort and one round month.

    Build with :meth:`from_people`. ``tfidf`` rows are L2-normalized, so their dot product is
    the cosine similarity of interests and goals.
    """

    tfidf: sparse.csr_matrix
    teach: sparse.csr_matrix
    learn: sparse.csr_matrix
    offers: np.ndarray
    seeks: np.ndarray
    senior: np.ndarray
    trainee: np.ndarray
    department: np.ndarray
    specialty: np.ndarray
    starts: np.ndarray

    @classmethod
    def from_people(cls, people: Sequence[Person], month: str) -> CohortFeatures:
        texts = [_profile_text(p) for p in people]
        try:
            vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2),
                                         sublinear_tf=True, dtype=np.float32)
            tfidf = vectorizer.fit_transform(texts).tocsr()
        except ValueError:  # nobody wrote anything: empty vocabulary
            tfidf = sparse.csr_matrix((len(people), 1), dtype=np.float32)
        vocab: dict[str, int] = {}
        for p in people:
            for phrase in (*p.can_teach, *p.wants_to_learn):
                vocab.setdefault(normalize_phrase(phrase), len(vocab))
        mentoring = np.array([p.mentoring for p in people], dtype=object)
        return cls(
            tfidf=tfidf,
            teach=_phrase_matrix([p.can_teach for p in people], vocab),
            learn=_phrase_matrix([p.wants_to_learn for p in people], vocab),
            offers=np.isin(mentoring, ["offer", "both"]).astype(np.float32),
            seeks=np.isin(mentoring, ["seek", "both"]).astype(np.float32),
            senior=np.array([p.is_senior for p in people], dtype=np.float32),
            trainee=np.array([p.is_trainee for p in people], dtype=np.float32),
            department=_codes([p.department for p in people]),
            specialty=_codes([p.specialty for p in people]),
            starts=start_matrix(slot_matrix(people, month)),
        )

    @property
    def n(self) -> int:
        return self.tfidf.shape[0]

    def interest_similarity(self, idx: np.ndarray) -> np.ndarray:
        """Dense cosine similarity of interests/goals among ``idx`` (float32)."""
        sub = self.tfidf[idx]
        return np.asarray((sub @ sub.T).todense(), dtype=np.float32)

    def pair_time_overlap(self, idx: np.ndarray) -> np.ndarray:
        """Whether each pair among ``idx`` shares a 30-minute weekly window."""
        starts = self.starts[idx].astype(np.float32)
        return (starts @ starts.T) > 0

    def affinity(self, idx: np.ndarray, weights: MatchWeights) -> np.ndarray:
        """Dense symmetric pairwise affinity among ``idx`` (diagonal zero), float64.

        Terms: interests cosine (in units of a good match among the partners one can meet);
        can-teach/wants-to-learn matches in either direction (at most 2 counted); mentor-offers
        with mentee-seeks; senior with trainee; different department (and, at half weight,
        specialty); minus a penalty for pairs with no common window.
        """
        idx = np.asarray(idx, dtype=np.int64)
        w = np.zeros((len(idx), len(idx)), dtype=np.float64)
        if weights.interests:
            sim = self.interest_similarity(idx)
            w += weights.interests * sim / _typical_good_similarity(sim, self.pair_time_overlap(
                idx))
        if weights.teaching:
            t, lrn = self.teach[idx], self.learn[idx]
            cross = np.asarray((t @ lrn.T).todense(), dtype=np.float64)
            w += weights.teaching * np.minimum(cross + cross.T, 2.0)
        if weights.mentoring:
            off, seek = self.offers[idx], self.seeks[idx]
            pair = np.outer(off, seek)
            w += weights.mentoring * np.minimum(pair + pair.T, 1.0)
        if weights.seniority_mix:
            sen, tr = self.senior[idx], self.trainee[idx]
            pair = np.outer(sen, tr)
            # Two seniors (or two trainees) together cost a little, so seniors and trainees
            # spread over the groups instead of pairing up 2 + 2 in a few of them.
            same = np.outer(sen, sen) + np.outer(tr, tr)
            w += weights.seniority_mix * (pair + pair.T - _SAME_LEVEL * same)
        if weights.cross_department:
            for codes, scale in ((self.department, 1.0), (self.specialty, 0.5)):
                c = codes[idx]
                known = c >= 0
                differ = (c[:, None] != c[None, :]) & known[:, None] & known[None, :]
                w += weights.cross_department * scale * differ
        if weights.no_common_time:
            starts = self.starts[idx].astype(np.float32)
            common = starts @ starts.T
            counts = np.sqrt(np.maximum(np.diag(common), 1.0))
            # Cosine of meeting-start vectors: people whose free slots coincide broadly are
            # likelier to share a slot with a third and fourth member than a one-slot overlap.
            w += weights.no_common_time * _TIME_BONUS * common / np.outer(counts, counts)
            w -= weights.no_common_time * (common == 0)
        np.fill_diagonal(w, 0.0)
        return w

    def embedding(self, n_components: int = 32, *, random_state: int = 0) -> np.ndarray:
        """Low-rank embedding for splitting large cohorts into compatible blocks.

        Interests via TruncatedSVD of the TF-IDF matrix (unit rows), concatenated with a coarse
        availability profile (share of meeting starts in each 4-hour UTC band), so people who
        are close in this space tend to share both interests and meeting times.
        """
        n_terms = self.tfidf.shape[1]
        k = int(min(n_components, max(n_terms - 1, 1), max(self.n - 1, 1)))
        if n_terms > 1 and k >= 1 and self.tfidf.nnz:
            svd = TruncatedSVD(n_components=k, random_state=random_state, algorithm="randomized",
                               n_iter=4)
            text = svd.fit_transform(self.tfidf).astype(np.float32)
            norms = np.linalg.norm(text, axis=1, keepdims=True)
            text /= np.maximum(norms, 1e-9)
        else:
            text = np.zeros((self.n, 1), dtype=np.float32)
        bands = self.starts.reshape(self.n, 42, 16).sum(axis=2).astype(np.float32)
        bands /= np.maximum(bands.sum(axis=1, keepdims=True), 1.0)
        return np.hstack([text, 2.0 * bands])
