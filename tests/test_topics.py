"""Follow-up questions pick the answer for the last topic asked."""

from bot.clinic.topics import NO_FOLLOW_UP, follow_up_response, last_topic

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


def test_suggestions_are_the_closest_topics_best_first_at_most_three():
    from bot.clinic.topics import suggest_topics

    ranking = ["nlu_fallback", "ask_duration", "greet", "ask_time_limit", "ask_example",
               "ask_max_sessions", "ask_phases", "ask_grief"]
    conf = {"ask_duration": 0.25, "ask_time_limit": 0.2, "ask_max_sessions": 0.1,
            "ask_phases": 0.08, "ask_grief": 0.01}
    assert suggest_topics(ranking, conf) == ["ask_duration", "ask_time_limit", "ask_max_sessions"]


def test_suggestions_skip_topics_with_no_weight_or_no_button():
    from bot.clinic.topics import suggest_topics

    conf = {"ask_duration": 0.3, "ask_grief": 0.01, "ask_phases": 0.2}
    assert suggest_topics(["ask_duration", "ask_grief", "ask_phases"], conf,
                          allowed={"ask_phases"}) == ["ask_phases"]
    assert suggest_topics(["greet", "out_of_scope"], {}) == []


def test_button_titles_come_from_the_domain_buttons():
    from bot.clinic.topics import button_titles

    responses = {"utter_a": [{"text": "x", "buttons": [
        {"title": "How long it lasts", "payload": "/ask_duration"},
        {"title": "5", "payload": '/inform_rating{"rating": "5"}'}]}],
        "utter_b": [{"text": "y", "buttons": [{"title": "Other", "payload": "/ask_duration"}]}]}
    assert button_titles(responses) == {"ask_duration": "How long it lasts"}
