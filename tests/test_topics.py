"""Follow-up questions pick the answer for the last topic asked."""

from bot.topics import NO_FOLLOW_UP, follow_up_response, last_topic

RESPONSES = {"utter_more_phases", "utter_example_grief", "utter_more_grief"}


def test_last_topic_is_the_most_recent_topic_intent():
    assert last_topic(["greet", "ask_phases", "thank", "ask_grief", "affirm"]) == "ask_grief"


def test_an_example_request_is_not_itself_a_topic():
    assert last_topic(["ask_phases", "ask_example"]) == "ask_phases"


def test_tell_me_more_gives_the_more_response_of_the_last_topic():
    assert follow_up_response("tell_me_more", ["ask_phases"], RESPONSES) == "utter_more_phases"


def test_example_prefers_the_example_response():
    assert follow_up_response("ask_example", ["ask_grief"], RESPONSES) == "utter_example_grief"


def test_example_falls_back_to_more_when_no_example_exists():
    assert follow_up_response("ask_example", ["ask_phases"], RESPONSES) == "utter_more_phases"


def test_without_a_topic_the_assistant_offers_topics():
    assert follow_up_response("tell_me_more", ["greet"], RESPONSES) == NO_FOLLOW_UP
    assert follow_up_response("tell_me_more", ["ask_duration"], RESPONSES) == NO_FOLLOW_UP
