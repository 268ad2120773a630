"""IndexedRulePolicy: Rasa's RulePolicy with its rule lookup narrowed by an index first.

To predict, RulePolicy compares the conversation's latest state with the last state of every
rule it memorised (``_get_possible_keys``), then walks back through the earlier states with
the rules that are left; it does this for each of the two or three predictions a message
needs. That first pass over all rules was the largest single cost of a message after the
NLU (docs/benchmarks.md, "Where Rasa spends a message").

A rule's last state names the previous action and, usually, the user's intent, and a rule
applies only where those are the same in the conversation. This policy files every rule
under that (action, intent) pair once, and starts the comparison from the rules filed under
the conversation's pair (plus those that leave either open). Every remaining check is
Rasa's own, so the rules found are exactly RulePolicy's (tests/test_rule_index.py compares
both on the trained model); training, persistence and everything else are RulePolicy's.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.generator import State
from rasa.shared.nlu.constants import ACTION_NAME, INTENT

ANY = object()  # the rule leaves this part open (or constrains it in a way not indexed)
_Pair = tuple[object, object]


def _wanted(sub_state: dict | None, key: str) -> object:
    """The value a rule's sub-state requires for ``key``, or ANY."""
    value = (sub_state or {}).get(key)
    if not value or value == SHOULD_NOT_BE_SET or not isinstance(value, str):
        return ANY
    return value


class RuleIndex:
    """The keys of one RulePolicy lookup filed by their last state's (action, intent)."""

    def __init__(self, keys: list[str], states_of) -> None:
        self.starters: list[str] = []  # last state without a previous action
        self.always: list[str] = []  # no state at all: applicable at any turn
        self.by_pair: dict[_Pair, list[str]] = {}
        for key in keys:
            states = states_of(key)
            if not states:
                self.always.append(key)
                continue
            last = states[-1]
            previous = last.get(PREVIOUS_ACTION)
            if not previous:
                self.starters.append(key)
                continue
            pair = (_wanted(previous, ACTION_NAME), _wanted(last.get(USER), INTENT))
            self.by_pair.setdefault(pair, []).append(key)

    def candidates(self, state: State) -> list[str]:
        """A superset of the keys whose last rule state can match ``state``."""
        previous = state.get(PREVIOUS_ACTION)
        if not previous:
            return self.starters + self.always
        action = previous.get(ACTION_NAME)
        intent = (state.get(USER) or {}).get(INTENT)
        found = list(self.always)
        for pair in ((action, intent), (action, ANY), (ANY, intent), (ANY, ANY)):
            found.extend(self.by_pair.get(pair, ()))
        return found


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class IndexedRulePolicy(RulePolicy):
    """RulePolicy whose rule lookup starts from an index of the rules' last states."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # per lookup table (RULES, RULES_FOR_LOOP_UNHAPPY_PATH): its keys and their index
        self._indexes: dict[int, tuple[frozenset[str], RuleIndex]] = {}

    def _index(self, lookup: dict[str, str]) -> RuleIndex:
        """The index of ``lookup``, rebuilt when its rules change (training edits them)."""
        known = self._indexes.get(id(lookup))
        if known is None or known[0] != lookup.keys():
            keys = frozenset(lookup)
            known = (keys, RuleIndex(list(keys), self._rule_key_to_state))
            self._indexes[id(lookup)] = known
        return known[1]

    def _get_possible_keys(self, lookup: dict[str, str], states: list[State]) -> set[str]:
        if not states:
            return super()._get_possible_keys(lookup, states)
        possible = set(self._index(lookup).candidates(states[-1]))
        for turn, state in enumerate(reversed(states)):
            possible = {key for key in possible if self._is_rule_applicable(key, turn, state)}
        return possible
