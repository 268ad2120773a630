"""Enrolment: link this conversation to a client record with the clinic's one-time code."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clinic import privacy
from bot.clinic.enrolment import address_of, answer_message


class ActionLinkAccount(Action):
    """Check the code in the user's message and link the conversation when it is valid."""

    def name(self) -> str:
        return "action_link_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        answer = await answer_message(
            tracker.sender_id,
            tracker.get_latest_input_channel(),
            message.get("text"),
            message.get("entities") or [],
            # the client address (its tag) of this message: a limit per address too
            address=address_of(tracker.events),
        )
        dispatcher.utter_message(response=answer.response, **answer.variables)
        return []


class ActionConfirmLink(Action):
    """Answer to the privacy question: on "yes", link with the code from the message before."""

    def name(self) -> str:
        return "action_confirm_link"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        earlier = privacy.previous_user_message(tracker.events)
        asked = earlier is not None and privacy.asked_just_before(
            tracker.events, privacy.ASK_CONSENT
        )
        if not asked or intent != "affirm":
            # "no", or an answer to some other question: nothing is linked or recorded
            if asked:
                dispatcher.utter_message(response="utter_consent_declined")
            else:
                dispatcher.utter_message(response="utter_deny" if intent == "deny" else "utter_affirm")
            return []
        parse = earlier.get("parse_data") or {}
        answer = await answer_message(
            tracker.sender_id,
            tracker.get_latest_input_channel(),
            earlier.get("text"),
            parse.get("entities") or [],
            consent=True,
            # the address of the "yes": an attempt at this step counts there
            address=address_of(tracker.events),
        )
        dispatcher.utter_message(response=answer.response, **answer.variables)
        return []
