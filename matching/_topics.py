"""Topic choice: the catalog topic that best fits each group's pooled interests.

Similarity is TF-IDF cosine between a group's pooled interests/goals and each topic's title,
description and tags. Topics any member had in the last rounds are excluded, and a mild spread
penalty keeps one round from handing everybody the same topic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from ._people import Topic

__all__ = ["GENERIC_STARTERS", "choose_topics"]

GENERIC_STARTERS = (
    "What drew you to your field, and what keeps you in it?",
    "What is one thing about your work that colleagues in other departments rarely see?",
    "What is something you would like to learn or try in the coming months?",
)

#: Penalty at a topic's fair share of groups (similarities are usually 0..0.5).
SPREAD_PENALTY = 0.15


def starters_for(topic: Topic | None) -> tuple[str, str, str]:
    """Three conversation starters, topped up with generic ones when a topic has fewer."""
    own = list(topic.starters[:3]) if topic is not None else []
    for generic in GENERIC_STARTERS:
        if len(own) == 3:
            break
        if generic not in own:
            own.append(generic)
    return (own[0], own[1], own[2])


def choose_topics(group_texts: Sequence[str], excluded: Sequence[set[str]],
                  topics: Sequence[Topic]) -> tuple[list[Topic | None], int]:
    """Pick a topic per group.

    Parameters
    ----------
    group_texts : sequence of str
        Pooled interests and goals of each group's members.
    excluded : sequence of set of str
        Per group, topic keys some member had recently.
    topics : sequence of Topic
        The organization's catalog (may be empty: then every group gets None).

    Returns
    -------
    (list of Topic or None, int)
        The topic per group, and how many groups had every topic excluded (they get the
        best-fitting topic regardless).
    """
    if not topics or not group_texts:
        return [None] * len(group_texts), 0
    topic_texts = [" ".join([t.title, t.title, t.description, *t.tags, *t.tags]) for t in topics]
    try:
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        matrix = vectorizer.fit_transform([*topic_texts, *group_texts])
        t_vec, g_vec = matrix[: len(topics)], matrix[len(topics):]
        sim = np.asarray((g_vec @ t_vec.T).todense(), dtype=np.float64)
    except ValueError:  # empty vocabulary
        sim = np.zeros((len(group_texts), len(topics)))
    keys = [t.key for t in topics]
    allowed = np.array([[k not in ex for k in keys] for ex in excluded], dtype=bool)
    exhausted = ~allowed.any(axis=1)
    allowed[exhausted] = True
    fair_share = max(1.0, len(group_texts) / len(topics))
    used = np.zeros(len(topics))
    chosen: list[Topic | None] = [None] * len(group_texts)
    # Groups with the clearest fit choose first, so they are not crowded out by the spread rule.
    order = np.argsort(-np.where(allowed, sim, -1.0).max(axis=1), kind="stable")
    for g in order:
        score = np.where(allowed[g], sim[g] - SPREAD_PENALTY * used / fair_share, -np.inf)
        best = int(np.argmax(score))
        used[best] += 1
        chosen[g] = topics[best]
    return chosen, int(exhausted.sum())
