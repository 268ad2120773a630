"""The crisis categories, defined once: names, intents, replies, on-call labels, priority.

Everything else derives from this module: the detector (bot/rasa_ext/nlu/crisis.py), the patterns
(bot/rasa_ext/nlu/crisis_patterns.py), the policy (bot/rasa_ext/policies/crisis.py), the on-call text
(bot/clinic/safety.py), the action (actions/safety.py) and the tests. No Rasa imports, so the edge
services can use it too.

Tiers (docs/safety.md):

- ``certain``: the full crisis response (resources first, the category's reply, "are you
  safe?"); only this tier records a flag and pages the on-call chat for an enrolled client.
- ``uncertain``: a risk signal the detector cannot confirm: a short warm check, with the
  resources, under the intent ``SAFETY_CHECK_INTENT``.
- ``none``: the normal answer.
"""

from __future__ import annotations

from dataclasses import dataclass

CRISIS_PREFIX = "crisis_"
SAFETY_CHECK_INTENT = "safety_check"
OTHER_LANGUAGE_INTENT = "other_language"
CERTAIN, UNCERTAIN, NONE = "certain", "uncertain", "none"


@dataclass(frozen=True)
class Category:
    name: str
    label: str  # for the on-call chat and the docs; never the person's words

    @property
    def intent(self) -> str:
        return CRISIS_PREFIX + self.name

    @property
    def utter(self) -> str:
        return "utter_crisis_" + self.name


# In priority order: when a message fits several, the first one answers (a body in danger
# needs the emergency number before anything else; someone worried about another person
# needs to be told what to do for them).
CATEGORIES: tuple[Category, ...] = (
    Category("medical", "possible medical emergency"),
    Category("overdose", "overdose or poisoning"),
    Category("worried_other", "worried about someone else at risk"),
    Category("plan", "suicide plan or preparations"),
    Category("suicide", "suicidal thoughts"),
    Category("self_harm", "self-harm"),
    Category("eating", "eating-disorder emergency"),
    Category("psychosis", "voices or commands telling them to act"),
    Category("harm_others", "thoughts of harming someone else"),
    Category("abuse", "abuse, violence or coercive control"),
)
BY_NAME = {c.name: c for c in CATEGORIES}
NAMES = tuple(c.name for c in CATEGORIES)
INTENTS = tuple(c.intent for c in CATEGORIES)
PRIORITY = {c.name: i for i, c in enumerate(CATEGORIES)}
LABELS = {c.name: c.label for c in CATEGORIES}
GENERAL = "suicide"  # the reply used when a category has no text of its own


def category_of_intent(intent: str | None) -> str | None:
    """The category name of a ``crisis_*`` intent, or None."""
    if intent and intent.startswith(CRISIS_PREFIX) and intent[len(CRISIS_PREFIX):] in BY_NAME:
        return intent[len(CRISIS_PREFIX):]
    return None


def first(names) -> str | None:
    """The category that answers when a message fits several (by ``CATEGORIES`` order)."""
    known = [n for n in names if n in PRIORITY]
    return min(known, key=PRIORITY.__getitem__) if known else None
