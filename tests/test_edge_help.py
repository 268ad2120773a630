"""The edge's quick crisis check and its replies (bot/clinic/edge_help.py): no Rasa, no model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.clinic import config as clinic
from bot.clinic import edge_help
from tests.helpers import REPO

EXAMPLE = REPO / "clinic.example.yml"


@pytest.mark.parametrize("text", [
    "I want to kill myself",
    "i want to k*ll myself",
    "su1c1de is all I think about",
    "s u i c i d e",
    "I want to diiiie",
    "I took all my pills an hour ago",
    "I think I overdosed",
    "kms",
    "thinking about unaliving myself",
    "my husband hits me when he drinks",
    "I'm afraid I'll hurt my baby",
    "I've been cutting myself again",
    "I want to end it all",
    "my friend said she will kill herself",
    "I can't breathe",
    "quiero morir",
    "ich denke an Selbstmord",
    "我想自杀",
])
def test_unmistakable_crisis_words_are_caught_at_the_edge(text):
    assert edge_help.looks_like_crisis(text)


@pytest.mark.parametrize("text", [
    "what is IPT?",
    "I want to end things with my boyfriend",
    "therapy is ending early and I feel sad",
    "it hit me that she was really gone",
    "I don't want to hurt her feelings",
    "take all the time you need",
    "how long does it take",
    "my grief after my mum died",
    "this film was killing me",
    "",
])
def test_everyday_ipt_talk_is_not_a_crisis_at_the_edge(text):
    assert not edge_help.looks_like_crisis(text)


def test_the_edge_check_imports_no_rasa_spacy_or_tensorflow():
    code = ("import sys, bot.clinic.edge_help; "
            "print(sorted(m for m in ('rasa', 'spacy', 'tensorflow', 'numpy', 'sklearn', "
            "'bot.rasa_ext.nlu') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_edge_and_the_detector_share_one_normaliser():
    from bot.clinic import textnorm
    from bot.rasa_ext.nlu import crisis_text

    assert crisis_text.normalise is textnorm.normalise
    for raw in ["I want to K*LL mys3lf", "s.u.i.c.i.d.e", "k m s", "unaliving myself",
                "su1c1de", "Quiero morir, de verdad", "kms tn"]:
        assert edge_help.normalise(raw) == " ".join(
            textnorm.fold_accents(textnorm.normalise(raw)).split())
    assert edge_help.normalise("Suicídio é UM tema") == "suicidio e um tema"


@pytest.mark.parametrize("text", ["k.m.s", "i wanna d i e", "thinking about sewer slide",
                                  "gonna self-delete tonight", "took all my 💊"])
def test_hidden_words_the_detector_reads_are_read_at_the_edge_too(text):
    assert edge_help.looks_like_crisis(text)


def test_the_crisis_reply_starts_with_the_number_and_lists_every_line():
    config = clinic.load(EXAMPLE)
    first, second = edge_help.crisis_reply(config)
    assert first.splitlines()[0] == "In immediate danger, call 555 0100 now."
    assert first.splitlines()[2:] == [f"- {line.as_line()}" for line in config.crisis_lines]
    assert second == edge_help.CRISIS_OPENING


def test_every_failure_reply_carries_the_resources():
    for config in (clinic.load(EXAMPLE), clinic.load(clinic.DEFAULT_FILE)):
        reply = "\n".join(edge_help.trouble_reply(config))
        assert edge_help.resources_text(config) in reply
        assert config.emergency in reply


def test_a_clinic_without_lines_still_points_to_a_helpline_directory():
    config = clinic.parse({"name": "C", "country": "X", "emergency_number": "112"})
    text = edge_help.resources_text(config)
    assert text.startswith("In immediate danger, call 112 now.")
    assert "https://findahelpline.com" in text
    assert edge_help.resources_json(config)["directory"] == "https://findahelpline.com"


def test_resources_as_data_put_the_number_first_and_keep_every_line():
    data = edge_help.resources_json(clinic.load(EXAMPLE))
    assert list(data)[:2] == ["emergency", "emergency_number"]
    assert data["emergency_number"] == "555 0100"
    assert [line["phone"] for line in data["lines"]] == ["555 0123", "555 0199"]
    assert data["directory"] is None
