"""IndexedRulePolicy (bot/rasa_ext/policies/rules.py) finds exactly the rules Rasa's RulePolicy finds.

Conversations (questions, a check-in and homework logging by a linked client, a stop, a
crisis) are played through the trained assistant; at every point of each conversation the
states RulePolicy sees are looked up in both of its rule tables with Rasa's own search and
with the indexed one, and the sets of rules found must be the same.
"""

from __future__ import annotations

import secrets

import pytest
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.core.trackers import DialogueStateTracker

from bot.clinic.store import db, services
from bot.rasa_ext.policies.rules import IndexedRulePolicy

CONVERSATIONS = [
    ["hi", "what is ipt", "tell me more", "how long does it last", "thanks"],
    ["check in", "7", "what is a role dispute?", "/skip", "bye"],
    ["I did my homework", "called my sister", "what are the phases?", "it went fine", "stop"],
    ["I did my homework", "talked to my boss", "ok", "6", "/skip", "yes", "show my log"],
    ["delete my data", "no", "what do you store", "I want to end my life", "no"],
]


@pytest.fixture(scope="module")
def policy(agent) -> IndexedRulePolicy:
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    found = [n._component for n in nodes if isinstance(getattr(n, "_component", None),
                                                       IndexedRulePolicy)]
    assert found, "the model's policies have no IndexedRulePolicy (config.yml)"
    return found[0]


def _linked_sender(url: str) -> str:
    sender = f"rules-{secrets.token_hex(4)}"
    db.ensure_migrated(url)
    with db.unit_of_work(url) as s:
        client, _ = services.create_client(s, "Sam Index", "Europe/London")
        services.link_channel(s, client, "rest", sender)
    return sender


@pytest.mark.parametrize("messages", CONVERSATIONS, ids=lambda m: m[0])
def test_the_index_finds_the_same_rules_as_rasa_at_every_turn(
        agent, policy, event_loop_session, database_url, messages):
    sender = _linked_sender(database_url)
    for text in messages:
        event_loop_session.run_until_complete(agent.handle_text(text, sender_id=sender))
    tracker = event_loop_session.run_until_complete(agent.tracker_store.retrieve(sender))
    domain = agent.domain
    compared = 0
    for end in range(1, len(tracker.events) + 1):
        prefix = DialogueStateTracker.from_events(sender, list(tracker.events)[:end],
                                                  domain.slots)
        for use_text in (False, True):
            states = policy._prediction_states(prefix, domain, use_text,
                                               rule_only_data=policy._get_rule_only_data())
            for table in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH):
                lookup = policy.lookup.get(table) or {}
                ours = policy._get_possible_keys(lookup, states)
                rasa = RulePolicy._get_possible_keys(policy, lookup, states)
                assert ours == rasa, (table, end, use_text)
                compared += bool(rasa)
    assert compared >= len(messages)  # rules were found, not only empty sets compared
