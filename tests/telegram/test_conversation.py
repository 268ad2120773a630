"""The real service, polling the fake Bot API and talking to a fake Rasa."""

from __future__ import annotations

import logging

import pytest

from bot.clinic import config as clinic
from bot.clinic import edge_help
from bot.services.telegram import texts
from tests.telegram.fakes import callback_update, message_update
from tests.telegram.harness import running

pytestmark = pytest.mark.anyio
CHAT = 4242


async def test_a_question_gets_rasa_s_answer_in_the_same_chat(config, telegram, rasa):
    rasa.script = lambda m: [{"text": "IPT is a short, structured talking therapy."}]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "what is IPT?"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert rasa.requests[0]["sender"] == f"tg-{CHAT}"
    assert rasa.requests[0]["message"] == "what is IPT?"
    assert rasa.requests[0]["metadata"] == {"channel": "telegram", "language": "en"}
    assert telegram.texts(CHAT) == ["IPT is a short, structured talking therapy."]
    assert telegram.called("sendChatAction")[0].params["action"] == "typing"


async def test_the_command_menu_is_set_at_start(config, telegram, rasa):
    async with running(config, telegram):
        pass
    (call,) = telegram.called("setMyCommands")
    names = [c["command"] for c in call.params["commands"]]
    assert names == ["start", "help", "checkin", "homework", "session", "privacy", "delete"]
    assert all(c["description"] for c in call.params["commands"])
    # Polling takes over from a webhook left behind, keeping updates that wait at Telegram.
    (delete,) = telegram.called("deleteWebhook")
    assert delete.params.get("drop_pending_updates") in (None, False)


async def test_buttons_become_an_inline_keyboard_and_a_tap_sends_the_payload(
    config, telegram, rasa
):
    long_payload = '/inform{"problem_area": "' + "role transitions " * 5 + '"}'
    rasa.script = lambda m: (
        [
            {
                "text": "Which phase?",
                "buttons": [
                    {"title": "The first phase", "payload": "/ask_initial_phase"},
                    {"title": "Something long", "payload": long_payload},
                ],
            }
        ]
        if m == "phases"
        else [{"text": f"got {m}"}]
    )
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "phases"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
        (question,) = telegram.sent(CHAT)
        rows = question.params["reply_markup"]["inline_keyboard"]
        datas = [b["callback_data"] for row in rows for b in row]
        assert datas[0] == "/ask_initial_phase"
        assert len(datas[1].encode()) <= 64 and datas[1] != long_payload

        telegram.push(callback_update(CHAT, question, datas[1]))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) == 2)
        # A second tap on the same message must not reach Rasa again.
        telegram.push(callback_update(CHAT, question, datas[0]))
        await telegram.wait_for(lambda: len(telegram.called("answerCallbackQuery")) == 2)
    assert rasa.messages == ["phases", long_payload]
    assert telegram.texts(CHAT)[1] == f"got {long_payload}"
    first, second = telegram.called("answerCallbackQuery")
    assert "text" not in first.params and "text" not in second.params
    (edit,) = telegram.called("editMessageReplyMarkup")
    assert edit.params["message_id"] == question.result["message_id"]
    assert "reply_markup" not in edit.params or not edit.params["reply_markup"]
    # The keyboard is retired before the answer to the tap is sent.
    assert edit.at <= telegram.sent(CHAT)[1].at


