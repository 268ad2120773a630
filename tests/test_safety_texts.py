"""Every text the assistant can send: no diagnosis, no medication advice, safe crisis replies.

Scans every response in the domain and the data (present and future) and every string
literal in actions/. The pattern lists live here, in the test, on purpose.
"""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from bot import domain_files
from bot.clinic.crisis_categories import CATEGORIES
from tests.helpers import REPO

CONDITIONS = (r"(?:depress\w*|bipolar|anxiety|anxious|ptsd|adhd|ocd|schizophreni\w*|"
              r"(?:personality |mental |eating |mood )?disorder|mental illness|psychosis)")

# Saying or implying that the person has, or has not, a condition; or that IPT fits them.
DIAGNOSIS_PATTERNS = [
    (rf"\byou (?:probably |likely |may |might |could |definitely |clearly |seem to |do )?"
    rf"(?:have|suffer from|are suffering from|show signs of)\s+(?:\w+\s+){{0,2}}{CONDITIONS}"),
    (r"\byou(?:'re| are) (?:probably |likely |clearly |definitely |not |just )?"
    r"(?:depressed|bipolar|mentally ill|anxious|fine|normal|just sad)\b"),
    rf"\b(?:sounds|looks|seems) like (?:you(?:'ve| have| are|'re)|{CONDITIONS})",
    rf"\byou (?:don't|do not) (?:have|need) (?:\w+\s+){{0,2}}(?:{CONDITIONS}|therapy|treatment|help)",
    rf"\b(?:this|that|what you describe) (?:is|sounds like|could be) {CONDITIONS}",
    r"\byour (?:diagnosis|disorder|illness|condition) is\b",
    (r"\b(?:ipt|this therapy|interpersonal therapy) (?:is|would be|will be) "
    r"(?:right|perfect|ideal|suitable|the right choice|not right) for you\b"),
    r"\bi (?:can )?diagnose\b(?! anyone)(?<!can't diagnose)",
]

MEDICINES = (r"(?:medication|medicine|meds|antidepressants?|pills?|tablets?|doses?|dosage|"
             r"sertraline|fluoxetine|citalopram|escitalopram|paroxetine|venlafaxine|"
             r"mirtazapine|lithium|quetiapine|diazepam|lorazepam|prozac|zoloft|xanax)")

# Telling someone to start, stop or change a medicine, or naming doses and drugs.
MEDICATION_PATTERNS = [
    (rf"\b(?:you should|you can|you could|try|it's fine to|it is fine to|it's safe to|"
    rf"it is safe to|feel free to|go ahead and|just|why not)\s+(?:\w+\s+){{0,2}}"
    rf"(?:stop|start|increase|decrease|reduce|double|skip|halve|come off|taper|switch|"
    rf"change|lower|raise|up)\w*\b(?:\W+\w+){{0,4}}\W+{MEDICINES}"),
    (rf"\b(?:stop|start|skip|double|halve|increase|reduce|lower) (?:taking )?(?:your|the|any) "
    rf"{MEDICINES}\b(?![^.]*\b(?:prescriber|doctor|gp|psychiatrist)\b)"),
    r"\b\d+\s?(?:mg|milligrams?|ml)\b",
    (r"\b(?:sertraline|fluoxetine|citalopram|escitalopram|paroxetine|venlafaxine|mirtazapine|"
    r"lithium|quetiapine|diazepam|lorazepam|prozac|zoloft|xanax)\b"),
    r"\byou (?:don't|do not) need (?:your |any )?(?:medication|medicine|meds|antidepressants?)",
    r"\b(?:medication|antidepressants?) (?:is|are) (?:not needed|unnecessary|bad|dangerous)\b",
]

# A text that mentions medicine must point to someone who can advise (or to emergency help).
POINTS_TO_PROFESSIONAL = re.compile(
    r"\b(?:prescriber|doctor|gp|psychiatrist|therapist|pharmacist|emergency)\b", re.IGNORECASE)
MENTIONS_MEDICINE = re.compile(rf"\b{MEDICINES}\b", re.IGNORECASE)


def domain_texts() -> list[tuple[str, str]]:
    """(where, text) for every response variant and button title in the domain and the data."""
    out = []
    for path in domain_files.files(REPO):
        data = yaml.safe_load(path.read_text()) or {}
        for name, variants in (data.get("responses") or {}).items():
            for i, variant in enumerate(variants or []):
                where = f"{path.relative_to(REPO)}:{name}[{i}]"
                if variant.get("text"):
                    out.append((where, variant["text"]))
                for button in variant.get("buttons") or []:
                    out.append((f"{where}.button", button.get("title", "")))
    return out


