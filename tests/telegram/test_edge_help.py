"""A crisis message on Telegram gets the emergency number and lines when Rasa can't answer.

The real service polls the fake Bot API; Rasa is a closed port (down) or the fake Rasa
answering late (slow). The clinic file is the example clinic, so the numbers are known.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.clinic import config as clinic
from bot.clinic import edge_help
from tests.helpers import REPO
from tests.telegram.fakes import message_update
from tests.telegram.harness import running

pytestmark = pytest.mark.anyio
CHAT = 5151
EXAMPLE = REPO / "clinic.example.yml"


@pytest.fixture
def example_clinic(monkeypatch):
    monkeypatch.setenv(clinic.ENV_VAR, str(EXAMPLE))
    return clinic.load(EXAMPLE)


def assert_resources_first(reply: str, config: clinic.ClinicConfig) -> None:
    assert reply.startswith(f"In immediate danger, call {config.emergency_number} now.")
    for line in config.crisis_lines:
        assert line.as_line() in reply


async def test_a_crisis_message_while_rasa_is_down_gets_the_number_and_every_line(
    config, telegram, example_clinic
):
    async with running(config, telegram, rasa_url="http://127.0.0.1:9"):
        telegram.push(message_update(CHAT, "i want to k1ll myself tonight"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    (reply,) = telegram.texts(CHAT)
    assert_resources_first(reply, example_clinic)
    assert edge_help.CRISIS_OPENING in reply


async def test_an_ordinary_message_while_rasa_is_down_gets_a_reply_with_the_number(
    config, telegram, example_clinic
):
    async with running(config, telegram, rasa_url="http://127.0.0.1:9"):
        telegram.push(message_update(CHAT, "how long does IPT take?"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    (reply,) = telegram.texts(CHAT)
    assert reply.startswith(edge_help.TROUBLE_OPENING)
    assert "555 0100" in reply and all(line.as_line() in reply
                                       for line in example_clinic.crisis_lines)
    assert edge_help.CRISIS_OPENING not in reply


async def test_a_crisis_message_does_not_wait_for_a_slow_rasa(
    config, telegram, rasa, example_clinic
):
    message = "I am going to end my life"
    rasa.delays[message] = 4.5  # under the 5 s timeout: Rasa answers, but late
    rasa.script = lambda m: [{"text": "Rasa's own crisis reply"}]
    async with running(config, telegram, crisis_grace=1.0):
        started = time.monotonic()
        telegram.push(message_update(CHAT, message))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
        first = time.monotonic() - started
        await telegram.wait_for(lambda: len(telegram.texts(CHAT)) == 2, timeout=10)
    assert first < 3.5, f"the resources took {first:.1f} s"
    edge, late = telegram.texts(CHAT)
    assert_resources_first(edge, example_clinic)
    assert late == "Rasa's own crisis reply"  # nothing is dropped


async def test_an_ordinary_message_waits_for_rasa_and_gets_only_its_answer(
    config, telegram, rasa, example_clinic
):
    message = "what happens in the middle phase?"
    rasa.delays[message] = 1.5
    rasa.script = lambda m: [{"text": "The middle phase works on one problem area."}]
    async with running(config, telegram, crisis_grace=0.5):
        telegram.push(message_update(CHAT, message))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert telegram.texts(CHAT) == ["The middle phase works on one problem area."]


async def test_a_crisis_message_rasa_answers_in_time_gets_only_rasa_s_answer(
    config, telegram, rasa, example_clinic
):
    rasa.script = lambda m: [{"text": "Rasa's own crisis reply, with the clinic's numbers"}]
    async with running(config, telegram, crisis_grace=2.0):
        telegram.push(message_update(CHAT, "I want to kill myself"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
        await asyncio.sleep(2.5)  # past the grace: no second message from the edge
    assert telegram.texts(CHAT) == ["Rasa's own crisis reply, with the clinic's numbers"]


async def test_a_crisis_reply_missing_the_numbers_gets_them_added(
    config, telegram, rasa, example_clinic
):
    # The action server is down: Rasa sends its static crisis words, and nothing after them.
    words = "Please call your local emergency number now. The people below can help."
    rasa.script = lambda m: [{"text": words}]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "I want to kill myself"))
        await telegram.wait_for(lambda: len(telegram.texts(CHAT)) == 2)
    first, added = telegram.texts(CHAT)
    assert first == words
    assert added == edge_help.resources_text(example_clinic)


async def test_a_crisis_reply_with_the_numbers_gets_nothing_added(
    config, telegram, rasa, example_clinic
):
    rasa.script = lambda m: [{"text": "Please call your local emergency number now."},
                             {"text": "In immediate danger, call 555 0100 now."}]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "I want to kill myself"))
        await telegram.wait_for(lambda: len(telegram.texts(CHAT)) == 2)
        await asyncio.sleep(0.5)
    assert len(telegram.texts(CHAT)) == 2