async def test_a_forged_button_is_answered_but_not_sent_to_rasa(config, telegram, rasa):
    rasa.script = lambda m: [{"text": "Pick", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "hello"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
        telegram.push(callback_update(CHAT, telegram.sent(CHAT)[0], "/request_data_deletion"))
        await telegram.wait_for(lambda: telegram.called("answerCallbackQuery"))
    assert rasa.messages == ["hello"]
    assert telegram.called("answerCallbackQuery")[0].params["text"] == texts.BUTTON_EXPIRED
    assert not telegram.called("editMessageReplyMarkup")


async def test_start_without_a_code_greets(config, telegram, rasa):
    rasa.script = lambda m: [{"text": "Hello! I can tell you about IPT."}]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "/start"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert rasa.messages == ["/greet"]
    assert telegram.texts(CHAT) == ["Hello! I can tell you about IPT."]


async def test_start_with_a_deep_link_code_sends_the_code_for_linking(config, telegram, rasa):
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "/start K7QF-2MXD"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert rasa.messages == ["link K7QF-2MXD"]


async def test_menu_commands_and_unknown_commands_map_to_shortcuts(config, telegram, rasa):
    async with running(config, telegram):
        for text in ["/help", "/checkin", "/homework", "/privacy", "/delete", "/greet{}"]:
            telegram.push(message_update(CHAT, text))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) == 6)
    assert rasa.messages == [
        "/ask_capabilities",
        "/start_checkin",
        "/ask_homework_assigned",
        "/ask_privacy",
        "/request_data_deletion",
        "/ask_capabilities",
    ]


async def test_typed_text_cannot_be_an_intent_shortcut(config, telegram, rasa):
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "  /request_data_deletion"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert rasa.messages == ["request_data_deletion"]


@pytest.mark.parametrize(
    "kind",
    [
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {
            "photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
            "caption": "look",
        },
    ],
)
async def test_a_non_text_message_gets_a_kind_answer_and_is_not_sent_to_rasa(
    config, telegram, rasa, kind
):
    async with running(config, telegram):
        telegram.push(message_update(CHAT, None, **kind))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert telegram.texts(CHAT) == [texts.TEXT_ONLY]
    assert rasa.requests == []


async def test_rasa_down_gets_the_user_an_apology_with_the_resources_and_a_log_line(
    config, telegram, caplog
):
    secret_text = "my private worry about my sister"
    async with running(config, telegram, rasa_url="http://127.0.0.1:9"):
        telegram.push(message_update(CHAT, secret_text))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    (reply,) = telegram.texts(CHAT)
    assert reply.startswith(edge_help.TROUBLE_OPENING)
    # even a message that is not a crisis: the failure reply always carries the numbers
    assert edge_help.resources_text(clinic.load(clinic.DEFAULT_FILE)) in reply
    assert "112" in reply and "https://findahelpline.com" in reply
    warnings = [
        r for r in caplog.records if r.name.startswith("bot.services.telegram") and r.levelname == "WARNING"
    ]
    assert any("Rasa server unavailable" in r.getMessage() for r in warnings)
    assert not any(secret_text in r.getMessage() for r in caplog.records)
    assert not any(
        str(CHAT) in r.getMessage()
        for r in caplog.records
        if r.levelno >= 20 and r.name.startswith("bot.")
    )


async def test_a_429_from_telegram_is_waited_out_and_the_reply_still_arrives(
    config, telegram, rasa
):
    telegram.fail_once["sendMessage"] = 1
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "hello"))
        await telegram.wait_for(
            lambda: telegram.sent(CHAT) and telegram.sent(CHAT)[-1].result is not None
        )
    first, second = telegram.sent(CHAT)
    assert first.result is None and second.result is not None  # refused, then delivered
    assert second.params["text"] == "You said: hello"
    assert second.at - first.at >= 1.0


async def test_a_long_reply_is_split_within_telegram_s_limit(config, telegram, rasa):
    paragraph = "This sentence is about the middle phase of IPT. " * 30
    rasa.script = lambda m: [
        {
            "text": "\n\n".join([paragraph.strip()] * 6),
            "buttons": [{"title": "More", "payload": "/tell_me_more"}],
        }
    ]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "tell me everything"))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) >= 3)
        await telegram.wait_for(lambda: "reply_markup" in telegram.sent(CHAT)[-1].params)
    sent = telegram.texts(CHAT)
    # 6 paragraphs of 1,439 characters: two fit in a message, three do not.
    assert sent == ["\n\n".join([paragraph.strip()] * 2)] * 3
    assert [("reply_markup" in c.params) for c in telegram.sent(CHAT)] == [False, False, True]


