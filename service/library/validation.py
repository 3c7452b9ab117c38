"""What a shared resource may contain, checked in one place for the form, the CSV import and
the CLI.

The policy on markup is to refuse it, not to clean it:

* Title, "why" and tags are plain text. Text that looks like HTML (a ``<`` directly followed
  by a letter, ``/``, ``!`` or ``?``, as in ``<b>`` or ``</a>``) is refused with a message
  asking for plain text, and so are control and format characters (Unicode Cc, Cf, Cs:
  NUL, escape codes, zero-width spaces) and the bidi overrides that can disguise text; the
  zero-width joiners stay, emoji sequences and Indic scripts need them. Ordinary whitespace
  (tabs, line breaks) is collapsed to single spaces: every field is one line. Text is stored
  in Unicode NFC. A lone ``<`` as in "risk < 5%" is kept.
* Whatever is stored is rendered escaped on every page and in every email (autoescaping
  Jinja2), so even a value that reached the database some other way stays inert.
* Links: http and https only (``javascript:``, ``data:``, ``file:``... are refused), no
  user name or password in them, and normalised (lower-case scheme and host, default port
  and ``#fragment`` dropped, non-ASCII percent-encoded) so the same page shared twice is
  recognised as one resource.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL = 2000
MAX_TITLE = 200
MAX_WHY = 300
MAX_TAGS = 5
MAX_TAG = 40

# Whitespace that is folded into a space rather than refused.
_FOLDED = frozenset("\t\n\r")
_JOINERS = frozenset("\u200c\u200d")
_MARKUP = re.compile(r"<[A-Za-z/!?]")
_TAG = re.compile(r"\w[\w +#&./'-]*")
# "www.example.org/page" without a scheme: assume https, as a browser's address bar does.
_BARE_DOMAIN = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*\.?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are in a path or query (RFC 3986 reserved ones, and "%" so that
# existing escapes are not escaped twice); everything else is percent-encoded as UTF-8.
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"

PLAIN_TEXT_ONLY = "Use plain text only: remove the HTML tags (text like <b> or </a>)."


def has_forbidden_characters(text: str) -> bool:
    """Control, format or surrogate characters (bidi overrides are format characters)."""
    return any(
        unicodedata.category(char) in ("Cc", "Cf", "Cs")
        and char not in _FOLDED
        and char not in _JOINERS
        for char in text
    )


@dataclass(frozen=True)
class ResourceDraft:
    """A resource that passed every check, ready to store."""

    url: str
    title: str
    why: str
    tags: tuple[str, ...]


def normalize_url(raw: str) -> str:
    """The canonical form of a shared link, or ValueError with a sentence for the person."""
    text = raw.strip()
    if not text:
        raise ValueError("Enter the link, starting with https://")
    if len(text) > MAX_URL:
        raise ValueError(f"Links can be at most {MAX_URL} characters long.")
    if has_forbidden_characters(text) or any(char.isspace() for char in text):
        raise ValueError("A link cannot contain spaces or line breaks.")
    if "://" not in text and _BARE_DOMAIN.match(text):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("This is not a valid web address.") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("Only web links starting with http:// or https:// can be shared.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Links with a user name or password in them cannot be shared.")
    host = parts.hostname or ""
    if not host:
        raise ValueError("This link has no website name (like www.example.org).")
    if ":" in host:  # an IPv6 literal
        netloc = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("The website name in this link is not valid.") from None
        if not _HOST.fullmatch(host):
            raise ValueError("The website name in this link is not valid.")
        netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    url = urlunsplit(
        (
            scheme,
            netloc,
            quote(parts.path or "/", safe=_SAFE_PATH),
            quote(parts.query, safe=_SAFE_QUERY),
            "",  # the fragment points inside the same page: not a different resource
        )
    )
    if len(url) > MAX_URL:
        raise ValueError(f"Links can be at most {MAX_URL} characters long.")
    return url


def clean_text(raw: str, *, limit: int, required: bool, what: str) -> str:
    """One line of plain text: whitespace collapsed, markup and control characters refused."""
    if has_forbidden_characters(raw):
        raise ValueError("Remove the invisible control characters from this text.")
    text = unicodedata.normalize("NFC", " ".join(raw.split()))
    if required and not text:
        raise ValueError(f"Enter {what}.")
    if _MARKUP.search(text):
        raise ValueError(PLAIN_TEXT_ONLY)
    if len(text) > limit:
        raise ValueError(f"Use at most {limit} characters (this has {len(text)}).")
    return text


def parse_tags(raw: str | Iterable[str]) -> tuple[str, ...]:
    """Tags from "a, b; c" (or from several such texts: ticked boxes and a free field).

    Lower-cased, a leading "#" dropped, repeats dropped; at most MAX_TAGS of at most
    MAX_TAG characters, each made of letters, digits, spaces and - + # & . / '.
    """
    texts = [raw] if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for text in texts:
        if has_forbidden_characters(text):
            raise ValueError("Remove the invisible control characters from the tags.")
        if _MARKUP.search(text):
            raise ValueError(PLAIN_TEXT_ONLY)
        for part in re.split(r"[,;]", text):
            tag = unicodedata.normalize("NFC", " ".join(part.split()).lstrip("#").strip().lower())
            if tag and tag not in tags:
                tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"Use at most {MAX_TAGS} tags (you gave {len(tags)}).")
    for tag in tags:
        if len(tag) > MAX_TAG:
            raise ValueError(
                f"Each tag can be at most {MAX_TAG} characters: “{tag[:MAX_TAG]}…” is longer."
            )
        if not _TAG.fullmatch(tag):
            raise ValueError(
                f"“{tag}”: tags can contain letters, digits, spaces and - + # & . / ' only."
            )
    return tuple(tags)


def check_resource(
    *, url: str, title: str, why: str, tags: str | Iterable[str], require_why: bool = True
) -> tuple[ResourceDraft | None, dict[str, str]]:
    """(the draft, {}) or (None, {field: message}) with a message for every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    checks = {
        "url": lambda: normalize_url(url),
        "title": lambda: clean_text(title, limit=MAX_TITLE, required=True, what="a title"),
        "why": lambda: clean_text(
            why, limit=MAX_WHY, required=require_why, what="one line on why it helped"
        ),
        "tags": lambda: parse_tags(tags),
    }
    for name, check in checks.items():
        try:
            values[name] = check()
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        return None, errors
    return ResourceDraft(**values), {}  # type: ignore[arg-type]
