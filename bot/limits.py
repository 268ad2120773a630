"""Input limits every channel applies before a message reaches the assistant.

Messages longer than ``IPT_MAX_MESSAGE_CHARS`` (default 2,000) are refused with a clear
answer and never processed; control characters (except newline and tab) are removed.
The web channel, the Telegram service and the REST channel all call these.
"""

from __future__ import annotations

import os
import re
import unicodedata

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
