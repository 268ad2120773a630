"""The plain-loop graph runner (bot/rasa_ext/patches/graph_runner.py) against Rasa's dask runner."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.agent import Agent
from rasa.shared.core.events import ActionExecuted, UserUttered

from bot.rasa_ext.patches.graph_runner import SequentialGraphRunner, sequential_runner

MESSAGES = [
    "what is ipt", "how long does it last", "hi", "I want to check in", "tell me more",
    "my partner and I keep arguing about money", "I did my homework", "delete my data",
    "what do you store about me", "ABCD-EFGH", "asdf qwer", "I want to end my life",
    "what happens in the first session?", "thanks, bye",
]


@pytest.fixture(scope="module")
def agents(model_path):
    dask_agent = Agent.load(str(model_path))
    with sequential_runner():
        plain_agent = Agent.load(str(model_path))
    assert isinstance(plain_agent.processor.graph_runner, SequentialGraphRunner)
    assert not isinstance(dask_agent.processor.graph_runner, SequentialGraphRunner)
    return dask_agent, plain_agent


def _parse(agent: Agent, text: str) -> dict:
    parsed = asyncio.run(agent.parse_message(text))
    return {key: parsed.get(key) for key in ("intent", "intent_ranking", "entities", "crisis")}


@pytest.mark.parametrize("text", MESSAGES)
def test_the_nlu_graph_gives_the_same_parse(agents, text):
    dask_agent, plain_agent = agents
    assert _parse(plain_agent, text) == _parse(dask_agent, text)


def test_the_policy_graph_predicts_the_same_action_with_the_same_confidence(agents):
    dask_agent, plain_agent = agents
    for text in MESSAGES:
        results = []
        for agent in (dask_agent, plain_agent):
            tracker = agent.tracker_store.init_tracker("same-" + str(id(agent)))
            tracker.update(ActionExecuted("action_listen"))
            tracker.update(UserUttered(text, asyncio.run(agent.parse_message(text))))
            prediction = agent.processor._predict_next_with_tracker(tracker)
            results.append((prediction.max_confidence_index, prediction.max_confidence,
                            prediction.policy_name))
        assert results[0] == results[1], text
