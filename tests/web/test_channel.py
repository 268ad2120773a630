"""The socket.io channel refuses ids our web server did not sign: forged web ids and tg- ids."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot import signing
from bot.rasa_ext.web_channel import (
    REFUSED_EVENT,
    SignedSocketIOInput,
    SignedSocketIOOutput,
    is_crisis,
)

SECRET = b"k" * 32


class Harness:
    """The channel's real handlers on a socket.io server whose network side is in memory."""

    def __init__(self) -> None:
        self.channel = SignedSocketIOInput(session_persistence=True, secret=SECRET)
        self.received: list[Any] = []
        self.emitted: list[tuple[str, Any, str]] = []
        self.rooms: dict[str, set[str]] = {}
        self.sessions: dict[str, dict] = {}

        async def on_new_message(message: Any) -> None:
            self.received.append(message)

        self.channel.blueprint(on_new_message)
        sio = self.channel.sio
        self.handlers = sio.handlers["/"]

        async def emit(event: str, data: Any = None, room: str = "", **_: Any) -> None:
            self.emitted.append((event, data, room))

        async def enter_room(sid: str, room: str, namespace: str | None = None) -> None:
            self.rooms.setdefault(sid, set()).add(room)

        async def leave_room(sid: str, room: str, namespace: str | None = None) -> None:
            self.rooms.get(sid, set()).discard(room)

        async def get_session(sid: str, namespace: str | None = None) -> dict:
            return dict(self.sessions.get(sid, {}))

        async def save_session(sid: str, session: dict, namespace: str | None = None) -> None:
            self.sessions[sid] = dict(session)

        sio.emit, sio.enter_room, sio.leave_room = emit, enter_room, leave_room
        sio.get_session, sio.save_session = get_session, save_session

    def call(self, event: str, sid: str, data: Any) -> None:
        asyncio.run(self.handlers[event](sid, data))

    def events(self, name: str) -> list[tuple[str, Any, str]]:
        return [e for e in self.emitted if e[0] == name]


@pytest.fixture
def harness() -> Harness:
    return Harness()


def test_a_signed_session_is_confirmed_and_its_messages_reach_the_assistant(harness):
    session = signing.issue(SECRET)
    harness.call("session_request", "sid1", {"session_id": session.token})
    assert harness.events("session_confirm") == [("session_confirm", session.token, "sid1")]
    assert harness.rooms["sid1"] == {session.conversation_id}

    harness.call("user_uttered", "sid1", {"message": "what is IPT", "session_id": session.token})
    assert [m.sender_id for m in harness.received] == [session.conversation_id]
    assert harness.received[0].text == "what is IPT"
    assert harness.events(REFUSED_EVENT) == []


@pytest.mark.parametrize("claimed", [
    "web-AAAAAAAAAAAAAAAAAAAAAA",  # a made-up web id
    "tg-123456789",  # a Telegram conversation
    None,
    "",
])
def test_a_session_request_for_an_unsigned_id_is_refused(harness, claimed):
    harness.call("session_request", "sid1", {"session_id": claimed})
    assert harness.events("session_confirm") == []
    assert harness.rooms.get("sid1", set()) == set()  # cannot listen to that conversation
    assert [e[2] for e in harness.events(REFUSED_EVENT)] == ["sid1"]


@pytest.mark.parametrize("claimed", ["tg-123456789", "web-AAAAAAAAAAAAAAAAAAAAAA"])
def test_a_message_for_an_unsigned_id_is_not_processed(harness, claimed):
    # even after a valid session on the same socket, the message's own id must be the signed one
    harness.call("session_request", "sid1", {"session_id": signing.issue(SECRET).token})
    harness.call("user_uttered", "sid1", {"message": "hello", "session_id": claimed})
    assert harness.received == []
    assert harness.events(REFUSED_EVENT)


def test_a_forged_signature_on_someone_elses_id_is_refused(harness):
    victim = signing.issue(SECRET)
    forged = signing.issue(b"attacker-secret")
    forged_token = f"{victim.conversation_id}.{forged.token.split('.', 1)[1]}"
    harness.call("session_request", "sid1", {"session_id": forged_token})
    harness.call("user_uttered", "sid1", {"message": "hello", "session_id": forged_token})
    assert harness.received == []
    assert harness.events("session_confirm") == []


