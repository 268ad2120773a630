"""Follow-ups on the last topic: "tell me more", "give me an example"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.topics import follow_up_response


class ActionFollowUp(Action):
    """Answer "tell me more" or "give me an example" about the last topic asked."""

    def name(self) -> str:
        return "action_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        kind = tracker.latest_message.get("intent", {}).get("name")
        previous = [
            e.get("parse_data", {}).get("intent", {}).get("name")
            for e in tracker.events
            if e.get("event") == "user"
        ][:-1]
        dispatcher.utter_message(
            response=follow_up_response(kind, previous, set(domain.get("responses", {})))
        )
        return []
