"""Which answer a follow-up question gets. Pure functions, no Rasa imports."""

from __future__ import annotations

from collections.abc import Iterable

TOPIC_PREFIX = "ask_"
FOLLOW_UP_PREFIX = {"tell_me_more": "utter_more_", "ask_example": "utter_example_"}
NO_FOLLOW_UP = "utter_no_follow_up"


def last_topic(previous_intents: Iterable[str | None]) -> str | None:
    """The most recent topic intent (``ask_*``) among earlier user messages."""
    for intent in reversed(list(previous_intents)):
        if intent and intent.startswith(TOPIC_PREFIX) and intent != "ask_example":
            return intent
    return None


def follow_up_response(kind: str | None, previous_intents: Iterable[str | None],
                       responses: set[str]) -> str:
    """The response to send for a follow-up of ``kind`` after ``previous_intents``.

    "Tell me more" about ``ask_<slug>`` gives ``utter_more_<slug>``; "give me an example"
    gives ``utter_example_<slug>`` and falls back to ``utter_more_<slug>``. With no topic yet,
    or no such response, the answer offers topics instead.
    """
    topic = last_topic(previous_intents)
    if topic is None:
        return NO_FOLLOW_UP
    slug = topic[len(TOPIC_PREFIX):]
    candidates = [FOLLOW_UP_PREFIX.get(kind or "", "utter_more_") + slug, "utter_more_" + slug]
    for name in candidates:
        if name in responses:
            return name
    return NO_FOLLOW_UP


# "Did you mean ...?" after a low-confidence message: the closest topics by meaning. The
# ranking is the intent classifier's (sentence-encoder embeddings + word counts over every
# topic's examples), so the nearest topics are those whose examples read most like the message.
MAX_SUGGESTIONS = 3
MIN_SUGGESTION_CONFIDENCE = 0.04
NOT_SUGGESTED = {"ask_example", "ask_capabilities", "ask_homework_assigned"}


def suggest_topics(ranking: Iterable[str], confidences: dict[str, float] | None = None,
                   allowed: set[str] | None = None) -> list[str]:
    """Up to three topic intents (``ask_*``) from ``ranking``, best first.

    ``confidences`` drops the ones the classifier gave almost no weight; ``allowed`` (the
    intents that have a button title in the domain) drops those the bot cannot offer.
    """
    confidences = confidences or {}
    out: list[str] = []
    for name in ranking:
        if not name or not name.startswith(TOPIC_PREFIX) or name in NOT_SUGGESTED:
            continue
        if allowed is not None and name not in allowed:
            continue
        if confidences.get(name, 1.0) < MIN_SUGGESTION_CONFIDENCE:
            continue
        if name not in out:
            out.append(name)
        if len(out) == MAX_SUGGESTIONS:
            break
    return out


def button_titles(responses: dict) -> dict[str, str]:
    """intent -> the title of the first domain button whose payload is ``/<intent>``.

    The bot's words stay in the domain: a suggested topic is labelled as it is everywhere else.
    """
    titles: dict[str, str] = {}
    for variants in responses.values():
        for variant in variants or []:
            for button in variant.get("buttons") or []:
                payload = str(button.get("payload", ""))
                if payload.startswith("/") and "{" not in payload:
                    titles.setdefault(payload[1:], button.get("title", ""))
    return {k: v for k, v in titles.items() if v}
