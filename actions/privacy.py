"""Privacy: the notice at first contact, "what do you store?", and erasing on request."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.clinic import between_sessions as bs
from bot.clinic import privacy
from bot.clinic.store.db import call

log = logging.getLogger(__name__)


def _common() -> dict[str, Any]:
    return {"privacy_url": privacy.privacy_url(), "retention_days": privacy.retention_days()}


class ActionPrivacyNotice(Action):
    """Give the short privacy notice once per conversation session (first contact)."""

    def name(self) -> str:
        return "action_privacy_notice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if not privacy.notice_shown(tracker.events):
            dispatcher.utter_message(response=privacy.NOTICE, **_common())
        return []


class ActionPrivacySummary(Action):
    """Say truthfully what is stored, with counts of this client's records when linked."""

    def name(self) -> str:
        return "action_privacy_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            found = await call(privacy.summary, tracker.sender_id)
        except SQLAlchemyError:
            log.exception("could not read the privacy summary")
            dispatcher.utter_message(response="utter_privacy_error")
            return []
        if not found.linked:
            dispatcher.utter_message(response="utter_privacy_unlinked", **_common())
            return []
        consent = found.consent_at.strftime("%d %B %Y") if found.consent_at else "not yet"
        dispatcher.utter_message(
            response="utter_privacy_linked", consent_date=consent, **found.counts, **_common()
        )
        return []


class ActionAskDataDeletion(Action):
    """Ask for confirmation before erasing, saying what exactly would be erased."""

    def name(self) -> str:
        return "action_ask_data_deletion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            linked = await call(bs.is_linked, tracker.sender_id)
        except SQLAlchemyError:
            log.exception("could not look up the conversation's link")
            dispatcher.utter_message(response="utter_privacy_error")
            return []
        dispatcher.utter_message(
            response=privacy.CONFIRM_ERASE_CLIENT if linked else privacy.CONFIRM_ERASE_CONVERSATION
        )
        return []


class ActionEraseData(Action):
    """Erase after a "yes" to the question just asked; anything else erases nothing."""

    def name(self) -> str:
        return "action_erase_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        confirmed = intent == "affirm" and privacy.asked_just_before(
            tracker.events, {privacy.CONFIRM_ERASE_CLIENT, privacy.CONFIRM_ERASE_CONVERSATION}
        )
        if not confirmed:
            dispatcher.utter_message(response="utter_erase_not_confirmed")
            return []
        try:
            await call(privacy.erase, tracker.sender_id)
        except SQLAlchemyError:
            log.exception("erasure failed")
            dispatcher.utter_message(response="utter_privacy_error")
            return []
        dispatcher.utter_message(response="utter_data_erased")
        return [privacy.erased_marker()]