async def test_too_long_input_is_refused_without_asking_rasa(config, telegram, rasa):
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "a" * 2001))
        telegram.push(message_update(CHAT, "b" * 2000 + "\x00\x07"))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) == 2)
    assert telegram.texts(CHAT)[0] == texts.TOO_LONG.format(limit=2000)
    assert rasa.messages == ["b" * 2000]


async def test_images_are_sent_as_photos(config, telegram, rasa):
    rasa.script = lambda m: [
        {"text": "The three phases:"},
        {"image": "https://example.org/phases.png"},
    ]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "show me"))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) == 2)
    text, photo = telegram.sent(CHAT)
    assert text.method == "sendMessage" and photo.method == "sendPhoto"
    assert photo.params["photo"] == "https://example.org/phases.png"


async def test_one_slow_answer_holds_up_its_own_chat_only(config, telegram, rasa):
    rasa.delays["slow"] = 2.0
    async with running(config, telegram):
        telegram.push(message_update(1, "slow"))
        telegram.push(message_update(1, "second"))
        telegram.push(message_update(2, "other"))
        await telegram.wait_for(lambda: len(telegram.sent()) == 3)
    assert telegram.texts(1) == ["You said: slow", "You said: second"]
    assert telegram.sent(2)[0].at < telegram.sent(1)[0].at


async def test_a_broken_connection_to_telegram_is_retried_and_the_reply_arrives(
    config, telegram, rasa
):
    telegram.drop_once.add("sendMessage")
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "hello"))
        await telegram.wait_for(lambda: any(c.result for c in telegram.sent(CHAT)))
    first, second = telegram.sent(CHAT)
    assert first.result is None and second.params["text"] == "You said: hello"


async def test_a_photo_telegram_cannot_fetch_is_sent_as_its_link(config, telegram, rasa):
    telegram.bad_photo_urls.add("https://example.org/gone.png")
    rasa.script = lambda m: [{"text": "Phases", "image": "https://example.org/gone.png"}]
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "show me"))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) == 2)
    assert telegram.sent(CHAT)[1].method == "sendMessage"
    assert telegram.texts(CHAT)[1] == "Phases\n\nhttps://example.org/gone.png"


async def test_nothing_the_user_wrote_reaches_the_logs_at_info_or_above(
    config, telegram, rasa, caplog
):
    caplog.set_level(logging.INFO)
    words = ["I argue with my partner every night", "/start K7QF-2MXD", "x" * 2500]
    rasa.script = lambda m: [
        {"text": "Thanks", "buttons": [{"title": "Yes", "payload": "/affirm"}]}
    ]
    async with running(config, telegram):
        for text in words:
            telegram.push(message_update(CHAT, text))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) == 3)
        telegram.push(callback_update(CHAT, telegram.sent(CHAT)[0], "/affirm"))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) == 4)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "Telegram is on: long polling" in logged  # the capture works
    for text in [*words, "K7QF", "Thanks", config.token]:
        assert text[:30] not in logged


async def test_in_a_group_the_bot_only_asks_to_write_privately(config, telegram, rasa):
    group = -100123
    async with running(config, telegram):
        telegram.push(message_update(group, "what is IPT?", chat_type="supergroup"))
        telegram.push(message_update(group, "/start", chat_type="supergroup"))
        await telegram.wait_for(lambda: telegram.sent(group))
        telegram.push(message_update(CHAT, "hello"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert telegram.texts(group) == [texts.PRIVATE_ONLY]
    assert rasa.messages == ["hello"]


async def test_an_edited_message_is_not_a_new_message(config, telegram, rasa):
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "changed my mind", kind="edited_message"))
        telegram.push(message_update(CHAT, "hello"))
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert rasa.messages == ["hello"]
