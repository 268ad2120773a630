"""Small pieces of the console server that need no process."""

from __future__ import annotations

import pytest

from bot.console.server import _local_path


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
