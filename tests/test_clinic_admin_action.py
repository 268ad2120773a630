"""Booking, costs, referrals and the like: the clinic's team answers, reached by its contact."""

from __future__ import annotations

import asyncio
import re

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_admin import ActionClinicAdmin
from bot.clinic import config as clinic
from tests.domain_utils import domain
from tests.helpers import REPO, flesch_kincaid_grade

EXAMPLE = REPO / "clinic.example.yml"
MAX_WORDS = 80


def _run() -> list[dict]:
    latest = {"text": "how much is it", "intent": {"name": "ask_clinic_admin"}, "entities": []}
    tracker = Tracker("web-1", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionClinicAdmin().run(dispatcher, tracker, {"responses": domain()["responses"]}))
    return dispatcher.messages


def _rendered(message: dict) -> str:
    """The text the person reads: the domain's template with the action's variables."""
    template = domain()["responses"][message["response"]][0]["text"]
    return template.format(**{k: v for k, v in message.items() if k != "response"})


def test_without_a_contact_block_it_points_to_the_clinics_website_or_letter(monkeypatch):
    monkeypatch.delenv(clinic.ENV_VAR, raising=False)
    [message] = _run()
    assert message["response"] == "utter_ask_clinic_admin"
    text = _rendered(message)
    assert "your clinic's website or your appointment letter" in text.lower()


def test_with_a_contact_block_it_gives_the_clinics_details(monkeypatch):
    monkeypatch.setenv(clinic.ENV_VAR, str(EXAMPLE))
    [message] = _run()
    assert message["response"] == "utter_ask_clinic_admin_contact"
    assert message["clinic_name"] == "Harbourside Wellbeing Clinic"
    text = _rendered(message)
    for detail in ("555 0150", "appointments@harbourside.example.org",
                   "https://harbourside.example.org/appointments",
                   "Monday to Friday, 9am to 5pm"):
        assert f"- {detail}" in text
    assert "appointment letter" not in text


def test_a_file_broken_since_start_still_gets_the_plain_answer(monkeypatch, tmp_path):
    broken = tmp_path / "clinic.yml"
    broken.write_text("name: C\ncountry: X\ncontact: {email: not-an-address}\n")
    monkeypatch.setenv(clinic.ENV_VAR, str(broken))
    [message] = _run()
    assert message["response"] == "utter_ask_clinic_admin"


@pytest.mark.parametrize("path", [EXAMPLE, clinic.DEFAULT_FILE], ids=["example", "default"])
def test_the_answer_is_short_plain_says_who_handles_what_and_what_the_assistant_does(
        monkeypatch, path):
    monkeypatch.setenv(clinic.ENV_VAR, str(path))
    [message] = _run()
    text = _rendered(message)
    assert len(re.findall(r"\S+", text)) <= MAX_WORDS
    # Grade 8 for the words; the contact lines are the clinic's data (addresses), not prose.
    prose = "\n".join(line for line in text.splitlines() if not line.startswith("- "))
    assert flesch_kincaid_grade(prose) <= 8.0
    lower = text.lower()
    for topic in ("booking", "costs", "insurance", "referrals", "waiting lists",
                  "change of therapist"):
        assert topic in lower, topic
    assert "not by me" in lower
    for feature in ("ipt", "reminders", "homework log", "check-ins"):
        assert feature in lower, feature
    assert domain()["responses"][message["response"]][0]["buttons"], "it leads on by buttons"


def test_the_contact_details_are_data_with_one_detail_per_line():
    details = clinic.ContactDetails(phone="555 0150", web="https://c.example")
    assert details.lines() == "- 555 0150\n- https://c.example"
