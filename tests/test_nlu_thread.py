"""Rasa's NLU in its own thread (bot/rasa_ext/patches/nlu_thread.py): same results, the event loop stays free."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

from bot.rasa_ext.patches import nlu_thread


@pytest.fixture
def threaded():
    nlu_thread.install()
    yield
    nlu_thread.uninstall()


@pytest.mark.parametrize("text", ["what is ipt", "I want to end my life", "ABCD-EFGH", "hi"])
def test_the_parse_is_the_same_as_rasas(agent, event_loop_session, text):
    processor = agent.processor
    rasas = event_loop_session.run_until_complete(processor.parse_message(UserMessage(text)))
    nlu_thread.install()
    try:
        ours = event_loop_session.run_until_complete(processor.parse_message(UserMessage(text)))
    finally:
        nlu_thread.uninstall()
    assert ours == rasas


def test_the_nlu_runs_in_its_thread_and_the_loop_goes_on_meanwhile(agent, threaded, monkeypatch):
    processor = agent.processor
    real = processor._parse_message_with_graph
    seen: dict[str, str] = {}

    def slow(message, tracker, only_output_properties=True):
        seen["thread"] = threading.current_thread().name
        time.sleep(0.3)  # as a long message's encoder would, without yielding to the loop
        return real(message, tracker, only_output_properties)

    monkeypatch.setattr(processor, "_parse_message_with_graph", slow)

    async def scenario() -> tuple[dict, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        parsed = await processor.parse_message(UserMessage("what is ipt"))
        task.cancel()
        return parsed, ticks

    parsed, ticks = asyncio.run(scenario())
    assert parsed["intent"]["name"] == "ask_what_is_ipt"
    assert seen["thread"].startswith("ipt-nlu")
    assert ticks >= 10  # the loop ran other work during the 0.3 s


def test_uninstall_gives_rasa_its_own_method_back():
    nlu_thread.install()
    assert MessageProcessor.parse_message is nlu_thread.parse_message
    nlu_thread.uninstall()
    assert MessageProcessor.parse_message is not nlu_thread.parse_message
