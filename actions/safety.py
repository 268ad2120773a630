"""Crisis resources from the clinic's configuration, the safety flag, and the age note."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clinic import config as clinic
from bot.clinic import crisis_categories as cc
from bot.clinic import safety

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


# "If you are in danger, call now: <number>." in the most spoken languages, our own words.
# ``{n}`` is the clinic's emergency number, or the language's "your local emergency number".
OTHER_LANGUAGE_LINES = {
    "es": ("Solo puedo conversar en inglés. Si estás en peligro, llama ahora: {n}.",
           "el número de emergencias de tu país"),
    "fr": ("Je ne peux discuter qu'en anglais. Si vous êtes en danger, appelez maintenant : {n}.",
           "le numéro d'urgence de votre pays"),
    "de": ("Ich kann nur auf Englisch schreiben. Wenn Sie in Gefahr sind, rufen Sie jetzt an: {n}.",
           "den Notruf Ihres Landes"),
    "pt": ("Só consigo conversar em inglês. Se você estiver em perigo, ligue agora: {n}.",
           "o número de emergência do seu país"),
    "it": ("Posso scrivere solo in inglese. Se sei in pericolo, chiama subito: {n}.",
           "il numero di emergenza del tuo paese"),
    "pl": ("Mogę pisać tylko po angielsku. Jeśli jesteś w niebezpieczeństwie, zadzwoń teraz: {n}.",
           "numer alarmowy w twoim kraju"),
    "tr": ("Yalnızca İngilizce yazabiliyorum. Tehlikedeysen hemen ara: {n}.",
           "ülkendeki acil durum numarası"),
    "ru": ("Я могу общаться только на английском. Если вы в опасности, позвоните сейчас: {n}.",
           "местный номер экстренной помощи"),
    "uk": ("Я можу спілкуватися лише англійською. Якщо ви в небезпеці, зателефонуйте зараз: {n}.",
           "місцевий номер екстреної допомоги"),
    "ar": ("أستطيع التحدث بالإنجليزية فقط. إذا كنت في خطر، اتصل الآن: {n}.",
           "رقم الطوارئ المحلي"),
    "hi": ("मैं केवल अंग्रेज़ी में बात कर सकता हूँ। अगर आप खतरे में हैं, तो अभी कॉल करें: {n}।",
           "अपने देश का आपातकालीन नंबर"),
    "zh": ("我只能用英语交流。如果你有危险，请立即拨打：{n}。", "当地的紧急电话"),
}
ENGLISH_LINE = "I can only chat in English. If you are in danger, call {n} now."


def other_language_text(config: clinic.ClinicConfig, language: str | None) -> str:
    """The multilingual safety line: the person's language first (when known), then others."""
    number = config.emergency_number
    first = [language] if language in OTHER_LANGUAGE_LINES else []
    lines = []
    for code in first + [c for c in OTHER_LANGUAGE_LINES if c not in first]:
        template, local = OTHER_LANGUAGE_LINES[code]
        lines.append(template.format(n=number or local))
    lines.insert(1 if first else 0, ENGLISH_LINE.format(n=config.emergency))
    return "\n".join(lines)


def _crisis_info(tracker: Tracker) -> tuple[str | None, bool, str, str]:
    """(category, minor, tier, language) of the latest message, from the detector's data."""
    message = tracker.latest_message or {}
    info = message.get("crisis") or {}
    intent = (message.get("intent") or {}).get("name") or ""
    category = cc.category_of_intent(intent) or info.get("category")
    tier = cc.CERTAIN if cc.category_of_intent(intent) else info.get("tier", cc.NONE)
    return category, bool(info.get("minor")), tier, info.get("language") or "en"


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
        category, minor, tier, language = _crisis_info(tracker)
        utter_resources(dispatcher, config, minor)
        if language != "en":
            dispatcher.utter_message(text=other_language_text(config, language))
        # only a certain crisis records a flag and pages the on-call chat
        if category and tier == cc.CERTAIN:
            await safety.handle_crisis(tracker.sender_id, category, config)
        return []


class ActionOtherLanguage(Action):
    """A message in a language the assistant does not speak: the multilingual safety line."""

    def name(self) -> str:
        return "action_other_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        info = (tracker.latest_message or {}).get("crisis") or {}
        dispatcher.utter_message(text=other_language_text(_clinic(), info.get("language")))
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
