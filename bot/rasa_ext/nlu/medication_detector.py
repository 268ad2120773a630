"""MedicationDetector: a message that names a psychiatric medicine is read as ``ask_medication``.

Every medicine question must get the medication reply (no advice; the prescriber or pharmacist
first; the urgent line for a double dose or feeling very unwell). The classifier learns the
usual phrasings, but a drug name it has rarely seen ("can I drink on mirtazapine?") can pull
a message towards an IPT topic or the fallback. A drug name is an exact signal, so a
deterministic check backs the classifier up, as CodeDetector does for enrolment codes.

Placed after CrisisDetector and before FallbackClassifier in config.yml: a crisis intent is
never replaced (an overdose is a crisis first), and the certain intent cannot fall back.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.clinic import crisis_categories as cc
from bot.rasa_ext.nlu.base import ConfigOnlyComponent, set_certain_intent

MEDICATION_INTENT = "ask_medication"
CRISIS_PREFIX = "crisis_"
NOT_OVER = {cc.SAFETY_CHECK_INTENT, cc.OTHER_LANGUAGE_INTENT}

# Generic names, then common brand names, of medicines prescribed for mood, anxiety and sleep.
# Words that are also everyday English (e.g. brand names like "Desyrel" are fine; "Ativan" too)
# are left out on purpose.
DRUG_NAMES = frozenset({
    # SSRIs, SNRIs and other antidepressants
    "sertraline", "fluoxetine", "citalopram", "escitalopram", "paroxetine", "fluvoxamine",
    "vortioxetine", "venlafaxine", "desvenlafaxine", "duloxetine", "mirtazapine", "bupropion",
    "trazodone", "agomelatine", "amitriptyline", "nortriptyline", "imipramine", "clomipramine",
    "dosulepin", "lofepramine", "phenelzine", "moclobemide", "reboxetine", "esketamine",
    # mood stabilisers, antipsychotics
    "lithium", "lamotrigine", "valproate", "quetiapine", "olanzapine", "aripiprazole",
    "risperidone",
    # anxiety and sleep
    "diazepam", "lorazepam", "alprazolam", "clonazepam", "zopiclone", "zolpidem",
    "propranolol", "pregabalin", "gabapentin", "buspirone", "hydroxyzine", "melatonin",
    # brand names
    "zoloft", "lustral", "prozac", "celexa", "cipramil", "lexapro", "cipralex", "paxil",
    "seroxat", "effexor", "cymbalta", "remeron", "wellbutrin", "zyban", "trintellix",
    "brintellix", "pristiq", "xanax", "valium", "ativan", "klonopin", "seroquel", "zyprexa",
    "abilify", "lamictal", "ambien", "lyrica", "neurontin", "spravato",
})
# Words for the class of medicine itself.
CLASS_WORDS = frozenset({
    "antidepressant", "antidepressants", "anti-depressant", "anti-depressants", "ssri",
    "ssris", "snri", "snris", "benzodiazepine", "benzodiazepines", "benzo", "benzos",
    "antipsychotic", "antipsychotics", "sleeping pill", "sleeping pills", "sleeping tablets",
    "st john's wort", "st johns wort",
})
# A misspelt name still counts when it is this close to one of DRUG_NAMES (long words only,
# so short everyday words never match by accident).
FUZZY_MIN_LENGTH = 7
FUZZY_RATIO = 0.86

_WORD = re.compile(r"[a-z][a-z'\-]+")


def names_a_medicine(text: str | None) -> bool:
    """Whether ``text`` names a psychiatric medicine or the class of one."""
    lowered = (text or "").lower()
    if any(phrase in lowered for phrase in CLASS_WORDS if " " in phrase):
        return True
    for word in _WORD.findall(lowered):
        if word in DRUG_NAMES or word in CLASS_WORDS:
            return True
        if len(word) >= FUZZY_MIN_LENGTH and any(
            abs(len(word) - len(name)) <= 2
            and SequenceMatcher(None, word, name).ratio() >= FUZZY_RATIO
            for name in DRUG_NAMES
        ):
            return True
    return False


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class MedicationDetector(ConfigOnlyComponent, IntentClassifier):
    """Set ``ask_medication`` (confidence 1.0) on messages that name a medicine, unless a crisis."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent": MEDICATION_INTENT}

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.intent = config.get("intent", MEDICATION_INTENT)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            current = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) or ""
            # Neither tier of the crisis detector is ever overridden: "I've been saving up my
            # sertraline" is a safety check first, not a medicine question.
            if current.startswith(CRISIS_PREFIX) or current in NOT_OVER or message.get("crisis"):
                continue
            if names_a_medicine(message.get(TEXT)):
                set_certain_intent(message, self.intent)
        return messages
