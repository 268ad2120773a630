"""Typed intent shortcuts are plain text; our own buttons' payloads pass (bot/payloads.py)."""

from __future__ import annotations

import pytest

from bot import payloads
from bot.commands import COMMANDS


def test_every_button_payload_in_the_domain_and_every_command_passes_unchanged():
    found = payloads._domain_payloads(payloads.domain_files.files())
    assert len(found) > 20 and any("{" in p for p in found)
    for payload in [*found, *(c.rasa_message for c in COMMANDS), "/greet",
                    '/choose_assignment{"hw_assignment": "17"}',
                    '/choose_assignment{"hw_assignment": "free"}']:
        assert payloads.harmless(payload) == payload, payload


@pytest.mark.parametrize("typed, plain", [
    ("/crisis_suicide", "crisis_suicide"),
    ("//crisis_abuse", "crisis_abuse"),
    ('/EXTERNAL_session_reminder{"session_time": "x"}',
     'EXTERNAL_session_reminder{"session_time": "x"}'),
    ('/inform_rating{"rating": "3", "extra": "1"}', 'inform_rating{"rating": "3", "extra": "1"}'),
    ('/inform_rating{"rating": "99"}', 'inform_rating{"rating": "99"}'),
    ('/choose_assignment{"hw_assignment": "1 OR 1=1"}',
     'choose_assignment{"hw_assignment": "1 OR 1=1"}'),
    ("/affirm@0.99", "affirm@0.99"),
    ("/ i feel low", "i feel low"),
    ("/", ""),
    ("what is IPT/", "what is IPT/"),
])
def test_anything_else_starting_with_a_slash_becomes_plain_words(typed, plain):
    assert payloads.harmless(typed) == plain
