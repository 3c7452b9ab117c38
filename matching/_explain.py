"""One human-readable, true reason per group, built only from the members' own data."""

from __future__ import annotations

from collections.abc import Sequence

from ._affinity import normalize_phrase
from ._people import Person

__all__ = ["display_name", "explain_group"]

_DOCTOR_ROLES = frozenset({"attending", "fellow", "resident"})
_ROLE_LABELS = {"attending": "attending", "fellow": "fellow", "resident": "resident",
                "student": "student", "nurse": "nurse", "np_pa": "NP/PA", "other": ""}
_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def display_name(person: Person) -> str:
    """The person's name, with "Dr." for attendings, fellows and residents."""
    name = person.name.strip() or person.key
    if person.role in _DOCTOR_ROLES and not name.lower().startswith("dr"):
        return f"Dr. {name}"
    return name


def _described(person: Person) -> str:
    details = [d for d in (_ROLE_LABELS[person.role], person.specialty or person.department) if d]
    return f"{display_name(person)} ({', '.join(details)})" if details else display_name(person)


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _shared_interests(members: Sequence[Person]) -> str | None:
    holders: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for i, person in enumerate(members):
        for phrase in dict.fromkeys(normalize_phrase(p) for p in person.interests):
            holders.setdefault(phrase, []).append(i)
            shown.setdefault(phrase, phrase)
    shared = [p for p, who in holders.items() if len(who) >= 2]
    if not shared:
        return None
    everyone = [p for p in shared if len(holders[p]) == len(members)]
    if everyone:
        return f"You all listed {_join([shown[p] for p in sorted(everyone)[:2]])}"
    best = max(sorted(shared), key=lambda p: len(holders[p]))
    names = [display_name(members[i]) for i in holders[best]]
    both = "both" if len(names) == 2 else "all"
    return f"{_join(names)} {both} listed {shown[best]}"


def _teaching(members: Sequence[Person]) -> str | None:
    best: tuple[int, int, str, list[int]] | None = None
    for t, teacher in enumerate(members):
        for phrase in dict.fromkeys(normalize_phrase(p) for p in teacher.can_teach):
            learners = [i for i, p in enumerate(members) if i != t
                        and phrase in {normalize_phrase(w) for w in p.wants_to_learn}]
            if learners and (best is None or len(learners) > len(best[3])):
                best = (t, len(learners), phrase, learners)
    if best is None:
        return None
    t, count, phrase, learners = best
    if count == 1:
        who = f"which {display_name(members[learners[0]])} wants to learn"
    else:
        who = f"which {_COUNT_WORDS.get(count, str(count))} of you want to learn"
    return f"{_described(members[t])} can teach {phrase}, {who}"


def _mentoring(members: Sequence[Person]) -> str | None:
    mentors = [p for p in members if p.mentoring in ("offer", "both")]
    mentees = [p for p in members if p.mentoring in ("seek", "both")]
    for mentor in mentors:
        others = [p for p in mentees if p is not mentor]
        if others:
            names = [display_name(p) for p in others]
            verb = "is" if len(names) == 1 else "are"
            return (f"{_described(mentor)} offers mentoring and {_join(names)} {verb} "
                    "looking for a mentor")
    return None


def _departments(members: Sequence[Person]) -> str | None:
    departments = list(dict.fromkeys(p.department.strip() for p in members if p.department.strip()))
    if len(departments) < 2:
        return None
    return f"Between you, you cover {_join(departments)}"


def _seniority(members: Sequence[Person]) -> str | None:
    seniors = [p for p in members if p.is_senior]
    trainees = [p for p in members if p.is_trainee]
    if not seniors or not trainees:
        return None
    return (f"The group brings together {_join([_described(p) for p in seniors])} and "
            f"{_join([_described(p) for p in trainees])}")


def explain_group(members: Sequence[Person], *, has_common_window: bool, is_new: bool) -> str:
    """One or two sentences saying why these people were grouped.

    Every clause is derived from the members' data (shared interests, a can-teach that others
    want to learn, mentoring offered and sought, departments, roles), never invented.
    """
    facts = [f for f in (_shared_interests(members), _teaching(members), _mentoring(members))
             if f]
    extras = [f for f in (_departments(members), _seniority(members)) if f]
    if not facts and not extras:
        if is_new and has_common_window:
            return ("None of you have been in a group together before, and your calendars "
                    "share a common time.")
        if is_new:
            return "None of you have been in a group together before."
        return "You were grouped so that everyone has a group this month."
    if facts:
        sentence = "; ".join(facts[:2]) + "."
        if len(facts) < 2 and extras:
            sentence += " " + extras[0] + "."
        return sentence
    return ". ".join(extras[:2]) + "."
