"""Help at the edge: what the web server and the Telegram service say when Rasa can't answer.

Rasa (or its action server) may be down, restarting or slow. The channels in front of it
must still give a person in crisis the emergency number and the crisis lines, so:

- :func:`looks_like_crisis` is a small keyword check, cheap and with no Rasa, spaCy or
  TensorFlow import, run on the message at the edge. It is a backstop, not the detector
  (that is ``bot/rasa_ext/nlu``, inside Rasa): it leans wide, and a false alarm here costs only a
  list of phone numbers shown next to the answer.
- :func:`crisis_reply` and :func:`trouble_reply` are the edge's own replies; both carry
  the clinic's emergency number and crisis lines (from the clinic file, ``bot.clinic.config``).
  No failure reply goes out without them.

The texts live here, not in the domain, because they are said exactly when Rasa can't be
asked (as bot/services/telegram/texts.py).
"""

from __future__ import annotations

import re
from typing import Any

from bot.clinic.config import ClinicConfig
from bot.clinic.textnorm import fold_accents
from bot.clinic.textnorm import normalise as _normalise

# Patterns over the normalised text: bot.clinic.textnorm.normalise, the crisis detector's own
# normaliser (lower case, leetspeak, censoring, stretched and spaced letters, slang made plain),
# then accents removed.
_WHO = (r"(he|she|they|my (husband|wife|partner|boyfriend|girlfriend|dad|father|mum|mom|mother|"
        r"brother|sister|ex|stepdad|stepmum|stepmom|uncle|boss))")
_PILLS = (r"(pills?|tablets?|meds|medication|medicine|paracetamol|acetaminophen|tylenol|ibuprofen|"
          r"painkillers?|sleeping|antidepressants?|insulin|bleach)")
_PATTERNS = [
    # suicidal thoughts and plans
    r"\bsu?[iu]?c+[iy]?d(e|al|ing)", r"\bsewer ?slide", r"\bun ?aliv", r"\bkms\b", r"\bkys\b",
    r"\bki?l+(ing|ed)? ?(my ?self|mysel)", r"\bend(ing)? (it all|my life|my own life)",
    (r"\b(want|wanna|wish|going|ready|plan(ning)?|need) (to )?(die\b|be dead|not (be )?(here|alive)|"
    r"disappear forever|sleep forever)"),
    r"\bbetter off (dead|without me)", r"\btake my (own )?life", r"\bno (reason|point) (to|in) (live|living)",
    r"\b(don'?t|do not) want to (live|be alive|wake up|exist)",
    r"\bhang(ing)? my ?self", r"\bjump(ing)? (off (a|the) (bridge|roof|building|cliff)|in front of)",
    r"\b(suicide|goodbye) (note|letter)", r"\bslit (my|wrists)",
    # self-harm
    r"\b(cut|cutting|burn|burning|hurt|hurting|harm|harming|starve|starving) my ?(self|arms?|wrists?|legs?)",
    r"\bself[ -]?harm", r"\bself[ -]?injur",
    # overdose, poisoning, medical emergency
    r"\bover ?dos",
    r"\b(took|taken|swallowed|downed) (all|too many|a lot of|lots of|loads of|the whole|every|a bottle of|"
    r"a box of|a handful of|\d\d+)\b.{0,24}\b" + _PILLS,
    r"\bcan'?t breathe", r"\bnot breathing", r"\bpoison(ed|ing)? (my ?self|me\b)",
    # harm to others
    (r"\b(i|i'm|i am|im) (want to|wanna|will|going to|gonna|might|feel like|thinking (of|about)|afraid i'?ll) "
    r"(kill|stab|shoot|strangle|drown|hurt|harm)(ing)? (him|her|them|someone|somebody|people|my (baby|child|kid|son|daughter))\b"),
    # abuse and violence
    r"\b" + _WHO + r" (hits|hit|beats|beat|chokes|choked|strangled|kicks|kicked|punches|punched|raped|abuses|abused) me\b",
    r"\b" + _WHO + r" (will|is going to|threatens to|threatened to|said (he|she|they)'?d) (kill|hurt) me",
    r"\b(raped|rape me|sexual(ly)? (abused|assaulted))",
    # someone else at risk
    (r"\b(he|she|they|friend|sister|brother|son|daughter|mum|mom|dad|partner) (wants to|is going to|"
    r"said (he|she|they)('?d| will| would| wants? to)|will) (kill|hurt) (him|her|them)sel"),
    # a few of the most spoken languages (the edge answers in English, with the numbers)
    r"\bsuicid(io|arme|ar|er)\b", r"\bquiero morir", r"\bme quiero matar", r"\bselbstmord",
    r"\bmich umbringen", r"\bnicht mehr leben", r"\bme tuer\b", r"\bveux mourir", r"\bintihar",
    r"\bkhudkushi", r"\baatmahatya", r"\bme matar\b",
]
_CRISIS = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
# Non-Latin scripts: the words themselves (no normalisation needed).
_SCRIPTS = re.compile("自杀|自殺|想死|死にたい|суицид|покончить с собой|хочу умереть|"
                      "انتحار|आत्महत्या|자살")


