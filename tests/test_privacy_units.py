"""Units of issue 9: process plan (loopback, token, secret), clinic settings, input limits."""

from __future__ import annotations

import pytest

from bot import limits, settings
from bot.clinic import config as clinic
from bot.clinic import privacy
from bot.launch import run


def test_make_run_starts_rasa_on_loopback_with_a_token_and_shares_the_action_secret(
        monkeypatch, tmp_path):
    monkeypatch.setenv("IPT_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    monkeypatch.delenv(settings.ACTION_SECRET_ENV, raising=False)
    services = {s.name: s for s in run.plan("models/ipt.tar.gz", {})}
    rasa = services["rasa"].cmd
    assert rasa[rasa.index("-i") + 1] == "127.0.0.1"
    # the token reaches Rasa through the environment (bot.launch.rasa_server reads it), never argv
    assert "--auth-token" not in rasa and settings.rasa_token() not in rasa
    assert "--enable-api" in rasa
    actions = services["actions"].cmd
    assert "--host" not in actions  # the default, loopback
    # Both processes get the same generated secret; endpoints.yml sends it as a header.
    secret = settings.action_secret()
    assert (tmp_path / "secrets" / "action_secret").read_text() == secret
    assert settings.action_secret() == secret
    endpoints = (settings.REPO / "endpoints.yml").read_text()
    assert "X-IPT-Action-Secret: ${IPT_ACTION_SECRET}" in endpoints


def test_the_action_secret_comes_from_the_environment_first(monkeypatch, tmp_path):
    monkeypatch.setenv("IPT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv(settings.ACTION_SECRET_ENV, "from-env")
    assert settings.action_secret() == "from-env"
    assert not (tmp_path / "secrets").exists()


def test_rasa_reads_the_secret_header_from_the_environment(monkeypatch):
    from rasa.core.utils import read_endpoints_from_path

    monkeypatch.setenv(settings.ACTION_SECRET_ENV, "s3cret")
    endpoints = read_endpoints_from_path(str(settings.REPO / "endpoints.yml"))
    assert endpoints.action.headers == {settings.ACTION_SECRET_HEADER: "s3cret"}


def test_clinic_retention_and_privacy_url_defaults_and_checks():
    default = clinic.load()
    assert default.retention_days == 90 and default.privacy_url is None
    example = clinic.load(settings.REPO / "clinic.example.yml")
    assert example.privacy_url.startswith("https://")
    base = {"name": "C", "country": "X"}
    assert clinic.parse({**base, "retention_days": 30}).retention_days == 30
    for bad in (0, -1, "90", True, 5000):
        with pytest.raises(clinic.ClinicConfigError, match="retention_days"):
            clinic.parse({**base, "retention_days": bad})
    with pytest.raises(clinic.ClinicConfigError, match="privacy_url"):
        clinic.parse({**base, "privacy_url": "javascript:alert(1)"})


def test_the_privacy_link_is_the_clinics_or_our_own_page(monkeypatch, tmp_path):
    monkeypatch.delenv(clinic.ENV_VAR, raising=False)
    monkeypatch.setenv("IPT_PUBLIC_URL", "https://chat.example.org/")
    assert privacy.privacy_url() == "https://chat.example.org/privacy"
    monkeypatch.setenv(clinic.ENV_VAR, str(settings.REPO / "clinic.example.yml"))
    assert privacy.privacy_url() == "https://harbourside.example.org/privacy"


def test_limits_remove_control_characters_and_lone_surrogates():
    assert limits.clean_text(" a\x00b\x1b[0m\r\nc\td \ud800 ") == "ab[0m\nc\td"
    assert limits.clean_text("مرحبا 👩‍👩‍👧 \u200f") == "مرحبا 👩‍👩‍👧 \u200f"
    assert limits.too_long_answer(10).endswith("under 10 characters?")


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(limits.ENV_VAR, "50")
    assert limits.max_message_chars() == 50
    monkeypatch.setenv(limits.ENV_VAR, "lots")
    assert limits.max_message_chars() == 2000


def test_only_our_web_channel_sets_the_address_tag_and_only_the_last_forwarded_entry_counts():
    # REST metadata from outside: the tag key is dropped, the rest kept
    assert limits.without_address_tag({"address_tag": "f" * 64, "x": 1}) == {"x": 1}
    assert limits.without_address_tag("nope") is None
    # the entry our web server appended (the last) is the address; earlier ones are forgeable
    assert limits.forwarded_address("6.6.6.6, 203.0.113.7", "127.0.0.1") == "203.0.113.7"
    assert limits.forwarded_address(None, "127.0.0.1") == "127.0.0.1"
    assert limits.forwarded_address("", None) is None
    assert len(limits.forwarded_address("1" * 500, None)) == 64


def test_a_generated_token_that_begins_with_a_dash_still_reaches_rasa(monkeypatch):
    """token_urlsafe gives a leading "-" one time in 64: as a separate argument Rasa's argparse
    took it for an option and the server did not start."""
    from rasa.__main__ import create_argument_parser

    from bot.launch.rasa_server import with_token

    monkeypatch.setenv("RASA_TOKEN", "-pTTSXLGdK9UJYD0-kfBoJaOlxWz2r3_")
    argv = with_token(["rasa", "run", "-m", "models/ipt.tar.gz", "--enable-api"])
    args = create_argument_parser().parse_args(argv[1:])
    assert args.auth_token == "-pTTSXLGdK9UJYD0-kfBoJaOlxWz2r3_"
