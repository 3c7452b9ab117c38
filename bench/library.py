"""Time the resource library: the invite ranking a monthly round adds, the library page's
queries, and what the resources add to rendering each invite.

Usage::

    python bench/library.py                      # PostgreSQL, 500/2,000/5,000 resources
    python bench/library.py --sqlite --no-doc    # a temporary SQLite file, print only

A fresh database (as in ``round_10k.py``) gets one organization with the default topic
catalog (41 topics) and synthetic resources whose titles, "why" lines and tags are drawn
from the catalog's words, so the ranking has real work to do. Each figure is the median of
``--repeat`` runs:

* ``invite_picks`` for every topic of the catalog: what ``send_round`` adds to a round,
  once per round whatever its number of people (it ranks per distinct topic).
* ``search`` (one page of 20, with the total) for the library page: newest, most useful,
  a two-word search, a tag filter and a topic filter.
* ``render_email("invite")`` with two resources against none: the per-invitation cost, to
  multiply by the number of invitations (10,000 in the largest round benchmarked).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mdgp import command_line, machine_description, replace_section  # noqa: E402
from round_10k import fresh_database  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import matching  # noqa: E402
from notifications import render_email  # noqa: E402
from service.db import make_engine, make_sessionmaker  # noqa: E402
from service.library import search as library_search  # noqa: E402
from service.library.picks import invite_picks  # noqa: E402
from service.models import Organization, Resource, Topic  # noqa: E402
from service.topics import seed_topics  # noqa: E402

SIZES = (500, 2000, 5000)
FILLER = ("a practical guide", "what worked for us", "notes from the ward", "a short course",
          "podcast episode", "checklist", "lessons learned", "an honest review")


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def add_resources(session: Session, org: Organization, count: int, seed: int) -> None:
    """`count` resources in total, words drawn from the catalog (a few per topic, some not)."""
    rng = random.Random(seed)
    topics = list(session.scalars(select(Topic).where(Topic.organization_id == org.id)))
    have = len(session.scalars(select(Resource.id)).all())
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(have, count):
        topic = rng.choice(topics)
        words = topic.title.split() + topic.description.split()
        title = " ".join(rng.sample(words, min(4, len(words)))) + f": {rng.choice(FILLER)}"
        tags = [t.lower() for t in rng.sample(list(topic.tags), min(2, len(topic.tags)))]
        rows.append({
            "organization_id": org.id, "url": f"https://example.org/r/{i}", "title": title[:200],
            "why": " ".join(rng.sample(words, min(8, len(words))))[:300], "tags": tags,
            "source": "import", "useful_count": rng.randrange(0, 12), "hidden_by": "",
            "topic_id": topic.id if rng.random() < 0.3 else None,
            "created_at": start + dt.timedelta(hours=i),
        })
    for offset in range(0, len(rows), 1000):
        session.execute(insert(Resource), rows[offset : offset + 1000])
    session.commit()


def render_delta(repeat: int) -> tuple[float, float]:
    """Seconds per invite rendered without and with two resources."""
    sys.path.insert(0, str(ROOT / "tests" / "notifications"))
    from notification_samples import CONTEXTS

    base = dict(CONTEXTS["invite"], resources=[])
    two = dict(base, resources=[
        {"title": "Sleep strategies for night shifts", "url": "https://example.org/a",
         "why": "Made my night shifts bearable."},
        {"title": "Night shift snacks", "url": "https://example.org/b", "why": "Better."},
    ])
    render_email("invite", base)  # templates compiled once, outside the timing
    loops = 500
    without = median_seconds(lambda: [render_email("invite", base) for _ in range(loops)], repeat)
    with_two = median_seconds(lambda: [render_email("invite", two) for _ in range(loops)], repeat)
    return without / loops, with_two / loops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file")
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument("--note", default="", help="extra sentence for the doc, e.g. load")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    rows: list[str] = []
    with fresh_database(args) as url:
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        with factory() as session:
            org = Organization(slug="bench", name="Bench General", timezone="America/New_York")
            session.add(org)
            session.flush()
            seed_topics(session, org, matching.default_topics())
            session.commit()
            topic_ids = list(session.scalars(select(Topic.id)))
            some_topic = session.get(Topic, topic_ids[0])
            assert some_topic is not None
            tag = some_topic.tags[0].lower()
            queries = {
                "newest": library_search.LibraryFilters(),
                "most useful": library_search.LibraryFilters(sort="useful"),
                "search 'night shift'": library_search.LibraryFilters(q="night shift"),
                f"tag '{tag}'": library_search.LibraryFilters(tag=tag),
                "topic": library_search.LibraryFilters(topic=str(some_topic.id)),
            }
            for size in sizes:
                add_resources(session, org, size, args.seed)
                picks_s = median_seconds(
                    lambda: invite_picks(session, org, topic_ids), args.repeat
                )
                picked = invite_picks(session, org, topic_ids)
                with_picks = sum(1 for t in topic_ids if picked.get(t))
                searches = {
                    name: median_seconds(
                        lambda f=filters: library_search.search(session, org, f), args.repeat
                    )
                    for name, filters in queries.items()
                }
                worst = max(searches, key=lambda n: searches[n])
                tags_s = median_seconds(
                    lambda: library_search.tags_in_use(session, org), args.repeat
                )
                rows.append(
                    f"| {size:,} | {picks_s * 1000:.0f} | {with_picks} of {len(topic_ids)} | "
                    f"{statistics.median(searches.values()) * 1000:.1f} | "
                    f"{searches[worst] * 1000:.1f} ({worst}) | {tags_s * 1000:.1f} |"
                )
                print(rows[-1], flush=True)
        engine.dispose()
    without, with_two = render_delta(args.repeat)
    extra_10k = (with_two - without) * 10_000
    backend = "SQLite (temporary file)" if args.sqlite else "PostgreSQL (fresh database)"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join([
        f"Measured {now} on {machine_description()}; {backend}. "
        f"Command: `{command_line('bench/library.py', argv)}`. {args.note}".rstrip(),
        "",
        "One organization with the default catalog (41 topics) and synthetic resources drawn "
        "from the catalog's words. Medians of "
        f"{args.repeat} runs. `invite_picks` ranks the whole library once per distinct topic "
        "(TF-IDF, `matching.ResourceRanker`): it is what `send_round` adds to a round, "
        "whatever the number of people. A library page is one `search` (20 resources and the "
        "total) plus the tag filter's list (`tags_in_use`, which reads every visible "
        "resource's tags).",
        "",
        "| resources | invite_picks, all 41 topics (ms) | topics with a pick | library page, "
        "median of 5 queries (ms) | slowest query (ms) | tag list (ms) |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Rendering one invite: {without * 1000:.2f} ms without resources, "
        f"{with_two * 1000:.2f} ms with two; for a 10,000-person round that is "
        f"{extra_10k:.1f} s more rendering in total (the round itself took 118 s, see "
        "above).",
    ])
    print(body)
    if not args.no_doc:
        replace_section(args.doc, "Resource library", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
