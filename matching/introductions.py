"""Warm introductions: rank the colleagues who could best help with a stated need.

A request (free text, plus an optional skill, specialty and site) is compared with every
candidate in two TF-IDF spaces fitted on the organization's profiles: what the candidate can
teach (with their specialty), and the rest of the profile (department, interests, goals).
Explicit boosts reward a requested skill the candidate lists under "can teach", the requested
specialty (or department) and the requested site. People the requester already met in a round
get a penalty, so that among comparable matches new faces come first.

The weighting is scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` (smoothed IDF, L2
rows; a test checks they agree), computed differently for speed: each *distinct* phrase is
tokenized once (a hospital repeats the same specialties, departments and interests thousands
of times) and the term matrices come from sparse products, so a fit on 10,000 profiles
costs about half the CPU time of the vectorizer's (see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from matching._intro_text import normalized_phrase as _normalized_phrase
from matching._intro_text import site_ids, term_counts, tfidf, tokenize

__all__ = [
    "IntroductionProfile",
    "IntroductionQuery",
    "IntroductionRanker",
    "RankedCandidate",
    "tokenize",
]


def _str_tuple(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a sequence of strings, got {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} must contain strings, got {item!r}")
    return items


@dataclass(slots=True)
class IntroductionProfile:
    """What a candidate says about themselves, as far as introductions care.

    Not frozen: the service builds one per participant of a hospital for every search, and a
    frozen dataclass costs twice as much to construct.

    Parameters
    ----------
    key : hashable
        Identifies the candidate in results (the service uses the participant id).
    can_teach, interests : tuple of str
        Free-text phrases from the profile (lists are converted to tuples).
    specialty, department, site, goals : str
        Free text from the profile.
    """

    key: Hashable
    can_teach: tuple[str, ...] = ()
    specialty: str = ""
    department: str = ""
    site: str = ""
    interests: tuple[str, ...] = ()
    goals: str = ""

    def __post_init__(self) -> None:
        # Cheap checks only; the items of tuples are checked once per distinct phrase in fit.
        if type(self.can_teach) is not tuple:
            self.can_teach = _str_tuple(self.can_teach, "can_teach")
        if type(self.interests) is not tuple:
            self.interests = _str_tuple(self.interests, "interests")
        if not (type(self.specialty) is str and type(self.department) is str
                and type(self.site) is str and type(self.goals) is str):
            for name in ("specialty", "department", "site", "goals"):
                if not isinstance(getattr(self, name), str):
                    raise TypeError(f"{name} must be a string, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class IntroductionQuery:
    """What the requester is looking for.

    Parameters
    ----------
    need : str
        Free text, e.g. "someone who can teach grant writing".
    skill, specialty, site : str, optional
        Narrow the search: a skill the colleague can teach, their specialty (or department),
        the site they work at. Site only reorders; it never makes someone relevant.
    """

    need: str
    skill: str = ""
    specialty: str = ""
    site: str = ""

    def __post_init__(self) -> None:
        for name in ("need", "skill", "specialty", "site"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string, got {getattr(self, name)!r}")
        if not (self.need.strip() or self.skill.strip() or self.specialty.strip()):
            raise ValueError("an introduction query needs a need, a skill or a specialty")


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    """One ranked colleague and why they rank where they do.

    ``relevance`` is the topical fit (text similarity and skill/specialty boosts); ``score``
    adds the site boost and subtracts the met-before penalty, and orders the results.
    """

    key: Hashable
    score: float
    relevance: float
    skill_match: bool
    specialty_match: bool
    site_match: bool
    met_before: bool


class IntroductionRanker:
    """Rank colleagues for a warm introduction.

    Parameters
    ----------
    teach_weight : float, default=1.0
        Weight of the cosine similarity between the request and what a candidate can teach
        (plus their specialty).
    profile_weight : float, default=0.5
        Weight of the similarity with the rest of the profile (department, interests, goals).
    skill_boost : float, default=0.5
        Added when every word of the requested skill is among the candidate's can-teach words.
    specialty_boost : float, default=0.3
        Added when every word of the requested specialty is in the candidate's specialty or
        department.
    site_boost : float, default=0.1
        Added when the candidate works at the requested site.
    met_penalty : float, default=0.25
        Subtracted when the requester already shared a group with the candidate.
    min_relevance : float, default=0.05
        Candidates whose relevance is below this are never returned: asking a colleague with
        nothing in common with the need helps nobody.

    Attributes
    ----------
    keys_ : list
        Candidate keys in fitting order; ties in score are broken by this order.
    vocabulary_ : dict of str to int
        Word stem to column of the term matrices.
    idf_ : ndarray of shape (n_terms,)
        Smoothed inverse document frequencies over the fitted profiles.

    Examples
    --------
    >>> ranker = IntroductionRanker().fit([
    ...     IntroductionProfile(1, can_teach=("grant writing",), specialty="Oncology"),
    ...     IntroductionProfile(2, can_teach=("ultrasound",), specialty="Emergency Medicine"),
    ... ])
    >>> [c.key for c in ranker.rank(IntroductionQuery("help with a grant application"))]
    [1]
    """

    def __init__(self, *, teach_weight: float = 1.0, profile_weight: float = 0.5,
                 skill_boost: float = 0.5, specialty_boost: float = 0.3,
                 site_boost: float = 0.1, met_penalty: float = 0.25,
                 min_relevance: float = 0.05) -> None:
        self.teach_weight = teach_weight
        self.profile_weight = profile_weight
        self.skill_boost = skill_boost
        self.specialty_boost = specialty_boost
        self.site_boost = site_boost
        self.met_penalty = met_penalty
        self.min_relevance = min_relevance

    def _check_params(self) -> None:
        for name in ("teach_weight", "profile_weight", "skill_boost", "specialty_boost",
                     "site_boost", "met_penalty", "min_relevance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def fit(self, profiles: Sequence[IntroductionProfile]) -> IntroductionRanker:
        """Fit the vocabulary, IDF and per-candidate term matrices on the organization.

        Parameters
        ----------
        profiles : sequence of IntroductionProfile
            Every candidate who may be asked; keys must be unique.

        Returns
        -------
        self
        """
        self._check_params()
        profiles = _checked_profiles(profiles)
        keys = [p.key for p in profiles]
        index = {key: i for i, key in enumerate(keys)}
        if len(index) != len(keys):
            raise ValueError("profile keys must be unique")
        vocabulary: dict[str, int] = {}
        counts = term_counts(profiles, vocabulary, grow=True)
        teach_doc, other, specialty = _documents(counts)
        df = np.asarray(((teach_doc + other) > 0).sum(axis=0)).ravel()
        self.idf_ = np.log((1.0 + len(profiles)) / (1.0 + df)) + 1.0
        self.teach_matrix_ = tfidf(teach_doc, self.idf_)
        self.profile_matrix_ = tfidf(other, self.idf_)
        self.can_teach_terms_ = (counts["can_teach"] > 0).astype(np.int8).tocsc()
        self.specialty_terms_ = (specialty > 0).astype(np.int8).tocsc()
        self.sites_: dict[str, int] = {}
        self.site_ids_ = site_ids([p.site for p in profiles], self.sites_)
        self.vocabulary_ = vocabulary
        self.keys_ = keys
        self.index_ = index
        self.n_refreshed_ = 0
        return self

    def refreshed(self, profiles: Sequence[IntroductionProfile], *,
                  remove: Iterable[Hashable] = ()) -> IntroductionRanker:
        """A copy with some candidates' rows replaced, added or removed, without refitting.

        The changed profiles are transformed with the fitted vocabulary and IDF: words the
        vocabulary has not seen are left out, and the IDF keeps the fitted document
        frequencies. That is close to a full fit while few rows changed; refit when many did
        (``n_refreshed_`` counts them) or when new words must become searchable.

        Parameters
        ----------
        profiles : sequence of IntroductionProfile
            New or edited candidates. A fitted key keeps its place in the fitting order
            (ties); a new key goes after every fitted one.
        remove : iterable of keys
            Candidates to drop; keys that were not fitted are ignored.

        Returns
        -------
        IntroductionRanker
            A new fitted ranker. This one is left unchanged, so searches running on it (in
            other threads) are unaffected.
        """
        self._check_fitted()
        profiles = _checked_profiles(profiles)
        removed = {key for key in remove if key in self.index_}
        given = {p.key: len(self.keys_) + j for j, p in enumerate(profiles)}
        if len(given) != len(profiles):
            raise ValueError("profile keys must be unique")
        if not removed.isdisjoint(given):
            raise ValueError("a key cannot be both refreshed and removed")
        rows, keys = [], []
        for row, key in enumerate(self.keys_):
            if key not in removed:
                rows.append(given.pop(key, row))
                keys.append(key)
        rows += given.values()  # new keys, in the given order
        keys += given
        order = np.asarray(rows, dtype=np.int64)
        counts = term_counts(profiles, self.vocabulary_, grow=False)
        teach_doc, other, specialty = _documents(counts)

        def stacked(fitted: sp.spmatrix, changed: sp.spmatrix) -> sp.csr_matrix:
            return sp.vstack([fitted, changed], format="csr")[order]

        new = copy(self)
        new.teach_matrix_ = stacked(self.teach_matrix_, tfidf(teach_doc, self.idf_))
        new.profile_matrix_ = stacked(self.profile_matrix_, tfidf(other, self.idf_))
        new.can_teach_terms_ = stacked(
            self.can_teach_terms_, (counts["can_teach"] > 0).astype(np.int8)).tocsc()
        new.specialty_terms_ = stacked(
            self.specialty_terms_, (specialty > 0).astype(np.int8)).tocsc()
        new.sites_ = dict(self.sites_)
        new.site_ids_ = np.concatenate(
            [self.site_ids_, site_ids([p.site for p in profiles], new.sites_)])[order]
        new.keys_ = keys
        new.index_ = {key: i for i, key in enumerate(keys)}
        new.n_refreshed_ = self.n_refreshed_ + len(profiles) + len(removed)
        return new

    def _check_fitted(self) -> None:
        if not hasattr(self, "keys_"):
            raise NotFittedError("IntroductionRanker is not fitted yet; call fit(profiles)")

    def _query_vector(self, query: IntroductionQuery) -> np.ndarray:
        vector = np.zeros(len(self.vocabulary_))
        # The explicit skill and specialty say what matters most: they count twice.
        words = [*tokenize(query.need), *2 * tokenize(query.skill), *2 * tokenize(query.specialty)]
        for word in words:
            column = self.vocabulary_.get(word)
            if column is not None:
                vector[column] += 1.0
        present = vector > 0
        vector[present] = (1.0 + np.log(vector[present])) * self.idf_[present]
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector

    def _all_words(self, matrix: sp.csc_matrix, text: str) -> np.ndarray:
        """Rows whose terms include every word of ``text`` (all False for an empty text)."""
        words = set(tokenize(text))
        n = len(self.keys_)
        if not words:
            return np.zeros(n, dtype=bool)
        columns = [self.vocabulary_.get(w) for w in words]
        if any(c is None for c in columns):
            return np.zeros(n, dtype=bool)
        hits = np.asarray(matrix[:, columns].sum(axis=1)).ravel()
        return hits == len(columns)

    def rank(self, query: IntroductionQuery, *, exclude: Iterable[Hashable] = (),
             met: Iterable[Hashable] = (), limit: int | None = 3) -> list[RankedCandidate]:
        """The best candidates for ``query``, best first.

        Parameters
        ----------
        query : IntroductionQuery
        exclude : iterable of keys
            Never returned (the requester, people on an avoid list, people already asked).
            Keys that were not fitted are ignored.
        met : iterable of keys
            People the requester already shared a group with: ranked after comparable
            newcomers (``met_penalty``), not excluded.
        limit : int or None, default=3
            How many to return; None for every relevant candidate.

        Returns
        -------
        list of RankedCandidate
            Ordered by score, then by fitting order (deterministic).
        """
        self._check_fitted()
        if not isinstance(query, IntroductionQuery):
            raise TypeError(f"query must be an IntroductionQuery, got {type(query).__name__}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):
            raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
        n = len(self.keys_)
        if n == 0 or limit == 0:
            return []
        q = self._query_vector(query)
        teach_sim = self.teach_matrix_ @ q
        profile_sim = self.profile_matrix_ @ q
        skill = self._all_words(self.can_teach_terms_, query.skill)
        specialty = self._all_words(self.specialty_terms_, query.specialty)
        relevance = (self.teach_weight * teach_sim + self.profile_weight * profile_sim
                     + self.skill_boost * skill + self.specialty_boost * specialty)
        site_id = self.sites_.get(_normalized_phrase(query.site), -2) if query.site.strip() \
            else -2
        site = self.site_ids_ == site_id
        met_mask = self._mask(met)
        score = relevance + self.site_boost * site - self.met_penalty * met_mask
        eligible = (relevance >= max(self.min_relevance, 1e-12)) & ~self._mask(exclude)
        rows = np.flatnonzero(eligible)
        rows = rows[np.lexsort((rows, -score[rows]))]
        if limit is not None:
            rows = rows[:limit]
        return [
            RankedCandidate(
                key=self.keys_[r], score=float(score[r]), relevance=float(relevance[r]),
                skill_match=bool(skill[r]), specialty_match=bool(specialty[r]),
                site_match=bool(site[r]), met_before=bool(met_mask[r]),
            )
            for r in rows
        ]

    def _mask(self, keys: Iterable[Hashable]) -> np.ndarray:
        mask = np.zeros(len(self.keys_), dtype=bool)
        rows = [self.index_[k] for k in keys if k in self.index_]
        mask[rows] = True
        return mask


def _checked_profiles(profiles: Sequence[IntroductionProfile]) -> list[IntroductionProfile]:
    profiles = list(profiles)
    for p in profiles:
        if not isinstance(p, IntroductionProfile):
            raise TypeError(f"profiles must be IntroductionProfile objects, got "
                            f"{type(p).__name__}")
    return profiles


def _documents(
    counts: dict[str, sp.csr_matrix],
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """The two compared documents (can teach + specialty; the rest of the profile) and the
    specialty-or-department terms."""
    teach_doc = (counts["can_teach"] + counts["specialty"]).tocsr()
    other = (counts["department"] + counts["interests"] + counts["goals"]).tocsr()
    specialty = (counts["specialty"] + counts["department"]).tocsr()
    return teach_doc, other, specialty
