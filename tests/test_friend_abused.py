"""A friend abused by someone they know (issue 10, the rest of item 4): the young person is the one who was told.

Their answer is not the one for the person being hurt ("it's not your fault") nor the friend's-pictures advice: it is
"you did the right thing telling, tell a trusted adult who can act, 999 if your friend is in danger now, Childline is
for you too" (responses/friend_abused.yml). The safety net decides whose abuse it is from the matched words alone.
Every phrasing here was written for these tests; none is in nlu/ or tests/data/.
"""

import re
import uuid

import pytest
from test_responses import RESPONSES, _crisis_path_text, render, rule_for, sentences, shows_childline

from bot.concerns import concern_for
from bot.rasa_ext.safety_net import SafetyNet
from bot.safety import ABUSE
from bot.service_numbers import placeholders

VALUES = placeholders()
EMERGENCY, CHILDLINE = VALUES["emergency_phone"], VALUES["childline_phone"]
WHICH_APP = re.compile(r"\b(which|what) (app|platform|game|site)\b", re.IGNORECASE)
SELF_ANSWER = "This is not your fault"  # the first words of the answer for the one being abused


FRIEND_TEXTS = [
    "my mate said her stepdad touches her",
    "my friend told me her uncle makes her keep a secret and i dont know what to do",
    "she told me her mums boyfriend touched her when she was asleep",
    "my best mate was raped at a house party last month",
    "my friend says her dad hits her with a slipper when shes late",
    "a lad in my class said his coach abused him on a football trip",
    "my friend thinks shes being abused by her cousin",
    "my mates grandad made her touch him",
    "my friend said her stepbrother keeps trying to get her on her own",
]
SELF_TEXTS = [
    "my friend said i should tell someone because my uncle touches me",
    "my friends dad touched me at her house",
    "she says im lying but her boyfriend raped me",
    "my friend was abused too but my stepdad hits me every day",
    "i was sexually abused by my mates brother",
]


# --- The safety net: whose abuse, from the matched words only ----------------------------------------------------


@pytest.mark.parametrize("text", FRIEND_TEXTS)
def test_abuse_words_about_a_friend_are_someone_elses(rules, text):
    verdict = rules.check(text)
    assert (verdict.label, verdict.someone_else) == (ABUSE, True), (text, verdict.pattern)


@pytest.mark.parametrize("text", SELF_TEXTS)
def test_the_young_persons_own_abuse_stays_theirs_when_a_friend_is_mentioned(rules, text):
    verdict = rules.check(text)
    assert (verdict.label, verdict.someone_else) == (ABUSE, False), (text, verdict.pattern)


def test_words_around_the_match_do_not_decide(rules):
    # "my friend" starts the sentence, but the abuse words are "touches me": the young person's own.
    long = "ok so my best friend and me were talking after school about everything and the thing is my uncle touches me"
    assert rules.check(long).someone_else is False
    # Abuse words that name nobody ("sexually abused") follow the match that does.
    assert rules.check("my friend was sexually abused by her uncle").someone_else is True
    assert rules.check("i think it was sexual abuse").someone_else is False


@pytest.mark.parametrize(
    "text",
    [
        "my friend says her dad will hit the roof about her grades",
        "her uncle beat him at fifa again",
        "my mate keeps his secret santa present a secret",
        "his brother touched his phone and he went mad",
        "my friend was not abused, she just fell out with her dad",
    ],
)
def test_ordinary_things_about_a_friend_are_not_abuse(rules, text):
    assert rules.check(text).label is None, (text, rules.check(text).pattern)


def test_the_component_sets_friend_abused(rules):
    from rasa.shared.nlu.training_data.message import Message

    component = SafetyNet.create(SafetyNet.get_default_config(), None, None, None)
    message = Message(data={"text": "my mate said her stepdad touches her"})
    message.set("intent", {"name": "friend_worried", "confidence": 0.9}, add_to_output=True)
    component.process([message])
    assert message.get("intent") == {"name": "friend_abused", "confidence": 1.0}
    assert message.get("safety")["label"] == "friend_abused"


def test_an_idiom_about_a_friends_family_vetoes_the_models_friend_abused():
    from rasa.shared.nlu.training_data.message import Message

    component = SafetyNet.create(SafetyNet.get_default_config(), None, None, None)
    for text in ("my mates mum is going to hit the roof when she sees the dent", "we did secret santa with her uncle"):
        message = Message(data={"text": text})
        message.set("intent", {"name": "friend_abused", "confidence": 0.8}, add_to_output=True)
        component.process([message])
        assert message.get("intent")["name"] == "out_of_scope", text
    # A real crisis next to the idiom still fires.
    assert component.rules.check("her dad hits her and says he'll hit the roof if she tells").label == ABUSE


