"""The command table: one place that says what each command sends to Rasa."""

from __future__ import annotations

import re

from bot.commands import COMMANDS, message_for


def test_every_command_has_a_menu_line_and_a_rasa_shortcut():
    for command in COMMANDS:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)  # Telegram's rule
        assert 3 <= len(command.description) <= 256
        assert command.rasa_message.startswith("/")


def test_start_with_a_code_links_and_without_one_greets():
    assert message_for("start", []) == "/greet"
    assert message_for("start", ["K7QF-2MXD"]) == "link K7QF-2MXD"
    # Anything that is not a deep-link code is just a greeting, never text for Rasa.
    assert message_for("start", ['/link{"code":"x"}']) == "/greet"
    assert message_for("start", ["a", "b"]) == "/greet"


def test_unknown_commands_get_help():
    assert message_for("greet", []) == "/ask_capabilities"
    assert message_for("delete", []) == "/request_data_deletion"
