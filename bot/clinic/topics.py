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
                       responses: set[str], cue: str | None = None) -> str:
    """The response to send for a follow-up of ``kind`` after ``previous_intents``.

    "Tell me more" about ``ask_<slug>`` gives ``utter_more_<slug>``; "give me an example"
    gives ``utter_example_<slug>`` and falls back to ``utter_more_<slug>``. With no topic yet,
    or no such response, the answer offers topics instead.

    ``cue`` is the ``context_ref`` entity (see :func:`context_cue`): "ordinal:2" after a list
    ("what about the second one?") gives that item's answer; a topic question that leans on
    the last answer ("how long does that take?" after the first phase) gives the answer for
    that pair (``IN_CONTEXT``), else the question's own answer.
    """
    topic = last_topic(previous_intents)
    if cue and cue.startswith("ordinal:"):
        item = list_item(topic, int(cue.split(":", 1)[1]))
        if item and f"utter_{item}" in responses:
            return f"utter_{item}"
    if kind and kind.startswith(TOPIC_PREFIX) and kind != "ask_example":
        paired = IN_CONTEXT.get((kind, topic or ""))
        if paired and paired in responses:
            return paired
        own = f"utter_{kind}"
        return own if own in responses else NO_FOLLOW_UP
    if topic is None:
        return NO_FOLLOW_UP
    slug = topic[len(TOPIC_PREFIX):]
    candidates = [FOLLOW_UP_PREFIX.get(kind or "", "utter_more_") + slug, "utter_more_" + slug]
    for name in candidates:
        if name in responses:
            return name
    return NO_FOLLOW_UP


# ---- follow-ups in context ----
# The entity the FollowUpCue component (bot/rasa_ext/nlu/follow_up_cue.py) puts on a message that
# refers back to the last answer; rules send such a message to action_follow_up.
CONTEXT_ENTITY = "context_ref"

# Answers that list things, in the order their text names them: "the second one" after the
# phases is the middle phase. Keep in step with utter_ask_phases, utter_ask_problem_areas and
# utter_ask_techniques (tests/test_topics.py checks the order against the texts).
LISTS: dict[str, list[str]] = {
    "ask_phases": ["ask_initial_phase", "ask_middle_phase", "ask_ending_phase"],
    "ask_problem_areas": ["ask_grief", "ask_role_disputes", "ask_role_transitions",
                          "ask_interpersonal_deficits"],
    "ask_techniques": ["ask_communication_analysis", "ask_role_play", "ask_grief",
                       "ask_problem_solving", "ask_relapse_prevention"],
}
# A phase's items are also reached from a phase: "and the last one?" after the middle phase.
for _item in LISTS["ask_phases"]:
    LISTS[_item] = LISTS["ask_phases"]

# (question asked, last topic) -> the answer that reads the question in that context.
# "How long does that take?" after the first phase is about the first phase, not all of IPT.
_DURATION_OF = {
    "ask_initial_phase": "utter_duration_initial_phase",
    "ask_inventory": "utter_duration_initial_phase",
    "ask_middle_phase": "utter_duration_middle_phase",
    "ask_ending_phase": "utter_duration_ending_phase",
    "ask_relapse_prevention": "utter_duration_ending_phase",
}
IN_CONTEXT: dict[tuple[str, str], str] = {
    (question, topic): answer
    for topic, answer in _DURATION_OF.items()
    for question in ("ask_duration", "ask_max_sessions", "ask_time_limit")
}

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5, "last": -1, "final": -1}
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "1": 1, "2": 2, "3": 3,
            "4": 4, "5": 5}
# Words that may surround a bare pointer ("and what about the second one then?").
_FILLER = {"and", "what", "about", "how", "tell", "me", "more", "on", "the", "one", "ones",
           "then", "please", "pls", "plz", "ok", "okay", "so", "is", "that", "bit", "part",
           "item", "thing", "step", "explain", "of", "those", "them", "a", "can", "you",
           "number", "no", "again", "what's", "whats", "go", "into", "describe"}
_POINTERS = {"that", "this", "it", "those", "these", "them", "they"}
# A message naming IPT or a topic noun stands on its own: it is not a follow-up.
_OWN_TOPIC = {"ipt", "therapy", "interpersonal", "psychotherapy", "treatment", "course",
              "phase", "phases", "area", "areas", "whole", "overall",
              "total", "altogether", "all", "medication", "medicine", "meds"}


def _words(text: str | None) -> list[str]:
    import re

    return re.findall(r"[a-z0-9']+", (text or "").lower())


def context_cue(text: str | None) -> str | None:
    """``"ordinal:<n>"``, ``"that"`` or None: does this short message point back?

    "and the second one?" -> "ordinal:2"; "the last one" -> "ordinal:-1"; "how long does
    that take?" -> "that". Only short messages count, and none that names IPT, a phase or
    another topic noun of its own ("how long does IPT take?" is a question).
    """
    words = _words(text)
    if not words or len(words) > 8:
        return None
    ordinals = [w for w in words if w in _ORDINALS]
    rest = [w for w in words if w not in _ORDINALS and w not in _FILLER]
    if len(ordinals) == 1 and not rest:
        return f"ordinal:{_ORDINALS[ordinals[0]]}"
    if "number" in words:
        after = words[words.index("number") + 1:words.index("number") + 2]
        if after and after[0] in _NUMBERS and all(
                w in _FILLER or w in _NUMBERS for w in words):
            return f"ordinal:{_NUMBERS[after[0]]}"
    if _POINTERS & set(words) and not _OWN_TOPIC & set(words) and len(words) <= 7:
        return "that"
    return None


def list_item(topic: str | None, position: int) -> str | None:
    """The intent of item ``position`` (1-based; -1 for the last) of the list ``topic`` gave."""
    items = LISTS.get(topic or "")
    if not items or position == 0 or position > len(items):
        return None
    return items[position - 1] if position > 0 else items[-1]


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
