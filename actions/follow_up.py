"""Follow-ups on the last topic ("tell me more", "give me an example"), "Did you mean ...?"
after a message the NLU was unsure of, and the acknowledgement of someone sharing how they feel.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.clinic import between_sessions as bs
from bot.clinic.store.db import call
from bot.clinic.topics import CONTEXT_ENTITY, button_titles, follow_up_response, suggest_topics

log = logging.getLogger(__name__)


class ActionFollowUp(Action):
    """Answer a follow-up ("tell me more", "the second one?", "how long does that take?")
    in the context of the last topic asked."""

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
        cue = next((e.get("value") for e in tracker.latest_message.get("entities") or []
                    if e.get("entity") == CONTEXT_ENTITY), None)
        dispatcher.utter_message(
            response=follow_up_response(kind, previous, set(domain.get("responses", {})),
                                        cue=cue)
        )
        return []


def _previous_bot_action(tracker: Tracker) -> str | None:
    """The last action run before the latest user message (action_listen skipped)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


class ActionSuggestTopics(Action):
    """Offer the closest topics ("Did you mean ...?"); with none, or twice running, the menu."""

    def name(self) -> str:
        return "action_suggest_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        responses = domain.get("responses", {})
        titles = button_titles(responses)
        ranking = tracker.latest_message.get("intent_ranking") or []
        names = [r.get("name") for r in ranking]
        confidences = {r.get("name"): float(r.get("confidence") or 0.0) for r in ranking}
        offered = suggest_topics(names, confidences, allowed=set(titles))
        template = (responses.get("utter_did_you_mean") or [{}])[0]
        if not offered or _previous_bot_action(tracker) == self.name() or not template:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": titles[i], "payload": f"/{i}"} for i in offered]
        dispatcher.utter_message(text=template.get("text"),
                                 buttons=buttons + list(template.get("buttons") or []))
        return []


class ActionAcknowledgeUpdate(Action):
    """Acknowledge someone sharing how they are; offer a check-in only to linked clients."""

    def name(self) -> str:
        return "action_acknowledge_update"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            linked = await call(bs.is_linked, tracker.sender_id)
        except SQLAlchemyError as exc:
            log.warning("could not look up the conversation's link (%s)", type(exc).__name__)
            linked = False
        dispatcher.utter_message(
            response="utter_share_update" if linked else "utter_share_update_unlinked")
        return []
