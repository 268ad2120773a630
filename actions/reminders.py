"""Session actions: the next session, the reminder the worker triggers, "I can't make it",
and the client's reminder choice. Thin: the logic is in bot/clinic/reminders.py."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.clinic import reminders
from bot.clinic.store.db import call
from bot.clinic.store.services import StoreError

log = logging.getLogger(__name__)

CHOICE_BY_INTENT = {
    "reminders_day_before_only": ("day_before", "utter_reminders_day_before"),
    "stop_reminders": ("off", "utter_reminders_off"),
    "resume_reminders": ("default", "utter_reminders_on"),
}


def _session_vars(view: reminders.SessionView) -> dict[str, Any]:
    return {"session_day": view.day, "session_time": view.time, "session_zone": view.zone}


def _appointment_id(tracker: Tracker) -> int | None:
    """The appointment the worker named when it triggered the reminder, if any."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "appointment_id":
            try:
                return int(entity.get("value"))
            except (TypeError, ValueError):
                return None
    return None


def _explain_no_session(dispatcher: CollectingDispatcher, answer: reminders.Answer) -> bool:
    """Say why there is no session to talk about (unlinked chat, nothing booked); True if so."""
    if answer.status == "unlinked":
        dispatcher.utter_message(response="utter_not_linked")
    elif answer.session is None:
        dispatcher.utter_message(response="utter_no_next_session")
    return answer.session is None


class ActionNextSession(Action):
    """Say when the linked client's next session is, and how many of the agreed are left."""

    def name(self) -> str:
        return "action_next_session"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            answer = await call(reminders.next_session, tracker.sender_id)
        except (StoreError, SQLAlchemyError):
            log.exception("could not read the next session")
            dispatcher.utter_message(response="utter_link_error")
            return []
        if _explain_no_session(dispatcher, answer):
            return []
        if answer.session.agreed is None:
            dispatcher.utter_message(response="utter_next_session", **_session_vars(answer.session))
        else:
            dispatcher.utter_message(
                response="utter_next_session_with_count",
                session_number=answer.session.number,
                sessions_agreed=answer.session.agreed,
                sessions_left=answer.session.left_after,
                **_session_vars(answer.session),
            )
        return []


class ActionSessionReminder(Action):
    """Remind the client of the session the worker named (triggered, never typed)."""

    def name(self) -> str:
        return "action_session_reminder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        answer = await call(
            reminders.reminded_session, tracker.sender_id, _appointment_id(tracker)
        )
        # Nothing to remind of (cancelled in the meantime, or unlinked): say nothing at all.
        if answer.session is not None:
            dispatcher.utter_message(response="utter_session_reminder", **_session_vars(answer.session))
        return []


class ActionCannotAttend(Action):
    """Pass on to the clinic that the client can't come, and recall the agreed arrangements."""

    def name(self) -> str:
        return "action_cannot_attend"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            answer = await call(reminders.request_cancellation, tracker.sender_id, None)
        except (StoreError, SQLAlchemyError):
            log.exception("could not record a cancellation request")
            dispatcher.utter_message(response="utter_link_error")
            return []
        if not _explain_no_session(dispatcher, answer):
            dispatcher.utter_message(response="utter_cancel_requested", **_session_vars(answer.session))
            dispatcher.utter_message(response="utter_missed_session_arrangements")
        return []


class ActionSetReminders(Action):
    """Apply "only the day before", "stop reminders" or "remind me again" for the client."""

    def name(self) -> str:
        return "action_set_reminders"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        choice, response = CHOICE_BY_INTENT.get(intent, (None, None))
        if choice is None:
            return []
        try:
            linked = await call(reminders.set_reminders_from_chat, tracker.sender_id, choice)
        except (StoreError, SQLAlchemyError, reminders.ReminderError):
            log.exception("could not change reminder settings")
            dispatcher.utter_message(response="utter_link_error")
            return []
        dispatcher.utter_message(response=response if linked else "utter_not_linked")
        return []
