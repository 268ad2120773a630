"""One-time enrolment codes: generation, normalisation, extraction from messages, hashing.

Codes look like ``K7QF-2MXD``: eight characters from an alphabet without 0/O/1/I/L (easy to
read aloud and to type), with at least one digit and one letter so ordinary words never
look like a code. Only a keyed SHA-256 hash (HMAC) is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import date, datetime, timezone

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
KEY_ENV = "IPT_CODE_KEY"

# Two groups of four, separated by a dash, spaces or nothing, not inside a longer word. A
# lookahead, so overlapping candidates are all tried ("link K7QF-2MXD": "LINK K7QF" first).
_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])(?=([A-Za-z0-9]{4})[\s\-_.]{0,3}([A-Za-z0-9]{4})(?![A-Za-z0-9]))"
)


def generate() -> str:
    """A new random code, formatted ``XXXX-XXXX``."""
    while True:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if _looks_like_code(raw):
            return f"{raw[:4]}-{raw[4:]}"


def _looks_like_code(raw: str) -> bool:
    """Eight alphabet characters with at least one digit and one letter."""
    return (
        len(raw) == LENGTH
        and all(c in ALPHABET for c in raw)
        and any(c.isdigit() for c in raw)
        and any(c.isalpha() for c in raw)
    )


def normalise(text: str) -> str | None:
    """The canonical ``XXXX-XXXX`` form of what a user typed, or None if it is not a code."""
    raw = re.sub(r"[\s\-_.]", "", text or "").upper()
    if not _looks_like_code(raw):
        return None
    return f"{raw[:4]}-{raw[4:]}"


def extract(text: str) -> str | None:
    """The first code in a message ("my code is k7qf 2mxd", "/start K7QF-2MXD"), normalised."""
    for match in _CANDIDATE.finditer(text or ""):
        code = normalise(match.group(1) + match.group(2))
        if code:
            return code
    return None


def _key() -> bytes:
    """The HMAC key: IPT_CODE_KEY, else a random one generated once into var/secrets/.

    Never a constant in the repository: with a known key, a leaked database would let
    anyone test candidate codes offline.
    """
    from bot.settings import secret

    return secret(KEY_ENV, "code_key").encode()


def address_tag(address: str | None, day: date | None = None) -> str | None:
    """A client address as the store keeps it for the code-attempt limit: keyed hash, hex.

    The address itself is never stored nor put in a conversation's events (it is personal
    data). Equal addresses give equal tags on the same (UTC) day, so an hour's attempts
    from one address can be counted; the day is part of the hash, so tags of different
    days cannot be matched to follow a visitor from one day to the next.
    """
    if not address:
        return None
    day = day or datetime.now(timezone.utc).date()
    message = f"address:{day.isoformat()}:{address}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def hash_code(code: str) -> str:
    """The stored form of a normalised code (hex HMAC-SHA256)."""
    return hmac.new(_key(), code.encode(), hashlib.sha256).hexdigest()
