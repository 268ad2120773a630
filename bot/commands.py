"""The Telegram commands, their menu texts and what each one sends to Rasa (one table)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One slash command: its name, its line in Telegram's menu, and the message for Rasa."""

    name: str
    description: str
    rasa_message: str


# Messages that start with "/" are Rasa intent shortcuts. /delete only asks: the erasure needs
# a "yes" to the bot's question right after it (bot/clinic/privacy.py).
COMMANDS: tuple[Command, ...] = (
    Command("start", "Start or restart our conversation", "/greet"),
    Command("help", "What I can help you with", "/ask_capabilities"),
    Command("checkin", "Check in on how your week is going", "/start_checkin"),
    Command("homework", "See the homework from your sessions", "/ask_homework_assigned"),
    Command("session", "When your next session is", "/query_next_session"),
    Command("privacy", "What I keep about you and who sees it", "/ask_privacy"),
    Command("delete", "Delete your data (asks you first)", "/request_data_deletion"),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}

# Telegram deep-link parameters may only hold these characters (at most 64 of them).
_START_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def message_for(name: str, args: list[str]) -> str:
    """The message sent to Rasa for command ``name`` with its arguments.

    ``/start CODE`` (from a ``t.me/<bot>?start=CODE`` deep link) sends ``link CODE`` so the
    enrolment action links the conversation; unknown commands get the help answer, so a user
    can never type their own intent shortcut.
    """
    if name == "start" and len(args) == 1 and _START_CODE.fullmatch(args[0]):
        return f"link {args[0]}"
    command = BY_NAME.get(name, BY_NAME["help"])
    return command.rasa_message
