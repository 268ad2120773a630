"""Enrolment through the trained assistant and the action server (the `chat` fixture)."""

from __future__ import annotations

import json

from bot.clinic.store import codes, db, services
from tests.helpers import bot_texts


def new_code(database_url: str, name: str) -> str:
    """Enrol a client in the servers' database; their code."""
    db.ensure_migrated(database_url)
    with db.unit_of_work(database_url) as s:
        return services.create_client(s, name, "Europe/Berlin")[1]


def linked_name(database_url: str, sender: str) -> str | None:
    """The display name of the client a conversation is linked to, from the database."""
    with db.unit_of_work(database_url) as s:
        client = services.client_for_sender(s, sender)
        return client.display_name if client else None


def agree(chat, message: str) -> str:
    """Send a message with a code, check the privacy question comes first, say yes."""
    asked = " ".join(bot_texts(chat.say(message)))
    assert "Do you agree?" in asked and "/privacy" in asked, asked
    return " ".join(bot_texts(chat.say("yes")))


def test_a_client_links_with_the_code_in_a_sentence(chat, database_url):
    code = new_code(database_url, "Robin")
    asked = " ".join(bot_texts(chat.say(f"my code is {code.lower().replace('-', ' ')}")))
    assert "Do you agree?" in asked
    assert linked_name(database_url, chat.sender) is None  # nothing linked before "yes"
    assert "Welcome, Robin" in " ".join(bot_texts(chat.say("yes, I agree")))
    assert linked_name(database_url, chat.sender) == "Robin"


def test_a_client_who_says_no_is_not_linked(chat, database_url):
    code = new_code(database_url, "Jo")
    chat.say(f"my code is {code}")
    assert "nothing is linked" in " ".join(bot_texts(chat.say("no")))
    assert linked_name(database_url, chat.sender) is None


def test_a_message_that_is_only_the_code_links(chat, database_url):
    code = new_code(database_url, "Kim")
    assert "Welcome, Kim" in agree(chat, code)


def test_the_telegram_deep_link_form_links(chat, database_url):
    code = new_code(database_url, "Noor")
    assert "Welcome, Noor" in agree(chat, f"link {code}")


def test_a_wrong_code_is_answered_and_nothing_is_linked(chat, database_url):
    replies = " ".join(bot_texts(chat.say("my code is ZZZZ-2222")))
    assert "That code didn't work" in replies
    assert linked_name(database_url, chat.sender) is None


def test_an_intent_shortcut_cannot_link_without_a_valid_code(chat, database_url):
    code = new_code(database_url, "Ari")
    forged = json.dumps({"enrolment_code": "ZZZZ-2222"})
    assert "That code didn't work" in " ".join(bot_texts(chat.say(f"/link_account{forged}")))
    assert linked_name(database_url, chat.sender) is None
    real = json.dumps({"enrolment_code": code})
    assert "Welcome, Ari" in agree(chat, f"/link_account{real}")


def test_guessing_is_stopped_after_five_wrong_codes(chat, database_url):
    code = new_code(database_url, "Lee")
    # Wrong codes that look like real ones (random from the same alphabet).
    for guess in (codes.generate() for _ in range(5)):
        assert "That code didn't work" in " ".join(bot_texts(chat.say(f"my code is {guess}")))
    assert "paused code checks" in " ".join(bot_texts(chat.say(f"link {code}")))
    assert linked_name(database_url, chat.sender) is None


def test_bare_random_codes_reach_the_code_check(chat):
    # The code alone, as people paste it: in any case, with a space or a full stop (five
    # guesses: the sixth wrong code in an hour would be refused by the rate limit).
    guesses = [codes.generate() for _ in range(5)]
    guesses[1], guesses[2], guesses[3] = (
        guesses[1].lower(), guesses[2].replace("-", " "), guesses[3] + ".")
    for guess in guesses:
        assert "That code didn't work" in " ".join(bot_texts(chat.say(guess))), guess