def action_texts() -> list[tuple[str, str]]:
    """(where, text) for every string literal of three words or more in actions/."""
    out = []
    for path in sorted((REPO / "actions").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and len(node.value.split()) >= 3):
                out.append((f"{path.relative_to(REPO)}:{node.lineno}", node.value))
    return out


ALL_TEXTS = domain_texts() + action_texts()


def problems(text: str) -> list[str]:
    """Every diagnosis or medication pattern ``text`` matches, and a missing pointer."""
    flat = " ".join(text.split()).lower().replace("’", "'")
    found = [p for p in DIAGNOSIS_PATTERNS + MEDICATION_PATTERNS if re.search(p, flat)]
    if MENTIONS_MEDICINE.search(flat) and not POINTS_TO_PROFESSIONAL.search(flat):
        found.append("mentions medicine without pointing to a prescriber, doctor or therapist")
    return found


@pytest.mark.parametrize("bad", [
    "It sounds like you have depression.",
    "You are probably bipolar, but IPT can help.",
    "You don't have depression, you're just sad.",
    "From what you say, you may have an anxiety disorder.",
    "IPT is right for you.",
    "You should stop your antidepressants once you feel better.",
    "It's fine to skip a dose now and then.",
    "Try 50 mg of sertraline.",
    "You could reduce your medication if therapy works.",
    "Stop taking your pills.",
    "You don't need medication if you do IPT.",
    "Take your tablets with food.",
])
def test_the_patterns_catch_diagnoses_and_medication_advice(bad):
    assert problems(bad), f"the scan would let this through: {bad!r}"


@pytest.mark.parametrize("good", [
    "I can't assess or diagnose anyone, so I can't say whether a condition applies to you.",
    "IPT is often used alongside antidepressants. Please ask your prescriber or doctor.",
    "IPT was first developed to treat depression.",
])
def test_the_patterns_let_careful_texts_through(good):
    assert not problems(good)


def test_there_are_texts_to_scan():
    assert len(ALL_TEXTS) > 20
    assert any(where.startswith("domain.yml:utter_crisis") for where, _ in ALL_TEXTS)
    assert any(where.startswith("data/nlu/ipt_") for where, _ in ALL_TEXTS)  # topic answers


@pytest.mark.parametrize(("where", "text"), ALL_TEXTS, ids=[w for w, _ in ALL_TEXTS])
def test_no_text_diagnoses_or_advises_on_medication(where, text):
    assert not problems(text), f"{where}: {problems(text)}\n{text}"


CRISIS_REPLIES = [c.utter for c in CATEGORIES] + ["utter_safety_check"]


def _responses() -> dict:
    return domain_files.merged()["responses"]


@pytest.mark.parametrize("name", CRISIS_REPLIES)
def test_each_crisis_reply_is_short_static_and_gives_the_emergency_route(name):
    for variant in _responses()[name]:
        text = variant["text"]
        assert "emergency number" in text
        assert "{" not in text, "crisis replies are static: they must work without slots"
        assert len(text.split()) <= 80
        buttons = [b["payload"] for b in variant.get("buttons") or []]
        assert set(buttons) <= {"/affirm", "/deny"}, "no topic buttons in a crisis reply"


def test_the_resources_reply_names_the_number_and_the_lines():
    text = _responses()["utter_crisis_resources"][0]["text"]
    assert "{emergency}" in text and "{lines}" in text


def test_the_assistant_asks_whether_the_person_is_safe_right_now():
    ask = _responses()["utter_ask_safe"][0]
    assert "safe right now" in ask["text"].lower()
    assert {b["payload"] for b in ask["buttons"]} == {"/affirm", "/deny"}


def test_the_medication_answer_points_to_the_prescriber():
    text = _responses()["utter_ask_medication"][0]["text"].lower()
    assert "prescriber" in text and "therapist" in text and "antidepressants" in text


def test_the_diagnosis_answer_says_who_can_assess():
    text = _responses()["utter_ask_diagnosis"][0]["text"].lower()
    assert "can't assess or diagnose" in text
    assert all(who in text for who in ("gp", "psychologist", "psychiatrist"))
