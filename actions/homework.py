"""Homework log actions: show assignments, the homework form, save, list, correct, stop.

Thin: each action finds the client from the conversation id through bot.clinic.between_sessions
(never from a slot) and answers with responses from domain.yml.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.form_common import (
    RECORDS_UNAVAILABLE,
    BetweenSessionsFormValidation,
    clear,
    latest_intent,
    latest_text,
    sorry_when_records_unavailable,
)
from bot.clinic import between_sessions as bs
from bot.clinic.store.db import call
from bot.clinic.store.services import StoreError

log = logging.getLogger(__name__)
BUTTON_TITLE_MAX = 60
# Every between-sessions slot: starting or stopping any of these flows empties them all.
RESET_SLOTS = bs.HOMEWORK_SLOTS + bs.CHECKIN_SLOTS


def _response_text(domain: DomainDict, name: str) -> str:
    """The first text of a response, for words an action has to put inside another message."""
    return domain["responses"][name][0]["text"]


def _date(when) -> str:
    """A short local date and time for the chat ("Mon 7 Dec, 15:00")."""
    return f"{when:%a} {when.day} {when:%b}, {when:%H:%M}"


def _short(title: str) -> str:
    """A button title that fits chat clients (the full title is in the message)."""
    return title if len(title) <= BUTTON_TITLE_MAX else title[: BUTTON_TITLE_MAX - 1] + "…"


class ActionRequireLink(Action):
    """Check in the store that this conversation is linked before a form starts."""

    def name(self) -> str:
        return "action_require_link"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            linked = await call(bs.is_linked, tracker.sender_id)
        except SQLAlchemyError as exc:
            # The database is down (or restarting): not "you are not linked", but "soon".
            log.warning("could not look up the conversation's link (%s)", type(exc).__name__)
            dispatcher.utter_message(response=RECORDS_UNAVAILABLE)
            return [*clear(RESET_SLOTS), SlotSet("is_linked", False)]
        if not linked:
            dispatcher.utter_message(response="utter_not_linked")
        return [*clear(RESET_SLOTS), SlotSet("is_linked", linked)]


class ActionShowHomework(Action):
    """List the client's open assignments with the session each is due at."""

    def name(self) -> str:
        return "action_show_homework"

    @sorry_when_records_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not await call(bs.is_linked, tracker.sender_id):
            dispatcher.utter_message(response="utter_not_linked")
            return []
        assignments = await call(bs.open_assignments, tracker.sender_id)
        if not assignments:
            dispatcher.utter_message(response="utter_no_homework_assigned")
            return []
        dispatcher.utter_message(response="utter_homework_assigned_intro")
        for a in assignments:
            if a.due:
                dispatcher.utter_message(
                    response="utter_homework_assignment_due", title=a.title, due=_date(a.due)
                )
            else:
                dispatcher.utter_message(response="utter_homework_assignment", title=a.title)
        if tracker.active_loop.get("name") is None:
            dispatcher.utter_message(response="utter_homework_assigned_offer")
        return []


class ActionListHomeworkLog(Action):
    """Read back the client's latest log entries."""

    def name(self) -> str:
        return "action_list_homework_log"

    @sorry_when_records_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        entries = await call(bs.recent_entries, tracker.sender_id)
        if entries is None:
            dispatcher.utter_message(response="utter_not_linked")
        elif not entries:
            dispatcher.utter_message(response="utter_homework_log_empty")
        else:
            dispatcher.utter_message(response="utter_homework_log_intro")
            for e in entries:
                dispatcher.utter_message(
                    response="utter_homework_log_item",
                    date=_date(e.created_at),
                    what_done=e.what_done,
                )
            dispatcher.utter_message(response="utter_homework_log_offer")
        return []


class ActionStartCorrection(Action):
    """Start redoing the client's last entry (the form then asks the questions again)."""

    def name(self) -> str:
        return "action_start_correction"

    @sorry_when_records_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not await call(bs.is_linked, tracker.sender_id):
            dispatcher.utter_message(response="utter_not_linked")
            return clear(RESET_SLOTS)
        entry = await call(bs.last_entry, tracker.sender_id)
        if entry is None:
            dispatcher.utter_message(response="utter_nothing_to_correct")
            return clear(RESET_SLOTS)
        dispatcher.utter_message(
            response="utter_correction_intro",
            date=_date(entry.created_at),
            what_done=entry.what_done,
        )
        return [*clear(RESET_SLOTS), SlotSet("hw_correcting_id", str(entry.id))]


class ActionAskHwAssignment(Action):
    """Ask which open assignment the entry is about, one button each plus "something else"."""

    def name(self) -> str:
        return "action_ask_hw_assignment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        assignments = await call(bs.open_assignments, tracker.sender_id)
        buttons = [
            {
                "title": _short(a.title),
                "payload": f'/choose_assignment{{"hw_assignment": "{a.id}"}}',
            }
            for a in assignments
        ]
        buttons.append(
            {
                "title": _response_text(domain, "utter_hw_free_entry_button"),
                "payload": f'/choose_assignment{{"hw_assignment": "{bs.FREE_ENTRY}"}}',
            }
        )
        dispatcher.utter_message(response="utter_ask_hw_assignment", buttons=buttons)
        return []


class ActionAskHwConfirmed(Action):
    """Show the entry as the client wrote it and ask whether to save it."""

    def name(self) -> str:
        return "action_ask_hw_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        skipped = _response_text(domain, "utter_summary_skipped")
        chosen = tracker.get_slot("hw_assignment")
        assignment = _response_text(domain, "utter_summary_free_entry")
        if chosen and chosen != bs.FREE_ENTRY:
            found = await call(bs.owned_open_assignment, tracker.sender_id, int(chosen))
            assignment = found.title if found else assignment

        def shown(slot: str) -> str:
            value = bs.optional(tracker.get_slot(slot))
            return skipped if value is None else str(value)

        dispatcher.utter_message(
            response="utter_homework_summary",
            assignment=assignment,
            what_done=shown("hw_what_done"),
            how_it_went=shown("hw_how_it_went"),
            feeling=shown("hw_feeling"),
            obstacles=shown("hw_obstacles"),
        )
        return []


