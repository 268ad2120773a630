"""Enrolment codes: readable alphabet, tolerant parsing, found inside messages."""

from __future__ import annotations

import pytest

from bot.clinic.store import codes


def test_generated_codes_use_the_unambiguous_alphabet():
    for _ in range(200):
        code = codes.generate()
        assert len(code) == 9 and code[4] == "-"
        raw = code.replace("-", "")
        assert not set(raw) & set("0O1IL")
        assert codes.normalise(code) == code


@pytest.mark.parametrize(
    "text",
    [
        "K7QF-2MXD",
        "k7qf-2mxd",
        "k7qf 2mxd",
        "K7QF2MXD",
        "my code is k7qf 2mxd",
        "link K7QF-2MXD",
        "/start K7QF-2MXD",
        'code "k7qf-2mxd" please',
        '/link_account{"enrolment_code": "K7QF-2MXD"}',
    ],
)
def test_codes_are_found_in_what_people_type(text):
    assert codes.extract(text) == "K7QF-2MXD"


@pytest.mark.parametrize(
    "text",
    [
        "hello there",
        "that gets me",
        "what is IPT",
        "call 2345 6789",
        "K7QF-2MXDX",
        "",
    ],
)
def test_ordinary_messages_hold_no_code(text):
    assert codes.extract(text) is None


def test_the_hash_depends_on_the_key(monkeypatch):
    first = codes.hash_code("K7QF-2MXD")
    monkeypatch.setenv(codes.KEY_ENV, "another key")
    assert codes.hash_code("K7QF-2MXD") != first
    assert "K7QF" not in first


def test_an_address_tag_is_keyed_stable_within_a_day_and_new_the_next(monkeypatch):
    from datetime import date

    monkeypatch.setenv(codes.KEY_ENV, "a" * 32)
    day = date(2026, 12, 1)
    tag = codes.address_tag("203.0.113.7", day)
    assert tag == codes.address_tag("203.0.113.7", day) and len(tag) == 64
    assert "203.0.113.7" not in tag
    assert tag != codes.address_tag("203.0.113.8", day)
    assert tag != codes.address_tag("203.0.113.7", date(2026, 12, 2))  # not linkable
    monkeypatch.setenv(codes.KEY_ENV, "b" * 32)
    assert tag != codes.address_tag("203.0.113.7", day)  # keyed
    assert codes.address_tag(None) is None and codes.address_tag("") is None
