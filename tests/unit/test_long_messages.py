"""The long-message combiner (bot/long_messages.py): pure functions, no Rasa, no model."""

import pytest

from bot import long_messages as lm
from bot.long_messages import Reading, combine, combined_parse, seriousness, split_sentences

# --- splitting -----------------------------------------------------------------------------------------------


def test_sentences_split_on_full_stops_question_marks_and_new_lines():
    text = "ok so this is weird. he keeps messaging me every night!! what do i even do?\nplease help me out here"
    assert split_sentences(text) == [
        "ok so this is weird.",
        "he keeps messaging me every night!!",
        "what do i even do?",
        "please help me out here",
    ]


def test_text_without_any_punctuation_is_cut_where_a_new_clause_starts():
    text = (
        "me and this lad from another school have been talking on snap for ages and he seemed really sound "
        "but then he started asking for pics of me and now he says he will send the ones i sent to my mates "
        "if i dont send more what should i do"
    )
    pieces = split_sentences(text)
    assert len(pieces) >= 3
    assert any(p.startswith("now he says he will send") for p in pieces)
    assert " ".join(pieces).split() == text.split()  # nothing lost, nothing added


def test_short_pieces_join_the_one_before_and_words_are_never_lost():
    text = "he sent me a picture of himself with nothing on. idk. why would he do that. thanks"
    pieces = split_sentences(text)
    assert pieces == ["he sent me a picture of himself with nothing on. idk.", "why would he do that. thanks"]
    assert " ".join(pieces).split() == text.split()


def test_a_short_sentence_before_a_long_one_is_not_left_alone():
    assert split_sentences("hi sam. my step dad keeps coming into my room at night") == [
        "hi sam. my step dad keeps coming into my room at night"
    ]


def test_emoji_and_curly_quotes_stay_with_their_sentence():
    text = "she said “send one or we’re done” 😢 i dont want to. what do i say to her"
    pieces = split_sentences(text)
    assert " ".join(pieces).split() == text.split()
    assert any("😢" in p for p in pieces)


def test_the_number_of_pieces_is_bounded():
    text = " ".join(f"this is sentence number {i} of a very long story." for i in range(40))
    pieces = split_sentences(text)
    assert len(pieces) == lm.MAX_PIECES
    assert " ".join(pieces).split() == text.split()


def test_only_long_messages_are_read_in_pieces():
    assert not lm.is_long("someone keeps asking me for nudes")
    assert lm.is_long("someone i met on a game keeps asking me for nudes and i really do not know what to do")


# --- seriousness ---------------------------------------------------------------------------------------------


def test_order_of_seriousness():
    order = [
        "immediate_danger",
        "sextortion",
        "image_shared",
        "asked_for_nudes",
        "block_report_help",
        "greet",
        "nlu_fallback",
    ]
    ranks = [seriousness(i) for i in order]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert seriousness("self_harm") == seriousness("friend_at_risk") == seriousness("abuse_disclosure") == 0
    assert seriousness("friend_abused") == 0
    assert seriousness("talk_to_someone") == seriousness("privacy_question") == seriousness("out_of_scope") - 1


def test_follow_up_questions_rank_as_their_concern():
    assert seriousness("ask_should_pay") == seriousness("sextortion")
    assert seriousness("ask_already_posted") == seriousness("image_shared")


# --- combining -----------------------------------------------------------------------------------------------


def R(intent, confidence, safety=False):
    """A reading whose ranking is its intent alone."""
    return Reading(intent, confidence, safety, ((intent, confidence),))


def test_the_pooled_reading_answers_and_a_more_serious_sentence_under_the_bar_is_offered(monkeypatch):
    monkeypatch.setattr(lm, "SERIOUS_SENTENCE_CONFIDENCE", 0.9)  # above ALSO_CONFIDENCE, so there is room between
    monkeypatch.setattr(lm, "THREAT_SENTENCE_CONFIDENCE", 0.9)
    whole = R("sent_nude_worried", 0.9)
    sentences = [R("sent_nude_worried", 0.8), R("sextortion", 0.85), R("help", 0.9)]
    assert combine(whole, sentences) == lm.Choice(-1, "sent_nude_worried", also="sextortion")


