"""Enrolment: link this conversation to a client record with the clinic's one-time code."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.store.enrolment import link_from_message


class ActionLinkAccount(Action):
    """Check the code in the user's message and link the conversation when it is valid."""

    def name(self) -> str:
        return "action_link_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        answer = link_from_message(
            tracker.sender_id,
            tracker.get_latest_input_channel(),
            message.get("text"),
            message.get("entities") or [],
        )
        dispatcher.utter_message(response=answer.response, **answer.variables)
        return []
