"""Warm introductions: a participant asks to meet someone who can help; we ask the best-fitting
colleagues one at a time (at most three, seven days each) until one accepts, then introduce
both by email with a short calendar invite.

Names stay hidden until someone accepts: the asked colleague sees the need and the
requester's role, specialty and department; the requester sees "asking a colleague".

- `requests`: validating and creating a request (limits), cancelling, listing.
- `candidates`: who may be asked, ranked by `matching.introductions`.
- `asking`: asking the next candidate, declines, expiry, "no match".
- `meeting`: accepting (slot, .ics, the introduction emails) and "did you meet?".
- `emails`: the three emails; `links`: the signed links in them.
- `jobs`: the scheduler's work; `stats`: the Impact page's counts.
"""

from datetime import timedelta

MAX_OPEN_REQUESTS = 2
# An asked colleague has this long to answer before the next one is asked.
ANSWER_WITHIN = timedelta(days=7)
# The same requester never has the same colleague asked again within this time.
REPEAT_ASK_AFTER = timedelta(days=90)
MEETING_MINUTES = 20
# The introduction call is placed in this many days, starting tomorrow.
MEETING_WINDOW_DAYS = 14
