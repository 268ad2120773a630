"""Check-in actions: validate the check-in form and save it when the last answer is in.

Thin: the client is found from the conversation id through bot.clinic.between_sessions; the reply
is the same whatever the score, because the assistant records and does not judge.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.form_common import (
    BetweenSessionsFormValidation,
    clear,
    latest_intent,
    latest_text,
)
from bot.clinic import between_sessions as bs
from bot.clinic.store.db import call
from bot.clinic.store.services import StoreError

log = logging.getLogger(__name__)


class ActionSaveCheckin(Action):
    """Save the finished check-in once and thank the client, whatever the score."""

    def name(self) -> str:
        return "action_save_checkin"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        mood = tracker.get_slot("ci_mood")
        if mood is None:
            dispatcher.utter_message(response="utter_form_stopped")
            return clear(bs.CHECKIN_SLOTS)
        # The last answer's time is the idempotency key: a retried call saves nothing new.
        when = bs.message_time(bs.last_user_timestamp(tracker.events))
        try:
            saved = await call(
                bs.save_checkin,
                tracker.sender_id,
                int(mood),
                bs.optional(tracker.get_slot("ci_note")),
                tracker.get_slot("ci_worked_on_homework"),
                when,
            )
        except (StoreError, SQLAlchemyError, ValueError):
            log.exception("could not save a check-in")
            dispatcher.utter_message(response="utter_checkin_save_failed")
            return clear(bs.CHECKIN_SLOTS)
        dispatcher.utter_message(
            response="utter_not_linked" if saved is None else "utter_checkin_saved"
        )
        return clear(bs.CHECKIN_SLOTS)


class ValidateCheckinForm(BetweenSessionsFormValidation):
    """Read a 0-10 mood, keep the note as written, ask about homework only if some is open."""

    def name(self) -> str:
        return "validate_checkin_form"

    reset_slots = bs.CHECKIN_SLOTS
    needs_open_assignment = "ci_worked_on_homework"

    async def extract_ci_mood(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "ci_mood")

    async def extract_ci_note(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "ci_note")

    async def extract_ci_worked_on_homework(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if (
            tracker.get_slot("requested_slot") != "ci_worked_on_homework"
            or tracker.get_slot("ci_worked_on_homework") is not None
        ):
            return {}
        if bs.classify_answer(latest_intent(tracker), latest_text(tracker)) != "answer":
            return {}
        return {"ci_worked_on_homework": bs.yes_or_no(latest_text(tracker))}

    async def validate_ci_mood(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None or bs.is_crisis(latest_intent(tracker)):
            return {"ci_mood": None}
        rating = value if isinstance(value, int) else bs.parse_rating(str(value))
        if rating is None:
            dispatcher.utter_message(response="utter_invalid_mood")
        return {"ci_mood": rating}

    async def validate_ci_note(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None or bs.is_crisis(latest_intent(tracker)):
            return {"ci_note": None}
        if value == bs.SKIPPED or bs.is_skip(value):
            return {"ci_note": bs.SKIPPED}
        if bs.text_problem(value) == "too_long":
            dispatcher.utter_message(response="utter_text_too_long", limit=bs.MAX_TEXT)
            return {"ci_note": None}
        return {"ci_note": value if value.strip() else bs.SKIPPED}

    async def validate_ci_worked_on_homework(
        self, value, dispatcher, tracker, domain
    ) -> dict[str, Any]:
        if value is None and tracker.get_slot("requested_slot") == "ci_worked_on_homework":
            dispatcher.utter_message(response="utter_yes_or_not_yet")
        return {"ci_worked_on_homework": value}
