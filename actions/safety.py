"""Crisis resources from the clinic's configuration, the safety flag, and the age note."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import clinic, safety

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _clinic() -> clinic.ClinicConfig:
    """The clinic's configuration; the built-in default if the file has become unreadable."""
    try:
        return clinic.load()
    except clinic.ClinicConfigError:
        # `make run` checks the file at start; if it broke since, still give help.
        logger.exception("clinic file unusable, using the built-in default resources")
        return clinic.load(clinic.DEFAULT_FILE)


def _crisis_info(tracker: Tracker) -> tuple[str | None, bool]:
    """(category, minor) of the latest message, from the intent and the detector's data."""
    message = tracker.latest_message or {}
    info = message.get("crisis") or {}
    intent = (message.get("intent") or {}).get("name") or ""
    category = intent[len("crisis_"):] if intent.startswith("crisis_") else info.get("category")
    return category, bool(info.get("minor"))


def utter_resources(dispatcher: CollectingDispatcher, config: clinic.ClinicConfig,
                    minor: bool) -> None:
    """Send the emergency number and crisis lines, and young people's lines if under 18."""
    if config.crisis_lines:
        dispatcher.utter_message(response="utter_crisis_resources",
                                 emergency=config.emergency, lines=config.lines_text())
    else:
        dispatcher.utter_message(response="utter_crisis_resources_no_lines",
                                 emergency=config.emergency)
    if minor:
        utter_young_people(dispatcher, config)


def utter_young_people(dispatcher: CollectingDispatcher, config: clinic.ClinicConfig) -> None:
    """Send the clinic's lines for young people, or the general advice when it has none."""
    if config.young_people_resources:
        dispatcher.utter_message(response="utter_crisis_young_people",
                                 young_lines=config.young_people_text())
    else:
        dispatcher.utter_message(response="utter_crisis_young_people_generic")


class ActionCrisisResources(Action):
    """Give the clinic's crisis resources; flag an enrolled client and tell the on-call chat."""

    def name(self) -> str:
        return "action_crisis_resources"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        config = _clinic()
        category, minor = _crisis_info(tracker)
        utter_resources(dispatcher, config, minor)
        if category:
            await safety.handle_crisis(tracker.sender_id, category, config)
        return []


class ActionYoungPeopleResources(Action):
    """After the age note, list the clinic's services for young people."""

    def name(self) -> str:
        return "action_young_people_resources"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        utter_young_people(dispatcher, _clinic())
        return []