def test_a_confident_sentence_more_serious_than_the_pooled_reading_is_answered_and_the_story_offered():
    # A story read as asked for nudes whose last sentence is the threat: the threat is answered first.
    whole = R("asked_for_nudes", 1.0)
    sentences = [R("out_of_scope", 0.6), R("asked_for_nudes", 0.97), R("sextortion", 0.9), R("what_now", 0.9)]
    assert combine(whole, sentences) == lm.Choice(2, "sextortion", also="asked_for_nudes")


def test_the_most_serious_confident_sentence_wins_and_a_picture_spread_outranks_the_rest():
    whole = R("received_nude", 0.99)
    sentences = [R("image_shared", 0.85), R("sent_nude_worried", 0.9)]
    assert combine(whole, sentences).intent == "image_shared"
    both = [R("image_shared", 0.99), R("sextortion", 0.85)]
    assert combine(whole, both).intent == "sextortion"


def test_a_specific_sentence_outranks_a_general_reading_but_a_general_sentence_never_does():
    # "I can't tell my parents" read whole as a privacy question; one sentence is the grooming.
    whole = R("privacy_question", 1.0)
    sentences = [R("privacy_question", 0.6), R("unknown_contact", 0.85), R("thanks", 0.95)]
    assert combine(whole, sentences) == lm.Choice(1, "unknown_contact")  # a general concern is never offered
    # ... but a confident privacy sentence does not take a story the whole reads as out of scope.
    assert combine(R("out_of_scope", 1.0), [R("privacy_question", 0.99), R("out_of_scope", 0.9)]).intent == (
        "out_of_scope"
    )


def test_a_threat_needs_less_confidence_than_another_serious_sentence():
    # "when I said no she threatened to post the one she had": one clause of a story read whole as being asked.
    whole = R("asked_for_nudes", 1.0)
    bar = lm.THREAT_SENTENCE_CONFIDENCE
    assert bar < lm.SERIOUS_SENTENCE_CONFIDENCE
    assert combine(whole, [R("asked_for_nudes", 0.9), R("sextortion", bar)]) == lm.Choice(
        1, "sextortion", also="asked_for_nudes", confidence=bar
    )
    assert combine(whole, [R("asked_for_nudes", 0.9), R("image_shared", bar)]).intent == "asked_for_nudes"


def test_an_unsure_or_equally_serious_sentence_does_not_take_over():
    whole = R("asked_for_nudes", 1.0)
    assert combine(whole, [R("sextortion", lm.THREAT_SENTENCE_CONFIDENCE - 0.01)]).intent == "asked_for_nudes"
    assert combine(whole, [R("image_shared", lm.SERIOUS_SENTENCE_CONFIDENCE - 0.01)]).intent == "asked_for_nudes"
    assert combine(whole, [R("unknown_contact", 0.99), R("received_nude", 0.99)]).intent == "asked_for_nudes"


def test_a_crisis_is_never_taken_from_a_sentence_here_nor_replaced():
    # The model's crisis guess on a sentence is only offered; the pooled crisis answer stays whatever a sentence says.
    whole = R("asked_for_nudes", 1.0)
    assert combine(whole, [R("self_harm", 0.99), R("asked_for_nudes", 0.9)]).intent == "asked_for_nudes"
    assert combine(R("self_harm", 1.0), [R("sextortion", 0.99), R("self_harm", 0.9)]).intent == "self_harm"


def test_the_serious_sentence_rule_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(lm, "SERIOUS_SENTENCE_CONFIDENCE", None)
    whole = R("asked_for_nudes", 1.0)
    sentences = [R("asked_for_nudes", 0.97), R("sextortion", 0.99)]
    assert combine(whole, sentences) == lm.Choice(-1, "asked_for_nudes", also="sextortion")


