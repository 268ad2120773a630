"""Check-in actions: validate the check-in form and save it when the last answer is in.

Thin: the client is found from the conversation id through bot.between_sessions; the reply
is the same whatever the score, because the assistant records and does not judge.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot import between_sessions as bs
from bot.store.services import StoreError

log = logging.getLogger(__name__)


def _reset() -> list[EventType]:
    """Clear the check-in's answers."""
    return [SlotSet(name, None) for name in bs.CHECKIN_SLOTS]


def _intent(tracker: Tracker) -> str | None:
    """The latest message's intent; a crisis the safety layer noted counts even if replaced."""
    crisis = (tracker.latest_message.get("crisis") or {}).get("category")
    if crisis:
        return f"crisis_{crisis}"
    return (tracker.latest_message.get("intent") or {}).get("name")


def _text(tracker: Tracker) -> str:
    """The latest message as the client wrote it."""
    return tracker.latest_message.get("text") or ""


class ActionSaveCheckin(Action):
    """Save the finished check-in once and thank the client, whatever the score."""

    def name(self) -> str:
        return "action_save_checkin"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        mood = tracker.get_slot("ci_mood")
        if mood is None:
            dispatcher.utter_message(response="utter_form_stopped")
            return _reset()
        # The last answer's time is the idempotency key: a retried call saves nothing new.
        when = bs.message_time(bs.last_user_timestamp(tracker.events))
        try:
            saved = await bs.call(bs.save_checkin, tracker.sender_id, int(mood),
                                  bs.optional(tracker.get_slot("ci_note")),
                                  tracker.get_slot("ci_worked_on_homework"), when)
        except (StoreError, SQLAlchemyError, ValueError):
            log.exception("could not save a check-in")
            dispatcher.utter_message(response="utter_checkin_save_failed")
            return _reset()
        dispatcher.utter_message(
            response="utter_not_linked" if saved is None else "utter_checkin_saved")
        return _reset()


class ValidateCheckinForm(FormValidationAction):
    """Read a 0-10 mood, keep the note as written, ask about homework only if some is open."""

    def name(self) -> str:
        return "validate_checkin_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        # "never mind" is a deny example in the NLU data, so it reaches us as an answer.
        if tracker.get_slot("requested_slot") and _intent(tracker) != "stop_form" and \
                bs.classify_answer(_intent(tracker), _text(tracker)) == "stop":
            return [*_reset(), ActiveLoop(None)]
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        try:
            has_open = bool(await bs.call(bs.open_assignments, tracker.sender_id))
        except SQLAlchemyError:
            log.exception("could not read open assignments")
            has_open = False
        return [s for s in domain_slots if has_open or s != "ci_worked_on_homework"]

    def _answer(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        """Take the message as the answer the NLU misread as a topic (not a real question)."""
        if tracker.get_slot("requested_slot") != slot or tracker.get_slot(slot) is not None:
            return {}
        if bs.classify_answer(_intent(tracker), _text(tracker)) != "answer":
            return {}
        return {slot: _text(tracker)}

    async def extract_ci_mood(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "ci_mood")

    async def extract_ci_note(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "ci_note")

    async def extract_ci_worked_on_homework(self, dispatcher, tracker, domain
                                            ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "ci_worked_on_homework" or \
                tracker.get_slot("ci_worked_on_homework") is not None:
            return {}
        if bs.classify_answer(_intent(tracker), _text(tracker)) != "answer":
            return {}
        return {"ci_worked_on_homework": bs.yes_or_no(_text(tracker))}

    async def validate_ci_mood(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None or bs.is_crisis(_intent(tracker)):
            return {"ci_mood": None}
        rating = value if isinstance(value, int) else bs.parse_rating(str(value))
        if rating is None:
            dispatcher.utter_message(response="utter_invalid_mood")
        return {"ci_mood": rating}

    async def validate_ci_note(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None or bs.is_crisis(_intent(tracker)):
            return {"ci_note": None}
        if value == bs.SKIPPED or bs.is_skip(value):
            return {"ci_note": bs.SKIPPED}
        if bs.text_problem(value) == "too_long":
            dispatcher.utter_message(response="utter_text_too_long", limit=bs.MAX_TEXT)
            return {"ci_note": None}
        return {"ci_note": value if value.strip() else bs.SKIPPED}

    async def validate_ci_worked_on_homework(self, value, dispatcher, tracker, domain
                                             ) -> dict[str, Any]:
        if value is None and tracker.get_slot("requested_slot") == "ci_worked_on_homework":
            dispatcher.utter_message(response="utter_yes_or_not_yet")
        return {"ci_worked_on_homework": value}
