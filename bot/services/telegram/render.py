"""Turn Rasa's replies into Telegram messages (pure: no network, no Bot)."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import limits
from bot.services.telegram import texts

TEXT_LIMIT = 4096  # Telegram's limit for a message, counted in UTF-16 code units
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
_SHORT_ID_PREFIX = "#"


@dataclass(frozen=True)
class OutText:
    """A text message to send."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class OutPhoto:
    """A photo (by URL) to send, with an optional caption."""

    url: str
    caption: str | None = None
    reply_markup: InlineKeyboardMarkup | None = None


OutMessage = OutText | OutPhoto


class CallbackData:
    """Map button payloads to Telegram's callback_data (at most 64 bytes) and back.

    Short payloads travel as they are. Longer ones (or ones that look like our ids) travel as
    ``#`` and a hash, remembered here; after a restart such a button has expired.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._by_id: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries

    def encode(self, payload: str) -> str:
        """The callback_data for ``payload``."""
        raw = payload.encode()
        if len(raw) <= CALLBACK_DATA_LIMIT and not payload.startswith(_SHORT_ID_PREFIX):
            return payload
        short = _SHORT_ID_PREFIX + hashlib.sha256(raw).hexdigest()[:32]
        self._by_id[short] = payload
        self._by_id.move_to_end(short)
        while len(self._by_id) > self._max:
            self._by_id.popitem(last=False)
        return short

    def decode(self, data: str) -> str | None:
        """The payload behind ``data``, or None when it is an id we no longer know."""
        if data.startswith(_SHORT_ID_PREFIX):
            return self._by_id.get(data)
        return data


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


clean_text = limits.clean_text  # the same cleaning on every channel


# Coarsest boundary first: paragraphs, then sentences, then words.
_BOUNDARIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\n[ \t]*\n\s*"), "\n\n"),
    (re.compile(r"(?<=[.!?…])\s+"), " "),
    (re.compile(r"\s+"), " "),
)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into messages within ``limit``, at paragraph, sentence or word ends."""
    text = text.strip()
    if not text:
        return []
    return [chunk for chunk in _split(text, limit, 0) if chunk.strip()]


def _split(text: str, limit: int, level: int) -> list[str]:
    if utf16_len(text) <= limit:
        return [text]
    if level == len(_BOUNDARIES):
        return _hard_cut(text, limit)
    pattern, joiner = _BOUNDARIES[level]
    chunks: list[str] = []
    current = ""
    for part in pattern.split(text):
        if not part.strip():
            continue
        for piece in _split(part.strip(), limit, level + 1):
            candidate = f"{current}{joiner}{piece}" if current else piece
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _hard_cut(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for ch in text:
        if utf16_len(current + ch) > limit:
            chunks.append(current)
            current = ""
        current += ch
    if current:
        chunks.append(current)
    return chunks


_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def plain_links(text: str) -> str:
    """Write Markdown links as ``label (url)``: we send plain text, Telegram links the URL."""
    return _MARKDOWN_LINK.sub(r"\1 (\2)", text)


def keyboard(
    buttons: Iterable[dict[str, Any]], callbacks: CallbackData
) -> InlineKeyboardMarkup | None:
    """An inline keyboard for Rasa buttons: short titles side by side, long ones one per row."""
    made: list[InlineKeyboardButton] = []
    for button in buttons:
        title = str(button.get("title") or button.get("payload") or "").strip()
        if not title:
            continue
        if button.get("url"):
            made.append(InlineKeyboardButton(title, url=str(button["url"])))
        elif button.get("payload"):
            made.append(
                InlineKeyboardButton(title, callback_data=callbacks.encode(str(button["payload"])))
            )
    if not made:
        return None
    if len(made) <= 3 and all(len(b.text) <= 12 for b in made):
        return InlineKeyboardMarkup([made])
    return InlineKeyboardMarkup([[b] for b in made])


def render(replies: Iterable[dict[str, Any]], callbacks: CallbackData) -> list[OutMessage]:
    """The Telegram messages for Rasa's replies, in order; buttons go on the last part."""
    out: list[OutMessage] = []
    for reply in replies:
        buttons = list(reply.get("buttons") or []) + list(reply.get("quick_replies") or [])
        markup = keyboard(buttons, callbacks)
        text = plain_links(clean_text(str(reply.get("text") or "")))
        image = reply.get("image")
        attachment = reply.get("attachment")
        if isinstance(attachment, str) and attachment:
            text = f"{text}\n\n{attachment}" if text else attachment
        if isinstance(image, str) and image:
            if text and utf16_len(text) <= CAPTION_LIMIT:
                out.append(OutPhoto(image, text, markup))
                continue
            out.append(OutPhoto(image, None, None if text else markup))
        chunks = split_text(text)
        for i, chunk in enumerate(chunks):
            out.append(OutText(chunk, markup if i == len(chunks) - 1 else None))
        if not chunks and markup is not None and not image:
            # Buttons without text: Telegram needs some text to hang the keyboard on.
            out.append(OutText(texts.CHOOSE, markup))
    return out
