"""The safety flag hook, the on-call notification (real python-telegram-bot, fake Bot API on
loopback) and the crisis resources action."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clinic import config as clinic
from bot.clinic import safety
from tests.helpers import REPO
from tests.loopback import LoopbackServer

EXAMPLE = clinic.load(REPO / "clinic.example.yml")
WHEN = datetime(2026, 11, 23, 14, 5, tzinfo=timezone.utc)
pytestmark = pytest.mark.clock
SECRET_WORDS = "i took all my pills"


class FakeRecorder:
    def __init__(self, enrolled: bool) -> None:
        self.enrolled = enrolled
        self.calls: list[tuple[str, str]] = []

    def __call__(self, sender_id: str, category: str) -> bool:
        self.calls.append((sender_id, category))
        return self.enrolled


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def __call__(self, chat_id: str, text: str) -> None:
        self.sent.append((chat_id, text))


def run(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


def test_an_enrolled_client_is_flagged_and_the_on_call_chat_told():
    recorder, sender = FakeRecorder(True), FakeSender()
    outcome = run(safety.handle_crisis("tg-42", "medical", EXAMPLE, when=WHEN,
                                       recorder=recorder, sender=sender, key="k"))
    assert outcome == safety.CrisisOutcome(flagged=True, notified=True)
    assert recorder.calls == [("tg-42", "medical")]
    [(chat_id, text)] = sender.sent
    assert chat_id == "-1001234567890"
    assert "possible medical emergency" in text and "2026-11-23 14:05 UTC" in text
    assert safety.pseudonym("tg-42", "k") in text
    assert "tg-42" not in text


def test_someone_not_enrolled_is_not_flagged_and_nobody_is_notified():
    sender = FakeSender()
    outcome = run(safety.handle_crisis("web-1", "suicide", EXAMPLE, recorder=FakeRecorder(False),
                                       sender=sender, key="k"))
    assert outcome == safety.CrisisOutcome(flagged=False, notified=False)
    assert sender.sent == []


def test_no_on_call_chat_configured_means_no_notification():
    default = clinic.load(clinic.DEFAULT_FILE)
    sender = FakeSender()
    outcome = run(safety.handle_crisis("tg-1", "abuse", default, recorder=FakeRecorder(True),
                                       sender=sender, key="k"))
    assert outcome.flagged and not outcome.notified and sender.sent == []


def test_a_failing_store_or_sender_never_raises(caplog):
    def broken(sender_id: str, category: str) -> bool:
        raise RuntimeError("database down")

    async def slow(chat_id: str, text: str) -> None:
        raise OSError("network down")

    assert safety.record_flag("x", "suicide", broken) is False
    assert run(safety.notify_on_call(EXAMPLE, "suicide", "ref", WHEN, slow)) is False


def test_the_pseudonym_is_stable_and_hides_the_sender():
    assert safety.pseudonym("12345", "k") == safety.pseudonym("12345", "k")
    assert safety.pseudonym("12345", "k") != safety.pseudonym("12346", "k")
    assert "12345" not in safety.pseudonym("12345", "k")


def test_the_notification_really_goes_through_python_telegram_bot():
    """A fake Telegram Bot API on loopback receives getMe and sendMessage."""
    received: list[dict] = []

    async def handler(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.post() if request.can_read_body else {}
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "ipt", "username": "ipt_bot"}
        else:
            received.append({"method": method, **dict(body)})
            result = {"message_id": 1, "date": 0, "chat": {"id": -100, "type": "group"},
                      "text": body.get("text", "")}
        return web.json_response({"ok": True, "result": result})

    class OnCallBot(LoopbackServer):
        path = "/bot"

        def routes(self, app: web.Application) -> None:
            app.router.add_post("/bot{token}/{method}", handler)

    async def scenario() -> list[dict]:
        server = OnCallBot()
        try:
            send = safety.telegram_sender("123:abc", await server.start())
            ok = await safety.notify_on_call(EXAMPLE, "suicide", "ref123", WHEN, send)
            assert ok
        finally:
            await server.stop()
        return received

    [sent] = run(scenario())
    assert sent["method"] == "sendMessage"
    assert sent["chat_id"] == "-1001234567890"
    assert "Category: suicidal thoughts" in sent["text"] and "ref123" in sent["text"]


def test_the_notification_never_holds_the_persons_words():
    text = safety.notification_text("medical", WHEN, "ref", "Clinic")
    assert SECRET_WORDS not in text.lower()
    assert json.dumps(text)  # plain text only


# --- the action ---------------------------------------------------------------------------

def tracker(intent: str, crisis: dict | None = None) -> Tracker:
    latest = {"text": SECRET_WORDS, "intent": {"name": intent, "confidence": 1.0},
              "entities": []}
    if crisis is not None:
        latest["crisis"] = crisis
    return Tracker("tg-7", {}, latest, [], False, None, {}, "action_listen")


@pytest.fixture
def action_env(monkeypatch):
    from actions import safety as actions_safety

    calls: list[tuple[str, str]] = []

    async def fake_handle(sender_id, category, config, **kwargs):
        calls.append((sender_id, category))
        return safety.CrisisOutcome(True, False)

    monkeypatch.setattr(actions_safety.safety, "handle_crisis", fake_handle)
    monkeypatch.setattr(actions_safety, "_clinic", lambda: EXAMPLE)
    return actions_safety, calls


def test_the_action_gives_the_clinics_number_and_lines_and_records_the_category(action_env):
    actions_safety, calls = action_env
    dispatcher = CollectingDispatcher()
    run(actions_safety.ActionCrisisResources().run(dispatcher, tracker("crisis_medical"), {}))
    [message] = dispatcher.messages
    assert message["response"] == "utter_crisis_resources"
    assert message["emergency"] == "555 0100"
    assert "Examplia Night Line: 555 0123" in message["lines"]
    assert calls == [("tg-7", "medical")]


def test_the_action_adds_young_peoples_lines_for_a_minor(action_env):
    actions_safety, _ = action_env
    dispatcher = CollectingDispatcher()
    run(actions_safety.ActionCrisisResources().run(
        dispatcher, tracker("crisis_abuse", {"category": "abuse", "minor": True}), {}))
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_crisis_resources", "utter_crisis_young_people"]


def test_the_action_without_clinic_lines_still_gives_the_emergency_number(action_env, monkeypatch):
    actions_safety, _ = action_env
    no_lines = clinic.parse({"name": "C", "country": "X"})
    monkeypatch.setattr(actions_safety, "_clinic", lambda: no_lines)
    dispatcher = CollectingDispatcher()
    run(actions_safety.ActionCrisisResources().run(dispatcher, tracker("deny"), {}))
    [message] = dispatcher.messages
    assert message["response"] == "utter_crisis_resources_no_lines"
    assert message["emergency"] == clinic.LOCAL_EMERGENCY


def test_the_default_clinic_gives_the_emergency_numbers_and_the_helpline_directories(
    action_env, monkeypatch
):
    actions_safety, _ = action_env
    monkeypatch.setattr(actions_safety, "_clinic", lambda: clinic.load(clinic.DEFAULT_FILE))
    dispatcher = CollectingDispatcher()
    run(actions_safety.ActionCrisisResources().run(dispatcher, tracker("deny"), {}))
    [message] = dispatcher.messages
    assert message["response"] == "utter_crisis_resources"
    assert "911 in the US and Canada" in message["emergency"]
    assert "https://findahelpline.com" in message["lines"]


def test_not_safe_repeats_the_resources_without_a_second_flag(action_env):
    actions_safety, calls = action_env
    run(actions_safety.ActionCrisisResources().run(CollectingDispatcher(), tracker("deny"), {}))
    assert calls == []


def test_a_broken_clinic_file_at_run_time_falls_back_to_the_default(monkeypatch, tmp_path):
    from actions import safety as actions_safety

    bad = tmp_path / "clinic.yml"
    bad.write_text("name: only\n")
    monkeypatch.setenv(clinic.ENV_VAR, str(bad))
    actions_safety._clinic.cache_clear()
    try:
        assert actions_safety._clinic().emergency == clinic.LOCAL_EMERGENCY
    finally:
        actions_safety._clinic.cache_clear()


def test_an_uncertain_check_gives_the_resources_but_records_no_flag(action_env):
    actions_safety, calls = action_env
    dispatcher = CollectingDispatcher()
    run(actions_safety.ActionCrisisResources().run(
        dispatcher, tracker("safety_check", {"tier": "uncertain", "category": "suicide"}), {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_crisis_resources"]
    assert calls == []


def test_every_category_has_a_label_for_the_on_call_chat():
    from bot.clinic.crisis_categories import CATEGORIES

    for category in CATEGORIES:
        text = safety.notification_text(category.name, WHEN, "ref", "Clinic")
        assert category.label in text


def test_a_crisis_in_another_language_adds_the_multilingual_line_after_the_resources(action_env):
    actions_safety, calls = action_env
    dispatcher = CollectingDispatcher()
    run(actions_safety.ActionCrisisResources().run(
        dispatcher, tracker("crisis_suicide", {"tier": "certain", "category": "suicide",
                                               "language": "es"}), {}))
    first, second = dispatcher.messages
    assert first["response"] == "utter_crisis_resources"
    assert second["text"].startswith("Solo puedo conversar en inglés") and "555 0100" in second["text"]
    assert calls == [("tg-7", "suicide")]


def test_a_message_in_another_language_gets_the_emergency_number_in_many_languages(action_env):
    actions_safety, _ = action_env
    dispatcher = CollectingDispatcher()
    run(actions_safety.ActionOtherLanguage().run(
        dispatcher, tracker("other_language", {"tier": "none", "language": "pl"}), {}))
    [message] = dispatcher.messages
    lines = message["text"].splitlines()
    assert lines[0].startswith("Mogę pisać tylko po angielsku") and "555 0100" in lines[0]
    assert lines[1].startswith("I can only chat in English")
    assert len(lines) == len(actions_safety.OTHER_LANGUAGE_LINES) + 1
    assert all("555 0100" in line for line in lines)


def test_without_a_clinic_number_each_language_names_the_local_emergency_number(action_env,
                                                                                 monkeypatch):
    actions_safety, _ = action_env
    text = actions_safety.other_language_text(clinic.load(clinic.DEFAULT_FILE), None)
    first = text.splitlines()[0]
    assert first.startswith("I can only chat in English. If you are in danger, call your local "
                            "emergency number") and first.endswith(" now.")
    assert "112" in first and "911" in first  # the default clinic file's honest fallback
    assert "el número de emergencias de tu país" in text
