"""The action server's answers are checked as Rasa checks them (bot/rasa_ext/patches/action_validation.py)."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_ext.patches import action_validation

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "ci_mood", "value": 7, "timestamp": None}],
     "responses": [{"response": "utter_greet"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup",
                                                          "name": "action_listen"}],
     "responses": [{"text": "hello", "buttons": [{"title": "yes", "payload": "/affirm"}]}]},
]
BAD = [
    {"events": "not a list", "responses": []},
    {"events": [{"no_event_key": 1}], "responses": []},
    {"events": [{"event": 42}]},
]


def _rasa(result):
    try:
        return RemoteAction._validate_action_result(RemoteAction("x", None), result), None
    except ValidationError as exc:
        return None, (exc.message, list(exc.path), exc.validator)


def _ours(result):
    try:
        return action_validation.validate_action_result(RemoteAction("x", None), result), None
    except ValidationError as exc:
        return None, (exc.message, list(exc.path), exc.validator)


@pytest.fixture(autouse=True)
def rasas_own():
    action_validation.uninstall()
    yield
    action_validation.uninstall()


@pytest.mark.parametrize("result", GOOD + BAD)
def test_the_same_answers_pass_and_fail_with_the_same_error(result):
    rasa, ours = _rasa(result), _ours(result)
    assert rasa == ours
    assert (rasa[0] is True) == (result in GOOD)


def test_install_replaces_rasas_check_and_uninstall_restores_it():
    action_validation.install()
    assert RemoteAction._validate_action_result is action_validation.validate_action_result
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("x", None)._validate_action_result(BAD[0])
    action_validation.uninstall()
    assert RemoteAction._validate_action_result is not action_validation.validate_action_result