def normalise(text: str) -> str:
    """The crisis detector's normalisation (``bot.clinic.textnorm``), then accents removed."""
    return " ".join(fold_accents(_normalise(text)).split())


def looks_like_crisis(text: str) -> bool:
    """Whether ``text`` has an unmistakable crisis word or phrase (wide, cheap, no model)."""
    if not text:
        return False
    if _SCRIPTS.search(text):
        return True
    norm = normalise(text)
    # Also try with doubled letters cut to one ("diie", "kiill"): patterns use single letters.
    single = re.sub(r"([a-z])\1+", r"\1", norm)
    return bool(_CRISIS.search(norm) or _CRISIS.search(single))


def resources_lines(config: ClinicConfig) -> list[str]:
    """The emergency number first, then every crisis line: one line of text each."""
    out = [f"In immediate danger, call {config.emergency} now."]
    if config.crisis_lines:
        out.append("For support, you can also contact:")
        out += [f"- {line.as_line()}" for line in config.crisis_lines]
    else:
        out.append("To find a crisis line in your country, go to https://findahelpline.com.")
    return out


def resources_text(config: ClinicConfig) -> str:
    """The emergency number and crisis lines as one text."""
    return "\n".join(resources_lines(config))


CRISIS_OPENING = ("What you wrote sounds serious, and you deserve help right now. I'm having "
                  "trouble answering at the moment, so please don't wait for me.")
TROUBLE_OPENING = "I'm having trouble answering right now, please try again in a minute."
TROUBLE_HELP = "If you need help now:"


def crisis_reply(config: ClinicConfig) -> list[str]:
    """The edge's answer to a crisis message Rasa can't answer in time: numbers first."""
    return [resources_text(config), CRISIS_OPENING]


def trouble_reply(config: ClinicConfig) -> list[str]:
    """The edge's answer to any other message Rasa can't answer: it still has the numbers."""
    return [TROUBLE_OPENING, f"{TROUBLE_HELP}\n{resources_text(config)}"]


def resources_json(config: ClinicConfig) -> dict[str, Any]:
    """The resources as data, for the widget's crisis banner (number first, then lines)."""
    return {
        "emergency": config.emergency,
        "emergency_number": config.emergency_number,
        "lines": [
            {"name": line.name, "phone": line.phone, "text": line.text, "web": line.web}
            for line in config.crisis_lines
        ],
        "directory": None if config.crisis_lines else "https://findahelpline.com",
    }


def load_clinic() -> ClinicConfig:
    """The clinic's configuration; the built-in default if the clinic's file is unusable."""
    from bot.clinic import config as clinic

    try:
        return clinic.load()
    except clinic.ClinicConfigError:
        return clinic.load(clinic.DEFAULT_FILE)