def test_a_message_without_a_session_request_on_this_socket_is_refused(harness):
    # a valid token stolen from elsewhere, used without joining (and so without listening)
    harness.call("user_uttered", "sid2", {"message": "hello",
                                          "session_id": signing.issue(SECRET).token})
    assert harness.received == []


def test_a_socket_cannot_switch_conversations_mid_stream(harness):
    first, second = signing.issue(SECRET), signing.issue(SECRET)
    harness.call("session_request", "sid1", {"session_id": first.token})
    harness.call("user_uttered", "sid1", {"message": "hi", "session_id": second.token})
    assert harness.received == []


@pytest.mark.parametrize("data", [None, "text", ["a"], {"session_id": 5}, {"message": 5}])
def test_malformed_events_are_refused_without_error(harness, data):
    harness.call("session_request", "sid1", {"session_id": signing.issue(SECRET).token})
    harness.call("user_uttered", "sid1", data)
    assert harness.received == []


def test_control_characters_are_removed_and_long_messages_refused_with_an_answer(harness):
    session = signing.issue(SECRET)
    harness.call("session_request", "sid1", {"session_id": session.token})
    harness.call("user_uttered", "sid1", {"message": "what\x00 is\x1b IPT\r\n",
                                          "session_id": session.token})
    assert [m.text for m in harness.received] == ["what is IPT"]
    harness.call("user_uttered", "sid1", {"message": "a" * 2001, "session_id": session.token})
    assert len(harness.received) == 1  # not processed
    answers = harness.events("bot_uttered")
    assert len(answers) == 1 and "2000 characters" in answers[0][1]["text"]
    assert answers[0][2] == "sid1"


def test_credentials_build_our_channel_with_persistence():
    channel = SignedSocketIOInput.from_credentials({"session_persistence": True})
    assert isinstance(channel, SignedSocketIOInput)
    assert channel.session_persistence is True


def test_crisis_convention():
    assert is_crisis({"custom": {"crisis": True}})
    assert is_crisis({"utter_action": "utter_crisis_resources"})
    assert not is_crisis({"utter_action": "utter_greet", "custom": {"crisis": "yes"}})


def test_output_flags_crisis_messages_and_wraps_custom_payloads():
    sent: list[tuple[str, dict]] = []

    class Output(SignedSocketIOOutput):
        async def _send_message(self, socket_id: str, response: Any) -> None:
            sent.append((socket_id, response))

    out = Output(sio=None, bot_message_evt="bot_uttered")  # type: ignore[arg-type]

    async def run() -> None:
        await out.send_response("web-x", {"text": "Please call now.\n\nYou matter.",
                                          "utter_action": "utter_crisis"})
        await out.send_response("web-x", {"text": "Hi", "buttons": [
            {"title": "What is IPT?", "payload": "/ask_what_is_ipt"}]})
        await out.send_response("web-x", {"custom": {"crisis": True}})

    asyncio.run(run())
    assert sent == [
        ("web-x", {"text": "Please call now.", "crisis": True}),
        ("web-x", {"text": "You matter.", "crisis": True}),
        ("web-x", {"text": "Hi", "quick_replies": [
            {"content_type": "text", "title": "What is IPT?", "payload": "/ask_what_is_ipt"}]}),
        ("web-x", {"custom": {"crisis": True}}),
    ]


def test_the_visitors_address_reaches_the_assistant_only_as_a_keyed_tag(harness, monkeypatch):
    """The address our web server saw (the last X-Forwarded-For entry: the ones before it are
    whatever the visitor sent) is tagged for the code limit; the address is not passed on."""
    from bot.clinic.store import codes

    monkeypatch.setenv(codes.KEY_ENV, "k" * 32)
    harness.call("connect", "sid1", {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7",
                                     "REMOTE_ADDR": "127.0.0.1"})
    session = signing.issue(SECRET)
    harness.call("session_request", "sid1", {"session_id": session.token})
    harness.call("user_uttered", "sid1", {"message": "K7QF-2MXD", "session_id": session.token})
    [message] = harness.received
    assert message.metadata == {"address_tag": codes.address_tag("203.0.113.7")}
    assert "203.0.113.7" not in repr(message.metadata)
    # a forged first entry changes nothing: the same tag whatever it says
    harness.call("connect", "sid2", {"HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.7"})
    assert harness.sessions["sid2"]["address_tag"] == message.metadata["address_tag"]
