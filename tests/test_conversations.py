"""Conversations through the loaded assistant: test stories, follow-ups, fallback."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.domain_utils import domain
from tests.helpers import REPO, bot_texts, endpoints_yml


def test_test_stories_pass(model_path, action_server, server_env, tmp_path):
    """`rasa test core` on tests/stories/, failing on any prediction error."""
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(endpoints_yml(action_server))
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "rasa"), "test", "core", "-m", str(model_path),
         "--stories", "tests/stories", "--endpoints", str(endpoints),
         "--fail-on-prediction-errors", "--out", str(tmp_path / "results")],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, **server_env},
    )
    failed = tmp_path / "results" / "failed_test_stories.yml"
    detail = failed.read_text()[-4000:] if failed.exists() else result.stdout[-4000:]
    assert result.returncode == 0, detail + result.stderr[-2000:]


def test_greeting_says_what_the_assistant_is_and_is_not(chat):
    text = " ".join(bot_texts(chat.say("hello"))).lower()
    assert "automated assistant" in text
    assert "not a therapist" in text
    assert "emergency" in text


def test_tell_me_more_continues_the_last_topic(chat):
    chat.say("what are the phases of IPT?")
    replies = chat.say("tell me more")
    expected = domain()["responses"]["utter_more_phases"][0]["text"].strip()
    assert bot_texts(replies)[0].strip() == expected


def test_follow_up_without_a_topic_offers_topics(chat):
    replies = chat.say("tell me more")
    assert replies and replies[0].get("buttons")


@pytest.mark.parametrize("text", [
    "what's the weather in paris tomorrow",
    "can you recommend a good pizza place",
    "asdkjh qwpoeiru zxcmnv",
])
def test_unrelated_messages_get_an_honest_fallback_not_an_ipt_fact(chat, text):
    replies = chat.say(text)
    said = " ".join(bot_texts(replies)).lower()
    fallbacks = [domain()["responses"][n][0]["text"].lower()[:40]
                 for n in ("utter_default", "utter_out_of_scope")]
    assert any(f in said for f in fallbacks), said
    assert replies[-1].get("buttons"), "the fallback offers topic buttons"


def test_every_topic_is_reachable_by_tapping_buttons(chat):
    """From the greeting, following button payloads reaches every topic answer."""
    topics = {i for i in domain()["intents"] if i.startswith("ask_")}
    topics -= {"ask_example", "ask_capabilities", "ask_medication", "ask_diagnosis",
               "ask_homework_assigned", "ask_privacy"}
    queue = [b["payload"] for r in chat.say("hi") for b in r.get("buttons", [])]
    seen: set[str] = set()
    while queue:
        payload = queue.pop(0)
        if payload in seen:
            continue
        seen.add(payload)
        for reply in chat.say(payload):
            queue += [b["payload"] for b in reply.get("buttons", [])]
    reached = {p[1:] for p in seen}
    assert topics <= reached, f"not reachable by buttons: {sorted(topics - reached)}"


def test_an_unclear_ipt_question_gets_the_closest_topics_then_the_menu(chat):
    """No dead end: "Did you mean ...?" with topic buttons; "None of these" gives the menu."""
    replies = chat.say("how does it go with others")
    did_you_mean = domain()["responses"]["utter_did_you_mean"][0]["text"]
    assert bot_texts(replies) == [did_you_mean]
    payloads = [b["payload"] for b in replies[0]["buttons"]]
    assert 3 <= len(payloads) <= 4 and payloads[-1] == "/deny"
    assert all(p.startswith("/ask_") for p in payloads[:-1])
    menu = chat.say("/deny")
    default = domain()["responses"]["utter_default"][0]["text"]
    assert " ".join(bot_texts(menu)).split() == default.split() and menu[-1].get("buttons")


@pytest.mark.parametrize("text", [
    "forgot to take my tablet last night, should i take two now",
    "is it safe to mix paracetamol with my escitalopram",
    "which antidepressant has the least weight gain",
])
def test_medicine_questions_get_the_medication_reply(chat, text):
    expected = domain()["responses"]["utter_ask_medication"][0]["text"]
    assert bot_texts(chat.say(text))[0].split() == expected.split()


def test_feelings_shared_by_someone_not_linked_get_no_check_in_button(chat):
    replies = chat.say("honestly this week has been rotten")
    payloads = {b["payload"] for r in replies for b in r.get("buttons", [])}
    assert replies and not payloads & {"/start_checkin", "/log_homework"}



def _text(name: str) -> list[str]:
    return domain()["responses"][name][0]["text"].split()


def test_how_long_does_that_take_after_the_first_phase_is_about_that_phase(chat):
    chat.say("what happens in the first phase of ipt?")
    replies = chat.say("how long does that take?")
    assert bot_texts(replies)[0].split() == _text("utter_duration_initial_phase")


def test_how_long_does_ipt_take_after_the_first_phase_is_about_all_of_ipt(chat):
    chat.say("what happens in the first phase of ipt?")
    replies = chat.say("how long does IPT take altogether?")
    assert bot_texts(replies)[0].split() == _text("utter_ask_duration")


def test_the_second_one_after_the_phases_is_the_middle_phase(chat):
    chat.say("what are the phases of IPT?")
    replies = chat.say("and what about the second one?")
    assert bot_texts(replies)[0].split() == _text("utter_ask_middle_phase")


def test_the_last_one_after_the_problem_areas_is_interpersonal_deficits(chat):
    chat.say("what are the four problem areas?")
    replies = chat.say("the last one?")
    assert bot_texts(replies)[0].split() == _text("utter_ask_interpersonal_deficits")


def test_what_about_grief_after_the_problem_areas_is_the_grief_answer(chat):
    chat.say("what are the four problem areas?")
    replies = chat.say("what about grief?")
    assert bot_texts(replies)[0].split() == _text("utter_ask_grief")


def test_and_for_teenagers_after_who_it_is_for_names_the_version_for_teenagers(chat):
    chat.say("who is IPT for?")
    replies = chat.say("and for teenagers?")
    said = " ".join(bot_texts(replies)).lower()
    assert "teen" in said and "i'm made for adults" not in said


@pytest.mark.parametrize("text", [
    "what would i have to pay for a course of ipt",
    "does insurance cover this kind of therapy",
    "do i need a letter from my gp before i can start",
])
def test_questions_about_booking_and_costs_are_sent_to_the_clinics_team(chat, text):
    """No dead end: the clinic's business gets who handles it, not a fallback or an IPT fact."""
    said = " ".join(bot_texts(chat.say(text)))
    opening = domain()["responses"]["utter_ask_clinic_admin"][0]["text"].split(". ")[1]
    assert opening in said, said