# --- The answer ----------------------------------------------------------------------------------------------


def test_friend_abused_counts_as_danger():
    assert concern_for("friend_abused") == "immediate_danger"


def test_the_answer_is_for_the_one_who_was_told():
    assert rule_for("friend_abused") == ["utter_friend_abused", "utter_friend_abused_more"]
    first = render(RESPONSES["utter_friend_abused"][0]["text"])
    path = _crisis_path_text("friend_abused")
    assert sentences(first)[0] == "You did the right thing telling me."
    assert EMERGENCY in first and CHILDLINE in first and "danger now" in first  # both numbers in the first bubble
    assert "alone" in first and "for you too" in first
    assert "trust" in path and "teacher" in path and "act" in path and "breaking a promise" in path
    # Honest about Childline's confidentiality and its exceptions.
    assert "private" in path and "life is in danger" in path and "teacher or police officer" in path
    assert "talk to you first" in path
    assert SELF_ANSWER not in path and "?" not in path and not WHICH_APP.search(path)
    assert shows_childline(path)


def test_follow_ups_in_a_friends_abuse_have_their_own_words():
    for name in ("utter_key_steps", "utter_crisis_followup", "utter_crisis_minimise"):
        (variation,) = [
            v
            for v in RESPONSES[name]
            if {"type": "slot", "name": "concern", "value": "friend_abused"} in v.get("condition", [])
        ]
        text = render(variation["text"])
        assert EMERGENCY in text and CHILDLINE in text and "friend" in text and "your fault" not in text, name


# --- Through the engine -------------------------------------------------------------------------------------------


def text_of(reply):
    return " ".join(m.text for m in reply.messages)


async def talk(engine, *turns):
    """Each turn answered, then counted, as the front ends do."""
    conversation_id = uuid.uuid4().hex
    replies = []
    for turn in turns:
        replies.append(await engine.reply(conversation_id, turn))
        await engine.count(conversation_id)
    return replies


@pytest.mark.parametrize(
    "text",
    FRIEND_TEXTS[:3]
    + [
        "my friend told me something really bad happens at her house with her uncle and she cried",
        "my friend wont go home because of what her step dad does when her mum is on nights",
    ],
)
async def test_a_friends_abuse_gets_the_answer_for_the_one_who_was_told(engine, text):
    (reply,) = await talk(engine, text)
    assert (reply.intent, reply.concern) == ("friend_abused", "immediate_danger"), (text, reply.intent)
    out = text_of(reply)
    assert "right thing telling" in out and EMERGENCY in out and CHILDLINE in out
    assert SELF_ANSWER not in out and "?" not in out and not WHICH_APP.search(out)


@pytest.mark.parametrize("text", SELF_TEXTS[:3] + ["my uncle touches me and my friend is the only one who knows"])
async def test_the_young_persons_own_abuse_still_gets_its_own_answer(engine, text):
    (reply,) = await talk(engine, text)
    assert reply.intent == "abuse_disclosure", (text, reply.intent)
    assert SELF_ANSWER in text_of(reply)


@pytest.mark.parametrize(
    "text",
    [
        "my friends nudes are going round the whole year and she wont come to school",
        "a guy on snap is asking my mate for pics and she thinks he loves her",
    ],
)
async def test_a_friends_pictures_still_get_the_friend_answer(engine, text):
    (reply,) = await talk(engine, text)
    assert reply.intent == "friend_worried", (text, reply.intent)


async def test_a_friends_abuse_then_follow_ups_keep_999_and_childline(engine):
    first, *follow_ups = await talk(
        engine,
        "my mate told me her uncle touches her when she stays at his",
        "but she made me promise not to tell anyone",
        "what do i do now",
        "she says its not a big deal",
        "ok thanks",
    )
    assert first.intent == "friend_abused"
    for reply in follow_ups:
        out = text_of(reply)
        assert EMERGENCY in out and CHILDLINE in out, (reply.intent, out)
        assert "can't help" not in out and "not sure I understood" not in out, (reply.intent, out)
        assert SELF_ANSWER not in out and not WHICH_APP.search(out), (reply.intent, out)
