"""Sends are paced ahead of Telegram's limits; its 429 ``retry_after`` is honoured."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.services.telegram.delivery import (
    Pacer,
    SendWindowClosed,
    make_bot,
    send_replies,
    send_window,
)
from bot.services.telegram.render import CallbackData

pytestmark = pytest.mark.anyio


def _most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


async def test_a_burst_to_many_chats_never_exceeds_30_messages_in_any_second(config, telegram):
    async with make_bot(config) as bot:
        await asyncio.gather(*(
            send_replies(bot, 1000 + i, [{"text": f"Reminder {i}"}], CallbackData())
            for i in range(60)))
    times = [c.at for c in telegram.sent()]
    assert len(times) == 60
    assert _most_in_one_second(times) <= 30
    assert max(times) - min(times) >= 1.8  # 60 messages need about two seconds


async def test_one_chat_gets_about_a_message_a_second_after_a_short_burst(config, telegram):
    replies = [{"text": f"Part {i}."} for i in range(6)]
    async with make_bot(config) as bot:
        await send_replies(bot, 7, replies, CallbackData())
    times = [c.at for c in telegram.sent(7)]
    assert telegram.texts(7) == [f"Part {i}." for i in range(6)]
    assert times[2] - times[0] < 0.5  # a three-paragraph reply goes out at once
    assert times[5] - times[2] >= 2.5  # then one a second (3 s, less network jitter)


async def test_flood_control_waits_the_time_telegram_asks(config, telegram):
    telegram.fail_once["sendMessage"] = 2
    async with make_bot(config) as bot:
        await send_replies(bot, 9, [{"text": "Your session is tomorrow."}], CallbackData())
    first, second = telegram.sent(9)
    assert second.at - first.at >= 2.0
    assert telegram.texts(9) == ["Your session is tomorrow."] * 2  # the 429, then the message


def test_the_pacer_reserves_slots_by_its_clock():
    now = [0.0]
    pacer = Pacer(overall_rate=20, overall_burst=5, chat_rate=1, chat_burst=3,
                  clock=lambda: now[0])
    first = [pacer.reserve("a") for _ in range(4)]
    assert first[:3] == [0.0, 0.0, 0.0] and first[3] == pytest.approx(1.0)
    waits = first + [pacer.reserve(i) for i in range(30)]
    assert sum(1 for w in waits if w < 1.0) <= 25  # 20 a second after a burst of 5


async def test_a_message_whose_window_closes_while_it_waits_for_its_slot_is_not_sent(
        config, telegram):
    async with make_bot(config) as bot:
        await send_replies(bot, 7, [{"text": f"Part {i}."} for i in range(3)], CallbackData())
        closes = time.monotonic() + 0.3  # the chat's next slot is about a second away
        with pytest.raises(SendWindowClosed), send_window(lambda: time.monotonic() < closes):
            await send_replies(bot, 7, [{"text": "Too late."}], CallbackData())
    assert telegram.texts(7) == ["Part 0.", "Part 1.", "Part 2."]


async def test_a_reply_begun_inside_its_window_is_sent_whole(config, telegram):
    checks = []

    def open_once() -> bool:
        checks.append(time.monotonic())
        return len(checks) == 1

    async with make_bot(config) as bot:
        with send_window(open_once):
            await send_replies(bot, 8, [{"text": "One."}, {"text": "Two."}], CallbackData())
        await send_replies(bot, 8, [{"text": "Three."}], CallbackData())  # no window here
    assert telegram.texts(8) == ["One.", "Two.", "Three."] and len(checks) == 1
