"""Small pieces of the console server that need no process."""

from __future__ import annotations

import pytest

from bot.services.console.server import _local_path


@pytest.mark.parametrize("target, expected", [
    ("/clients/C-7KQ2MX", "/clients/C-7KQ2MX"),
    ("/clients?q=sam&status=all", "/clients?q=sam&status=all"),
    ("//evil.example/x", "/clients"),
    ("/\\evil.example", "/clients"),
    ("/\t/evil.example", "/clients"),
    ("https://evil.example/", "/clients"),
    ("javascript:alert(1)", "/clients"),
    ("", "/clients"),
    (None, "/clients"),
])
def test_sign_in_only_returns_to_our_own_pages(target, expected):
    assert _local_path(target) == expected


def test_a_clients_words_are_shown_as_text_never_as_markup(tmp_path):
    from datetime import datetime, timezone

    from bot.clinic.store import db, services
    from bot.services.console import server, views
    from tests.console import seed

    now = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    db.migrate(url)
    with db.unit_of_work(url) as s:
        admin = seed.staff(s, "admin@clinic.example", "admin", now)
        c, _ = services.create_client(s, "<b>Sam</b>", now=now)
        services.record_checkin(s, c, 5, '<script>alert("x")</script>')
        services.log_homework(s, c, "<img src=x onerror=alert(1)>", feeling=4)
        html = server._env().get_template("client.html").render(
            staff=admin, csrf="t", path="/", p=views.client_page(s, c, now), c=c, team=[],
            now=now, notice="")
    db.dispose_all()
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>Sam</b>" not in html and "&lt;b&gt;Sam&lt;/b&gt;" in html


def test_tokens_compare_only_as_non_empty_strings():
    from bot.services.console.server import _same

    assert _same("abc", "abc")
    assert not _same("abc", "abd") and not _same("", "") and not _same(None, None)
    assert not _same(object(), "abc")
