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


# ---- follow-ups in context ----

def test_a_bare_pointer_to_a_list_item_is_an_ordinal_cue():
    from bot.clinic.topics import context_cue

    assert context_cue("what about the second one?") == "ordinal:2"
    assert context_cue("and the last one") == "ordinal:-1"
    assert context_cue("tell me more about the third") == "ordinal:3"
    assert context_cue("number 2 please") == "ordinal:2"


def test_a_short_question_about_that_is_a_pointer_cue():
    from bot.clinic.topics import context_cue

    assert context_cue("how long does that take?") == "that"
    assert context_cue("and how many sessions is that?") == "that"
    assert context_cue("how many sessions does the whole thing take?") is None
    assert context_cue("how long does IPT take?") is None
    assert context_cue("what happens in the first session") is None
    assert context_cue("the first phase") is None


def test_a_long_message_is_never_a_cue():
    from bot.clinic.topics import context_cue

    assert context_cue("my sister said that it helped her a lot but I am not sure "
                       "what it is") is None


def test_the_second_one_after_the_phases_is_the_middle_phase():
    responses = {"utter_ask_middle_phase", "utter_ask_role_disputes", "utter_ask_ending_phase"}
    assert follow_up_response("tell_me_more", ["ask_phases"], responses,
                              cue="ordinal:2") == "utter_ask_middle_phase"
    assert follow_up_response("tell_me_more", ["ask_problem_areas"], responses,
                              cue="ordinal:2") == "utter_ask_role_disputes"
    assert follow_up_response("tell_me_more", ["ask_middle_phase"], responses,
                              cue="ordinal:-1") == "utter_ask_ending_phase"


def test_an_ordinal_with_no_list_before_it_is_a_plain_tell_me_more():
    responses = {"utter_more_grief"}
    assert follow_up_response("tell_me_more", ["ask_grief"], responses,
                              cue="ordinal:2") == "utter_more_grief"


def test_how_long_after_a_phase_is_about_that_phase():
    responses = {"utter_duration_initial_phase", "utter_ask_duration"}
    assert follow_up_response("ask_duration", ["ask_initial_phase"], responses,
                              cue="that") == "utter_duration_initial_phase"
    assert follow_up_response("ask_duration", ["ask_inventory"], responses,
                              cue="that") == "utter_duration_initial_phase"


def test_how_long_elsewhere_gets_the_usual_answer():
    responses = {"utter_duration_initial_phase", "utter_ask_duration"}
    assert follow_up_response("ask_duration", ["ask_grief"], responses,
                              cue="that") == "utter_ask_duration"
    assert follow_up_response("ask_duration", [], responses, cue="that") == "utter_ask_duration"


def test_every_in_context_answer_and_list_item_exists_in_the_domain():
    from bot.clinic.topics import IN_CONTEXT, LISTS
    from tests.domain_utils import domain

    responses = domain()["responses"]
    assert set(IN_CONTEXT.values()) <= set(responses)
    for items in LISTS.values():
        assert {f"utter_{i}" for i in items} <= set(responses)


def test_lists_follow_the_order_their_answers_name_the_items():
    from tests.domain_utils import domain

    responses = domain()["responses"]
    phases = responses["utter_ask_phases"][0]["text"].lower()
    assert phases.index("first few") < phases.index("middle") < phases.index("final")
    areas = responses["utter_ask_problem_areas"][0]["text"].lower()
    assert (areas.index("grief") < areas.index("role disputes")
            < areas.index("role transitions") < areas.index("interpersonal deficits"))
    techniques = responses["utter_ask_techniques"][0]["text"].lower()
    assert (techniques.index("communication analysis") < techniques.index("role play")
            < techniques.index("grief work") < techniques.index("problem solving")
            < techniques.index("relapse prevention"))
