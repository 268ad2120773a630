"""What the between-sessions forms share: reading the latest message, stopping, IPT questions.

`BetweenSessionsFormValidation` is abstract (no ``name``), so rasa-sdk does not register it;
`ValidateHomeworkForm` and `ValidateCheckinForm` subclass it.
"""

from __future__ import annotations

import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.clinic import between_sessions as bs
from bot.clinic.store.db import call

log = logging.getLogger(__name__)

#: Bookkeeping slot (influence_conversation: false): the IPT question last answered inside a
#: form. Setting it tells Rasa's FormAction that the message was handled, so the form does not
#: reject it (which would drop our answer) and asks its current question again.
TOPIC_ANSWERED = "form_topic_answered"


def latest_intent(tracker: Tracker) -> str | None:
    """The latest message's intent; a crisis the safety layer noted counts even if replaced."""
    crisis = (tracker.latest_message.get("crisis") or {}).get("category")
    if crisis:
        return f"crisis_{crisis}"
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    """The latest message as the client wrote it."""
    return tracker.latest_message.get("text") or ""


def right_after_the_message(tracker: Tracker, form: str) -> bool:
    """Whether the form runs on the client's latest message, not back from another action.

    Rasa validates the message only in that case; after another action (say the homework list
    shown mid-form) the form just asks again, and the question must not be answered twice.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") != form:
            return False
    return True


def clear(slots: list[str]) -> list[EventType]:
    """Events that empty ``slots``, so nothing half-filled survives a form."""
    return [SlotSet(name, None) for name in slots]


RECORDS_UNAVAILABLE = "utter_records_unavailable"
_Run = Callable[..., Awaitable[list[EventType]]]


def sorry_when_records_unavailable(run: _Run) -> _Run:
    """Wrap an action's ``run``: a database outage answers "try again shortly", not silence.

    Without this the action server answers 500, Rasa drops the action's events and the
    client hears nothing (docs/scaling.md: PostgreSQL restarted during load).
    """

    @functools.wraps(run)
    async def wrapper(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: DomainDict) -> list[EventType]:
        try:
            return await run(self, dispatcher, tracker, domain)
        except SQLAlchemyError as exc:
            log.warning("%s: records database unavailable (%s)", self.name(),
                        type(exc).__name__)
            dispatcher.utter_message(response=RECORDS_UNAVAILABLE)
            return []

    return wrapper


class BetweenSessionsFormValidation(FormValidationAction, ABC):
    """Stop on request, answer IPT questions, skip the assignment question when none is open.

    A topic question mid-form ("what is a role dispute?") is answered here with its own
    ``utter_<intent>`` response, rather than by one rule per topic and form (RulePolicy compares
    the state with every rule on each message). Nothing is stored as the answer: the slot
    mappings leave topic intents out and ``_answer`` takes only what reads as an answer.
    """

    #: slots emptied when the form is stopped
    reset_slots: ClassVar[list[str]] = []
    #: the slot asked only when the client has an open assignment
    needs_open_assignment: ClassVar[str] = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # "never mind" is a deny example in the NLU data, so it reaches us as an answer.
        intent = latest_intent(tracker)
        if (
            tracker.get_slot("requested_slot")
            and intent != "stop_form"
            and bs.classify_answer(intent, latest_text(tracker)) == "stop"
        ):
            return [*clear(self.reset_slots), ActiveLoop(None)]
        topic = self._topic_question(tracker)
        if topic:
            dispatcher.utter_message(response=f"utter_{topic}")
        events = await super().run(dispatcher, tracker, domain)
        if topic:
            # Without a slot event FormAction rejects the message and our answer is lost.
            events.append(SlotSet(TOPIC_ANSWERED, topic))
        return events

    def _topic_question(self, tracker: Tracker) -> str | None:
        """The IPT topic intent to answer before asking again, if the message is one.

        Every topic intent has its ``utter_<intent>`` response (tests/test_between_sessions_data).
        """
        intent = latest_intent(tracker)
        if (
            not tracker.get_slot("requested_slot")
            or not bs.is_topic_intent(intent)
            # The homework list, privacy and erasure keep their own rules (data/rules/).
            or intent in bs.REQUESTS_IN_FORMS
            or bs.classify_answer(intent, latest_text(tracker)) != "question"
            or not right_after_the_message(tracker, self.form_name())
        ):
            return None
        return intent

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        try:
            has_open = bool(await call(bs.open_assignments, tracker.sender_id))
        except SQLAlchemyError:
            log.exception("could not read open assignments")
            has_open = False
        return [s for s in domain_slots if has_open or s != self.needs_open_assignment]

    def _answer(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        """Take the message as the answer the NLU misread as a topic (not a real question)."""
        if tracker.get_slot("requested_slot") != slot or tracker.get_slot(slot) is not None:
            return {}
        if bs.classify_answer(latest_intent(tracker), latest_text(tracker)) != "answer":
            return {}
        return {slot: latest_text(tracker)}
