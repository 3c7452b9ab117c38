"""Realistic contexts for every message, shared by the notification tests."""

from __future__ import annotations

MEMBERS = [
    {
        "name": "Dr. Amina Yusuf",
        "role": "Consultant",
        "specialty": "Cardiology",
        "department": "Heart Centre",
    },
    {"name": "Li Wei", "role": "Staff Nurse", "specialty": "", "department": "ICU"},
    {"name": "Sam O'Neill", "role": "Pharmacist", "specialty": "Oncology", "department": ""},
]

_COMMON = {
    "participant_name": "Maya Patel",
    "organization_name": "St. Example Hospital",
    "month_label": "March 2026",
    "unsubscribe_url": "https://coffee.example.org/u/tok-unsub",
}

_MEETING = {
    "topic_title": "A small win this week",
    "topic_description": "Share one thing that went better than expected.",
    "starters": [
        "What made you choose your specialty?",
        "What is one thing other teams misunderstand about your work?",
        "Where do you go for a real coffee on site?",
    ],
    "members": MEMBERS,
    "meeting_start_local": "Thursday 5 March, 12:30",
    "meeting_timezone": "America/New_York",
    "meeting_url": "https://meet.example.org/abc-defg-hij?pwd=1&x=2",
    "cant_make_it_url": "https://coffee.example.org/r/tok-cant",
}

CONTEXTS: dict[str, dict[str, object]] = {
    "admin_password_reset": {
        "admin_name": "Maya Patel",
        "organization_name": "St. Example Hospital",
        "reset_url": "https://coffee.example.org/admin/password-reset/tok-reset",
        "expires_minutes": 60,
    },
    "confirm_signup": {
        "participant_name": "Maya Patel",
        "organization_name": "St. Example Hospital",
        "confirm_url": "https://coffee.example.org/confirm/tok-confirm",
        "expires_hours": 48,
    },
    "manage_link": {
        "participant_name": "Maya Patel",
        "organization_name": "St. Example Hospital",
        "manage_url": "https://coffee.example.org/manage/tok-manage",
        "expires_hours": 24,
    },
    "already_registered": {
        "participant_name": "Maya Patel",
        "organization_name": "St. Example Hospital",
        "manage_url": "https://coffee.example.org/manage/tok-manage",
        "expires_hours": 24,
    },
    "invite": {
        **_COMMON,
        **_MEETING,
        "reason": "You all work late shifts and none of you has met before.",
        "pause_url": "https://coffee.example.org/p/tok-pause",
        "member_url": "https://coffee.example.org/o/x/my/tok-member",
        "resources": [
            {
                "title": "Three good things: a 5-minute habit",
                "url": "https://example.org/three-good-things?a=1&b=2",
                "why": "Small, and it stuck.",
            },
        ],
    },
    "reminder": {**_COMMON, **_MEETING},
    "checkin": {
        **_COMMON,
        "met_yes_url": "https://coffee.example.org/met/tok-yes",
        "met_no_url": "https://coffee.example.org/met/tok-no",
        "feedback_url": "https://coffee.example.org/f/tok-feedback",
        "share_url": "https://coffee.example.org/r/tok-feedback/share",
        "member_url": "https://coffee.example.org/o/x/my/tok-member",
    },
    "followup": {
        **_COMMON,
        "feedback_url": "https://coffee.example.org/f/tok-feedback",
        "share_url": "https://coffee.example.org/r/tok-feedback/share",
        "member_url": "https://coffee.example.org/o/x/my/tok-member",
    },
    "not_matched": {
        **_COMMON,
        "reason": "An odd number of people signed up this month.",
        "pause_url": "https://coffee.example.org/p/tok-pause",
    },
    "invite_update": {
        **_COMMON,
        **_MEETING,
        "change_summary": "the meeting moved to 12:30.",
    },
    "invite_cancel": {
        **_COMMON,
        "meeting_start_local": "Thursday 5 March, 12:30",
        "meeting_timezone": "America/New_York",
        "reason": "Two of the group can no longer attend.",
        "pause_url": "https://coffee.example.org/p/tok-pause",
    },
    "introduction_ask": {
        "participant_name": "Maya Patel",
        "organization_name": "St. Example Hospital",
        "need": "Someone who can teach grant writing.\nI am applying for my first R01.",
        "skill": "grant writing",
        "specialty": "",
        "site": "Main Campus",
        "requester_description": "a fellow in Cardiology, Heart Centre",
        "why_you": "We thought of you because what you can teach matches “grant writing”.",
        "accept_url": "https://coffee.example.org/intro/tok-ask?answer=accept",
        "decline_url": "https://coffee.example.org/intro/tok-ask?answer=decline",
        "answer_by": "Sunday 29 November",
    },
    "introduction_made": {
        "participant_name": "Maya Patel",
        "organization_name": "St. Example Hospital",
        "you_asked": True,
        "need": "Someone who can teach grant writing.",
        "other_name": "Dr. Amina Yusuf",
        "other_email": "amina.yusuf@example.org",
        "other_description": "an attending in Oncology",
        "meeting_start_local": "Thursday 5 March, 12:30",
        "meeting_timezone": "America/New_York",
        "meeting_url": "https://meet.example.org/abc-defg-hij?pwd=1&x=2",
        "everyone_available": True,
        "met_yes_url": "https://coffee.example.org/intro/tok-made?met=yes",
        "met_no_url": "https://coffee.example.org/intro/tok-made?met=no",
    },
    "introduction_unmatched": {
        "participant_name": "Maya Patel",
        "organization_name": "St. Example Hospital",
        "need": "Someone who can teach grant writing.",
        "reason": "We asked the colleagues who fit best, but none could take it on this time.",
        "introductions_url": "https://coffee.example.org/o/x/my/tok-member/introductions",
    },
}
