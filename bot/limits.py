"""Input limits every channel applies before a message reaches the assistant.

Messages longer than ``IPT_MAX_MESSAGE_CHARS`` (default 2,000) are refused with a clear
answer and never processed; control characters (except newline and tab) are removed.
The web channel, the Telegram service and the REST channel all call these.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_MAX_MESSAGE_CHARS = 2000
ENV_VAR = "IPT_MAX_MESSAGE_CHARS"
TOO_LONG = (
    "That message is too long for me to read in one go. Could you send it in a shorter "
    "message, under {limit} characters?"
)


# Conversation ids from outside (REST senders): short, plain characters, nothing a database
# column (255), a URL path or a log line could trip on.
MAX_SENDER_CHARS = 100
_SENDER = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{MAX_SENDER_CHARS - 1}}}")


def valid_sender(sender: object) -> bool:
    """Whether ``sender`` is an acceptable conversation id (length and characters)."""
    return isinstance(sender, str) and _SENDER.fullmatch(sender) is not None


def max_message_chars() -> int:
    """The configured limit (read when called, so tests can change it)."""
    try:
        value = int(os.environ.get(ENV_VAR, DEFAULT_MAX_MESSAGE_CHARS))
    except ValueError:
        return DEFAULT_MAX_MESSAGE_CHARS
    return value if value > 0 else DEFAULT_MAX_MESSAGE_CHARS


def clean_text(text: str) -> str:
    """Remove control characters (keeping newlines and tabs) and surrounding whitespace.

    Unpaired surrogates (which JSON can carry but UTF-8 cannot encode) go too.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        ch for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    ).strip()


def too_long_answer(limit: int | None = None) -> str:
    """The answer to a message over the limit."""
    return TOO_LONG.format(limit=limit or max_message_chars())


# --- rate limits on the public path (issue 19) ----------------------------------------------

SLOW_DOWN = ("You're sending messages faster than I can read them. Please wait a moment, "
             "then send your message again.")
TOO_MANY_SESSIONS = "Too many new conversations from your network. Please try again later."
# name: (environment variable, default "N/SECONDS": N at once, N again over SECONDS)
RATES = {
    "sessions_per_address": ("IPT_RATE_SESSIONS_PER_ADDRESS", "10/600"),
    # a message costs 1 + 1 per 250 characters here (bot/services/web/server.py)
    "messages_per_address": ("IPT_RATE_MESSAGES_PER_ADDRESS", "30/60"),
    "messages_per_visitor": ("IPT_RATE_MESSAGES_PER_VISITOR", "12/60"),
}


def rate(name: str) -> tuple[int, float]:
    """(burst, seconds) of a configured rate; the default when the setting is malformed."""
    env, default = RATES[name]
    for raw in (os.environ.get(env, ""), default):
        n, _, seconds = raw.partition("/")
        try:
            burst, window = int(n), float(seconds)
        except ValueError:
            continue
        if burst > 0 and window > 0:
            return burst, window
    raise AssertionError(default)


class RateLimiter:
    """Token buckets per key (an address, a conversation): ``burst`` at once, then
    ``burst`` per ``seconds``. In memory, one per process, at most ``max_keys`` keys (the
    oldest dropped first), so a flood of new keys costs bounded memory."""

    def __init__(self, burst: int, seconds: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.per_second = burst, burst / seconds
        self.max_keys, self.clock = max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @classmethod
    def from_env(cls, name: str) -> RateLimiter:
        return cls(*rate(name))

    def allow(self, key: str, cost: float = 1.0) -> bool:
        """Take ``cost`` from ``key``'s bucket; False (nothing taken) when it is empty."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        allowed = tokens >= cost
        self._buckets[key] = (tokens - cost if allowed else tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed


# Enrolment-code attempts from one client address over an hour, whatever the conversation:
# a web conversation costs one POST, so the limit per conversation (5) alone does not stop one
# visitor guessing from many (issue 19). Counted where codes are checked (bot/clinic/store/services.py),
# in the database, so every action server and restart sees the same count.
CODE_ATTEMPTS_PER_ADDRESS_ENV = "IPT_MAX_CODE_ATTEMPTS_PER_ADDRESS"
DEFAULT_CODE_ATTEMPTS_PER_ADDRESS = 20


def code_attempts_per_address() -> int:
    """The configured cap (read when called, so tests and operators can change it)."""
    try:
        value = int(os.environ.get(CODE_ATTEMPTS_PER_ADDRESS_ENV,
                                   DEFAULT_CODE_ATTEMPTS_PER_ADDRESS))
    except ValueError:
        return DEFAULT_CODE_ATTEMPTS_PER_ADDRESS
    return value if value > 0 else DEFAULT_CODE_ATTEMPTS_PER_ADDRESS


# The key of a user message's metadata that carries the tag of the client's address: set by
# our web channel only (bot/rasa_ext/web_channel.py), dropped from what any other channel passes on.
ADDRESS_TAG_KEY = "address_tag"


def without_address_tag(metadata: dict | None) -> dict | None:
    """``metadata`` from outside, minus the key only our web channel may set."""
    if not isinstance(metadata, dict):
        return None
    return {k: v for k, v in metadata.items() if k != ADDRESS_TAG_KEY}


def forwarded_address(forwarded_for: str | None, peer: str | None) -> str | None:
    """The client's address as our web server saw it: the last X-Forwarded-For entry.

    Our web server appends the address of the socket it accepted (bot/services/web/server.py) to
    whatever the header said before, which anyone can write; so only the last entry is
    believed. Without the header (a process on loopback talking to Rasa directly), the peer.
    """
    entries = [e.strip() for e in (forwarded_for or "").split(",") if e.strip()]
    address = entries[-1] if entries else (peer or "")
    return address[:64] or None


def max_frame_bytes() -> int:
    """The largest socket.io frame a message can need: the longest message JSON-escaped
    (up to 12 bytes a character) with its event name and session id."""
    return 12 * max_message_chars() + 1024