class ActionSaveHomeworkEntry(Action):
    """Save (or, when correcting, replace) the entry if the client confirmed it; else discard."""

    def name(self) -> str:
        return "action_save_homework_entry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        confirmed = tracker.get_slot("hw_confirmed")
        if confirmed is None:
            dispatcher.utter_message(response="utter_form_stopped")
            return clear(RESET_SLOTS)
        if confirmed is not True:
            dispatcher.utter_message(response="utter_homework_not_saved")
            return clear(RESET_SLOTS)
        chosen = tracker.get_slot("hw_assignment")
        feeling = bs.optional(tracker.get_slot("hw_feeling"))
        draft = bs.HomeworkDraft(
            what_done=tracker.get_slot("hw_what_done"),
            how_it_went=bs.optional(tracker.get_slot("hw_how_it_went")),
            feeling=int(feeling) if feeling is not None else None,
            obstacles=bs.optional(tracker.get_slot("hw_obstacles")),
            assignment_id=int(chosen) if chosen and chosen != bs.FREE_ENTRY else None,
        )
        # The confirming message's time is the idempotency key: a retried call saves nothing new.
        when = bs.message_time(bs.last_user_timestamp(tracker.events))
        correcting = tracker.get_slot("hw_correcting_id")
        try:
            if correcting:
                saved = await call(
                    bs.correct_entry, tracker.sender_id, int(correcting), draft, when
                )
            else:
                saved = await call(bs.save_homework_entry, tracker.sender_id, draft, when)
        except (StoreError, SQLAlchemyError, ValueError):
            log.exception("could not save a homework entry")
            dispatcher.utter_message(response="utter_homework_save_failed")
            return clear(RESET_SLOTS)
        if saved is None:
            dispatcher.utter_message(response="utter_not_linked")
        else:
            dispatcher.utter_message(
                response="utter_homework_corrected" if correcting else "utter_homework_saved"
            )
        return clear(RESET_SLOTS)


class ActionDiscardForm(Action):
    """Stop a between-sessions form: clear its answers, save nothing, say so."""

    def name(self) -> str:
        return "action_discard_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_form_stopped")
        return clear(RESET_SLOTS)


class ValidateHomeworkForm(BetweenSessionsFormValidation):
    """Keep the client's words as written; refuse crisis texts, over-long text, bad ratings."""

    def name(self) -> str:
        return "validate_homework_form"

    reset_slots = RESET_SLOTS
    needs_open_assignment = "hw_assignment"

    async def extract_hw_assignment(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "hw_assignment")

    async def extract_hw_what_done(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "hw_what_done")

    async def extract_hw_how_it_went(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "hw_how_it_went")

    async def extract_hw_feeling(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "hw_feeling")

    async def extract_hw_obstacles(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._answer(tracker, "hw_obstacles")

    async def extract_hw_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if (
            tracker.get_slot("requested_slot") != "hw_confirmed"
            or tracker.get_slot("hw_confirmed") is not None
        ):
            return {}
        if bs.classify_answer(latest_intent(tracker), latest_text(tracker)) != "answer":
            return {}
        # Anything but a clear yes or no asks again: an entry is saved only on a clear yes.
        return {"hw_confirmed": bs.yes_or_no(latest_text(tracker))}

    def _free_text(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        optional: bool,
    ) -> dict[str, Any]:
        """Keep free text exactly as written, or explain why not and ask again."""
        if value is None or bs.is_crisis(latest_intent(tracker)):
            return {slot: None}
        if optional and (value == bs.SKIPPED or bs.is_skip(value)):
            return {slot: bs.SKIPPED}
        problem = bs.text_problem(value)
        if problem == "too_long":
            dispatcher.utter_message(response="utter_text_too_long", limit=bs.MAX_TEXT)
            return {slot: None}
        if problem or bs.is_skip(value):
            dispatcher.utter_message(response="utter_text_needed")
            return {slot: None}
        return {slot: value}

    async def validate_hw_assignment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"hw_assignment": None}
        assignments = await call(bs.open_assignments, tracker.sender_id)
        from_button = any(
            e.get("entity") == "hw_assignment" for e in tracker.latest_message.get("entities") or []
        )
        choice = bs.match_assignment(value, assignments, from_button)
        if choice is None:
            dispatcher.utter_message(response="utter_invalid_assignment")
            return {"hw_assignment": None}
        return {"hw_assignment": str(choice)}

    async def validate_hw_what_done(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._free_text(value, dispatcher, tracker, "hw_what_done", optional=False)

    async def validate_hw_how_it_went(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._free_text(value, dispatcher, tracker, "hw_how_it_went", optional=False)

    async def validate_hw_obstacles(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return self._free_text(value, dispatcher, tracker, "hw_obstacles", optional=True)

    async def validate_hw_feeling(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None:
            return {"hw_feeling": None}
        if value == bs.SKIPPED or bs.is_skip(str(value)):
            return {"hw_feeling": bs.SKIPPED}
        rating = bs.parse_rating(str(value))
        if rating is None:
            dispatcher.utter_message(response="utter_invalid_rating")
            return {"hw_feeling": None}
        return {"hw_feeling": rating}

    async def validate_hw_confirmed(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None and tracker.get_slot("requested_slot") == "hw_confirmed":
            dispatcher.utter_message(response="utter_confirm_yes_or_no")
        return {"hw_confirmed": value}
