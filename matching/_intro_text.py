"""Profile text to term counts for `matching.introductions`: tokenizer, stemmer, and the
sparse products that turn each *distinct* phrase's words into per-profile counts.

Shared by a full fit (which grows the vocabulary) and a refresh of a few changed profiles
(which keeps the fitted vocabulary and drops words it has not seen).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

if TYPE_CHECKING:
    from matching.introductions import IntroductionProfile

_WORD = re.compile(r"[^\W_]+")
# Words of a request that say nothing about *whom* to meet ("someone who can teach ...").
_FILLER = frozenset({
    "someone", "somebody", "anyone", "person", "people", "colleague", "colleagues", "meet",
    "talk", "help", "looking", "want", "wants", "like", "need", "needs", "ask", "advice",
    "know", "knows", "moved", "teach", "learn", "introduce", "introduction", "experience",
})
_STOP = ENGLISH_STOP_WORDS | _FILLER
# A deliberately small stemmer: enough for "anesthesiologist" to find "Anesthesiology",
# "pediatrician" to find "Pediatrics" and plurals to find singulars.
_SUFFIXES = (
    ("ologists", "olog"), ("ologist", "olog"), ("ological", "olog"), ("ology", "olog"),
    ("icians", "ic"), ("ician", "ic"), ("ics", "ic"), ("ies", "y"),
)
FIELDS = ("can_teach", "specialty", "department", "interests", "goals")


def _stem(word: str) -> str:
    if len(word) <= 4:
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def tokenize(text: str) -> tuple[str, ...]:
    """Lower-case word stems of ``text`` without stop words (cached: phrases repeat a lot).

    Examples
    --------
    >>> tokenize("An anesthesiologist who moved into Informatics")
    ('anesthesiolog', 'informatic')
    """
    words = _WORD.findall(text.casefold())
    return tuple(_stem(w) for w in words if len(w) > 1 and w not in _STOP)


def normalized_phrase(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def term_counts(
    profiles: Sequence[IntroductionProfile], vocabulary: dict[str, int], *, grow: bool
) -> dict[str, sp.csr_matrix]:
    """Per-field term counts, one row per profile, one column per vocabulary term.

    With ``grow`` new words are added to ``vocabulary`` (in place); without, words the
    vocabulary does not know are left out.
    """
    n = len(profiles)
    # Each field as (profile row per text, texts), built with C-level iteration: this is
    # the only per-profile Python work of a fit. Empty texts are harmless (no words).
    fields = {
        "can_teach": _flatten([p.can_teach for p in profiles]),
        "specialty": (np.arange(n), [p.specialty for p in profiles]),
        "department": (np.arange(n), [p.department for p in profiles]),
        "interests": _flatten([p.interests for p in profiles]),
        "goals": (np.arange(n), [p.goals for p in profiles]),
    }
    phrases = {text: i for i, text in enumerate(dict.fromkeys(
        chain.from_iterable(texts for _, texts in fields.values())))}
    for text in phrases:
        if not isinstance(text, str):
            raise TypeError(f"can_teach and interests must hold strings, got {text!r}")
    t_rows: list[int] = []
    t_cols: list[int] = []
    for phrase, phrase_id in phrases.items():
        for term in tokenize(phrase):
            column = vocabulary.setdefault(term, len(vocabulary)) if grow \
                else vocabulary.get(term)
            if column is not None:
                t_rows.append(phrase_id)
                t_cols.append(column)
    terms = sp.csr_matrix((np.ones(len(t_rows)), (_ints(t_rows), _ints(t_cols))),
                          shape=(len(phrases), len(vocabulary)))
    counts = {}
    for name, (rows, texts) in fields.items():
        ids = np.fromiter(map(phrases.__getitem__, texts), dtype=np.int64, count=len(texts))
        membership = sp.csr_matrix((np.ones(len(rows)), (rows, ids)), shape=(n, len(phrases)))
        counts[name] = (membership @ terms).tocsr()
    return counts


def site_ids(raw_sites: list[str], sites: dict[str, int]) -> np.ndarray:
    """Site id per profile (-1 for none); new sites are added to ``sites`` (in place).

    Sites are compared as normalized phrases: "North  hospital" = "North Hospital".
    """
    site_of: dict[str, int] = {}
    for raw in dict.fromkeys(raw_sites):
        if raw.strip():
            site_of[raw] = sites.setdefault(normalized_phrase(raw), len(sites))
    return np.array([site_of.get(raw, -1) for raw in raw_sites], dtype=np.int64)


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF times IDF, rows scaled to unit length (empty rows stay zero)."""
    weighted = counts.copy().astype(np.float64)
    weighted.data = (1.0 + np.log(weighted.data)) * idf[weighted.indices]
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ weighted)


def _ints(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _flatten(values: list[tuple[str, ...]]) -> tuple[np.ndarray, list[str]]:
    """(row of each item, items) of a list-valued field."""
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    return np.repeat(np.arange(len(values)), lengths), list(chain.from_iterable(values))
