"""Booking, costs, insurance, referrals, waiting lists, changing therapist: the clinic's business.

The assistant cannot answer these for any clinic, so rather than a fallback it says who can,
with the contact details from the clinic's file (bot/clinic/config.py, ``contact:``) when they
are there. The words are the domain's (utter_ask_clinic_admin*); only the details come from here.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clinic import config as clinic

log = logging.getLogger(__name__)


def _clinic() -> clinic.ClinicConfig | None:
    """The clinic's configuration, or None if its file has become unusable since start."""
    try:
        return clinic.load()
    except clinic.ClinicConfigError:
        # `make run` checks the file at start; the plain answer still helps without it.
        log.exception("clinic file unusable, answering without contact details")
        return None


class ActionClinicAdmin(Action):
    """Say the clinic's team handles the question, and how to reach it."""

    def name(self) -> str:
        return "action_clinic_admin"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        config = _clinic()
        if config is None or config.contact is None:
            dispatcher.utter_message(response="utter_ask_clinic_admin")
        else:
            dispatcher.utter_message(response="utter_ask_clinic_admin_contact",
                                     clinic_name=config.name, contact=config.contact.lines())
        return []
