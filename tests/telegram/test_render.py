"""Rasa replies to Telegram messages: keyboards, callback data, photos, splitting, cleaning."""

from __future__ import annotations

from bot.services.telegram import texts
from bot.services.telegram.render import (
    CallbackData,
    OutPhoto,
    OutText,
    clean_text,
    plain_links,
    render,
    split_text,
    utf16_len,
)


def test_short_payloads_travel_as_they_are_and_long_ones_through_a_short_id():
    callbacks = CallbackData()
    assert callbacks.encode("/affirm") == "/affirm"
    long_payload = '/inform{"area": "' + "é" * 40 + '"}'
    data = callbacks.encode(long_payload)
    assert len(data.encode()) <= 64
    assert callbacks.decode(data) == long_payload
    assert callbacks.decode("/affirm") == "/affirm"


def test_an_unknown_short_id_has_expired():
    assert CallbackData().decode("#" + "0" * 32) is None
    # A payload that merely looks like an id is mapped too, so it cannot be confused.
    callbacks = CallbackData()
    assert callbacks.decode(callbacks.encode("#tag")) == "#tag"


def test_the_id_store_is_bounded():
    callbacks = CallbackData(max_entries=2)
    ids = [callbacks.encode("/x" + "y" * 70 + str(i)) for i in range(3)]
    assert callbacks.decode(ids[0]) is None
    assert callbacks.decode(ids[2]) is not None


def _keyboard(text: str, buttons: dict[str, str]) -> list[list[str]]:
    """The rows of button titles that one reply with ``buttons`` (title: payload) gets."""
    replies = [{"text": text, "buttons": [{"title": t, "payload": p} for t, p in buttons.items()]}]
    (msg,) = render(replies, CallbackData())
    return [[b.text for b in row] for row in msg.reply_markup.inline_keyboard]


def test_buttons_go_side_by_side_when_short_and_one_per_row_when_long():
    assert _keyboard("Ok?", {"Yes": "/affirm", "No": "/deny"}) == [["Yes", "No"]]
    long = _keyboard("Which?", {"The first phase": "/a", "The middle": "/b"})
    assert long == [["The first phase"], ["The middle"]]


def test_url_buttons_open_links():
    (msg,) = render(
        [
            {
                "text": "Read more",
                "buttons": [{"title": "Privacy notice", "url": "https://clinic.example/privacy"}],
            }
        ],
        CallbackData(),
    )
    button = msg.reply_markup.inline_keyboard[0][0]
    assert button.url == "https://clinic.example/privacy" and button.callback_data is None


def test_an_image_with_a_short_text_becomes_a_photo_with_caption():
    (msg,) = render([{"text": "Phases", "image": "https://x.example/p.png"}], CallbackData())
    assert msg == OutPhoto("https://x.example/p.png", "Phases", None)


def test_an_image_alone_and_buttons_alone():
    msgs = render(
        [
            {"image": "https://x.example/p.png"},
            {"buttons": [{"title": "Yes", "payload": "/affirm"}]},
        ],
        CallbackData(),
    )
    assert isinstance(msgs[0], OutPhoto) and msgs[0].caption is None
    assert isinstance(msgs[1], OutText) and msgs[1].text == texts.CHOOSE


def test_markdown_links_are_written_out():
    assert plain_links("See [our page](https://clinic.example/ipt).") == (
        "See our page (https://clinic.example/ipt)."
    )


def test_split_prefers_paragraphs_then_sentences_then_words():
    assert split_text("One.\n\nTwo.", limit=20) == ["One.\n\nTwo."]
    assert split_text("First para.\n\nSecond para.", limit=15) == ["First para.", "Second para."]
    assert split_text("Aaa bbb. Ccc ddd. Eee.", limit=13) == ["Aaa bbb.", "Ccc ddd. Eee."]
    assert split_text("aaaa bbbb cccc", limit=9) == ["aaaa bbbb", "cccc"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("   ") == []


def test_split_counts_like_telegram_in_utf16_units():
    text = "😀" * 3000  # 6,000 UTF-16 units although 3,000 characters
    chunks = split_text(text)
    assert len(chunks) == 2
    assert all(utf16_len(c) <= 4096 for c in chunks)
    assert "".join(chunks) == text


def test_clean_text_removes_control_characters_but_keeps_lines_and_emoji():
    assert clean_text(" hi\x00\x1b[31m there\r\nnext\tline 👩‍👩‍👧 \u200f ") == (
        "hi[31m there\nnext\tline 👩‍👩‍👧 \u200f"
    )