def test_a_concern_several_sentences_hold_outweighs_the_whole():
    whole = R("unknown_contact", 0.6)
    sentences = [R("sextortion", 0.9), R("sextortion", 0.95), R("sextortion", 0.8), R("greet", 0.9)]
    choice = combine(whole, sentences)
    assert choice.intent == "sextortion" and choice.index == 1 and choice.also == "unknown_contact"
    assert choice.confidence == pytest.approx((0.9 + 0.95 + 0.8) / (lm.WHOLE_WEIGHT + 4), abs=1e-4)


def test_the_whole_message_weighs_more_than_one_sentence():
    whole = R("asked_for_nudes", 0.7)
    assert combine(whole, [R("unknown_contact", 0.9), R("out_of_scope", 0.6)]).intent == "asked_for_nudes"


def test_probability_is_pooled_by_concern_and_the_follow_up_intent_can_answer():
    whole = Reading("out_of_scope", 0.4, ranking=(("out_of_scope", 0.4), ("ask_should_pay", 0.3), ("sextortion", 0.2)))
    sentences = [R("ask_should_pay", 0.9), R("sextortion", 0.5)]
    choice = combine(whole, sentences)
    assert choice.intent == "ask_should_pay" and lm.concern_of(choice.intent) == "sextortion"


def test_when_nothing_is_likely_enough_the_whole_messages_reading_stands():
    whole = R("nlu_fallback", 0.1)
    sentences = [R("greet", 0.3), R("received_nude", 0.3), R("asked_for_nudes", 0.3)]
    assert combine(whole, sentences) == lm.Choice(-1, "nlu_fallback")


def test_an_unsure_sentence_is_not_offered():
    whole = R("asked_for_nudes", 0.7)
    assert combine(whole, [R("sextortion", 0.3), R("image_shared", 0.2)]) == lm.Choice(-1, "asked_for_nudes")


def test_greetings_and_general_sentences_are_never_offered():
    whole = R("unknown_contact", 0.6)
    sentences = [R("greet", 0.99), R("talk_to_someone", 0.99), R("block_report_help", 0.99)]
    assert combine(whole, sentences).also is None


def test_a_crisis_the_model_reads_in_one_sentence_is_offered_when_sure_and_not_otherwise():
    whole = R("asked_for_nudes", 0.8)
    unsure = R("self_harm", lm.SENTENCE_CRISIS_CONFIDENCE - 0.05)
    sure = R("self_harm", lm.SENTENCE_CRISIS_CONFIDENCE + 0.05)
    assert combine(whole, [unsure]).also is None
    assert combine(whole, [sure]).also == "self_harm"


@pytest.mark.parametrize("where", range(4))
@pytest.mark.parametrize("crisis", ["immediate_danger", "self_harm", "friend_at_risk"])
def test_a_crisis_the_safety_net_found_in_any_sentence_is_never_dropped(where, crisis):
    sentences = [R("sextortion", 1.0), R("image_shared", 1.0), R("greet", 1.0), R("help", 1.0)]
    sentences[where] = R(crisis, 1.0, safety=True)
    choice = combine(R("sextortion", 1.0), sentences)
    assert choice.intent == crisis and choice.index == where
    assert choice.also == "sextortion"


def test_a_crisis_of_the_safety_net_on_the_whole_message_is_never_dropped():
    whole = R("immediate_danger", 1.0, safety=True)
    sentences = [R("sextortion", 1.0), R("sextortion", 1.0), R("sextortion", 1.0), R("sextortion", 1.0)]
    assert combine(whole, sentences) == lm.Choice(-1, "immediate_danger", also="sextortion")


def test_a_crisis_found_by_a_rule_beats_one_the_model_guessed():
    sentences = [R("self_harm", 0.99), R("immediate_danger", 1.0, safety=True)]
    assert combine(R("out_of_scope", 0.5), sentences).index == 1


