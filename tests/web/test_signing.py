"""Signed web session ids: only ours verify, in the web- namespace, and they expire."""

from __future__ import annotations

import os
import stat

import pytest

from bot import signing

SECRET = b"s" * 32


def test_an_issued_token_verifies_to_its_web_conversation():
    session = signing.issue(SECRET)
    assert session.conversation_id.startswith("web-")
    assert session.token.startswith(session.conversation_id + ".")
    assert signing.verify(SECRET, session.token) == session


def test_issued_ids_are_unique():
    assert len({signing.issue(SECRET).conversation_id for _ in range(200)}) == 200


def test_a_token_signed_with_another_secret_is_refused():
    assert signing.verify(b"other-secret", signing.issue(SECRET).token) is None


@pytest.mark.parametrize("forged", [
    None, 42, "", "web-abc", "tg-123456", "tg-123456.1.sig",
    "web-AAAAAAAAAAAAAAAAAAAAAA",  # a well-formed id without any signature
    "x" * 5000,
])
def test_made_up_ids_are_refused(forged):
    assert signing.verify(SECRET, forged) is None


def test_changing_any_part_of_a_token_breaks_it():
    token = signing.issue(SECRET).token
    conversation, issued, signature = token.split(".")
    other = signing.issue(SECRET)
    tampered = [
        f"{other.conversation_id}.{issued}.{signature}",  # someone else's id, my signature
        f"{conversation}.{int(issued, 36) + 1:x}.{signature}",
        f"{conversation}.{issued}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        "tg" + token[3:],  # same signature, Telegram namespace
    ]
    for bad in tampered:
        assert signing.verify(SECRET, bad) is None, bad


def test_tokens_expire_after_max_age():
    session = signing.issue(SECRET, now=1_000_000)
    assert signing.verify(SECRET, session.token, max_age=3600, now=1_000_000 + 3599)
    assert signing.verify(SECRET, session.token, max_age=3600, now=1_000_000 + 3601) is None
    # issued in the future (beyond clock slack): not ours
    assert signing.verify(SECRET, session.token, now=1_000_000 - 3600) is None


def test_secret_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IPT_WEB_SECRET", "from-env")
    monkeypatch.setenv("IPT_VAR_DIR", str(tmp_path))
    assert signing.load_secret() == b"from-env"
    assert not (tmp_path / "secrets").exists()


def test_dev_secret_is_made_once_and_private(monkeypatch, tmp_path):
    monkeypatch.delenv("IPT_WEB_SECRET", raising=False)
    monkeypatch.setenv("IPT_VAR_DIR", str(tmp_path))
    first = signing.load_secret()
    path = tmp_path / "secrets" / "web_secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) >= 32
    assert signing.load_secret() == first  # a restart keeps the same secret
    assert [p.name for p in path.parent.iterdir()] == ["web_secret"]  # no temp files left
