"""Typed intent shortcuts are plain text; only our own buttons' payloads pass as intents.

Rasa reads a message starting with ``/`` as an intent shortcut: ``/crisis_suicide`` sets the
intent without the NLU, ``/EXTERNAL_session_reminder{"session_time": "..."}`` sets entities,
and when the intent is unknown Rasa logs the whole message at WARNING. Our buttons send such
shortcuts on purpose (the widget's quick replies, Telegram's buttons and commands), so a
channel cannot drop them all. Every channel passes the text through :func:`harmless` before
Rasa sees it:

- a shortcut our assistant offers (a button payload in the domain, a Telegram command's
  message, the widget's opening ``/greet``, or a homework choice the homework action builds)
  passes unchanged: typing it is the same as tapping the button;
- anything else that starts with ``/`` loses its leading slashes and is read by the NLU as
  the words it is ("crisis_suicide"), never as an intent with entities.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import yaml

from bot import domain_files, settings

PREFIX = "/"
MAX_PAYLOAD_CHARS = 200
_SHORTCUT = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,63})(\{.*\})?$", re.DOTALL)
_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Payloads built at run time, not in the domain: intent -> the entities they may carry.
DYNAMIC: dict[str, frozenset[str]] = {"choose_assignment": frozenset({"hw_assignment"})}
# Shortcuts our channels send that are not in a response's buttons.
EXTRA = ("/greet",)  # the widget's opening message (web/src/widget.js data-init-payload)


def _parse(text: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(intent, sorted entity items) of a shortcut, or None if it is not a simple one."""
    match = _SHORTCUT.match(text)
    if match is None:
        return None
    intent, raw = match.groups()
    if raw is None:
        return intent, ()
    try:
        entities = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(entities, dict):
        return None
    items = []
    for key, value in entities.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _VALUE.match(value) or not _VALUE.match(key):
            return None
        items.append((key, value))
    return intent, tuple(sorted(items))


def _domain_payloads(paths: list[Path]) -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            payload = node.get("payload")
            if isinstance(payload, str) and payload.startswith(PREFIX):
                # responses escape braces for templating: {{"rating": "3"}} is sent as {"rating": "3"}
                found.add(payload.replace("{{", "{").replace("}}", "}"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in paths:
        walk((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses"))
    return found


@lru_cache(maxsize=1)
def allowed() -> frozenset[tuple[str, tuple[tuple[str, str], ...]]]:
    """The shortcuts our assistant offers, parsed (read once from the domain and the commands)."""
    from bot.commands import COMMANDS

    payloads = _domain_payloads(domain_files.files(settings.REPO))
    payloads |= {c.rasa_message for c in COMMANDS if c.rasa_message.startswith(PREFIX)}
    payloads |= set(EXTRA)
    return frozenset(p for p in map(_parse, payloads) if p is not None)


def is_ours(text: str) -> bool:
    """Whether ``text`` is a shortcut one of our buttons or commands sends."""
    if len(text) > MAX_PAYLOAD_CHARS:
        return False
    parsed = _parse(text)
    if parsed is None:
        return False
    intent, entities = parsed
    if parsed in allowed():
        return True
    keys = DYNAMIC.get(intent)
    return keys is not None and len(entities) == 1 and entities[0][0] in keys


def harmless(text: str) -> str:
    """``text`` as Rasa may see it: our payloads unchanged, any other shortcut as plain words."""
    if not text.startswith(PREFIX) or is_ours(text):
        return text
    return text.lstrip(PREFIX).strip()