def test_a_veto_on_one_sentence_decides_nothing():
    whole = R("asked_for_nudes", 0.7)
    sentences = [R("out_of_scope", 1.0, safety=True)]
    assert combine(whole, sentences).intent == "asked_for_nudes"


def test_two_crises_are_not_offered_as_also_but_another_concern_is():
    whole = R("immediate_danger", 1.0, safety=True)
    sentences = [R("self_harm", 1.0, safety=True), R("image_shared", 0.9)]
    assert combine(whole, sentences) == lm.Choice(-1, "immediate_danger", also="image_shared")


def test_also_is_a_concern_name_even_for_a_follow_up_question():
    sentences = [R("sextortion", 0.9), R("ask_already_posted", 0.9)]
    assert combine(R("sextortion", 0.9), sentences).also == "image_shared"


def test_abuse_disclosure_counts_as_a_crisis():
    sentences = [R("abuse_disclosure", 0.95), R("abuse_disclosure", 0.9), R("sextortion", 0.99)]
    choice = combine(R("unknown_contact", 0.3), sentences)
    assert choice.intent == "abuse_disclosure" and choice.also == "sextortion"
    assert combine(R("abuse_disclosure", 1.0, safety=True), []).intent == "abuse_disclosure"


# --- the parse the engine gets -------------------------------------------------------------------------------


def _parse(intent, confidence, safety=None, entities=()):
    parse = {
        "text": "x",
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": list(entities),
    }
    if safety:
        parse["safety"] = safety
    return parse


def test_combined_parse_takes_the_chosen_intent_and_keeps_the_whole_messages_apps():
    app = {"entity": "platform", "value": "snapchat"}
    whole = _parse("sent_nude_worried", 0.9, entities=[app])
    pieces = [_parse("self_harm", 1.0, safety={"label": "self_harm", "pattern": "want_to_die"}), _parse("greet", 1)]
    pieces = [_parse("sextortion", 1.0), _parse("sextortion", 0.9), _parse("sextortion", 0.95), _parse("greet", 1)]
    parse = combined_parse(whole, pieces)
    assert parse["intent"]["name"] == "sextortion" and parse["intent_ranking"][0] == parse["intent"]
    assert parse["entities"] == [app]
    assert parse["long_message"] == {"pieces": 4, "chosen": 0, "also": "sent_nude_worried"}
    assert whole["intent"]["name"] == "sent_nude_worried"  # the inputs are not changed


def test_combined_parse_holds_no_text_of_the_pieces():
    pieces = [_parse("sextortion", 1.0), _parse("greet", 1.0)]
    pieces[0]["text"] = "a secret sentence"
    parse = combined_parse(_parse("out_of_scope", 0.4), pieces)
    assert "a secret sentence" not in repr(parse)


def test_a_whole_message_choice_drops_nothing_of_its_safety_verdict():
    whole = _parse("immediate_danger", 1.0, safety={"label": "immediate_danger", "pattern": "in_danger"})
    parse = combined_parse(whole, [_parse("greet", 1.0), _parse("image_shared", 0.9)])
    assert parse["safety"]["label"] == "immediate_danger" and parse["long_message"]["also"] == "image_shared"


def test_a_crisis_the_model_guessed_for_one_sentence_does_not_count_against_the_safety_nets_veto():
    vetoed = R("out_of_scope", 0.3, safety=True)
    crises = [R("self_harm", 0.99), R("self_harm", 0.99), R("self_harm", 0.99), R("greet", 1.0)]
    assert combine(vetoed, crises).intent != "self_harm" and combine(vetoed, crises).also is None
    # ... but a specific concern in the sentences still does
    concern = [R("self_harm", 0.99), R("asked_for_nudes", 0.9), R("asked_for_nudes", 0.9)]
    assert combine(vetoed, concern).intent == "asked_for_nudes"
