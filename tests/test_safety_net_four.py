"""Safety net, part four: an age next to violence or a pick-up is no false alarm, meeting someone on the way there,
someone too drunk to say no being taken away, the means in their hand, and a game won.

The lead's own phrasings, written from issue 10's leftover findings (no held-out line was read). An idiom such as
"he's only 19" may overrule a model's crisis reading only when nothing else in the message could be the crisis: the
crisis cues (nlu/safety_patterns.jsonl, label crisis_cue) now include violence, a pick-up and being taken away.
"""

import pytest
from helpers import predicted

from bot.safety import ABUSE, IMMEDIATE_DANGER, SELF_HARM, normalise


@pytest.mark.parametrize(
    "text",
    [
        "my boyfriend is 19 and hes picking me up later to go to his flat",
        "hes 22 and he wants to pick me up from school",
        "she's only 14 and her stepdad touched her",
        "im 13 and he punched me",
        "he is 17 and he slaps me when im on my phone",
        "my sister is 15 and she passed out at his house",
    ],
)
def test_an_age_does_not_veto_a_crisis_reading_beside_violence_or_a_pick_up(component, text):
    [message] = component.process([predicted(text, "immediate_danger")])
    assert message.get("intent")["name"] != "out_of_scope", text


@pytest.mark.parametrize(
    "text, label, someone_else",
    [
        ("her boyfriend is 20 and he hits her", ABUSE, True),
        ("my best mates boyfriend beats her up", ABUSE, True),
        ("he beat me up after school", IMMEDIATE_DANGER, False),
        ("im on the bus to meet someone i met online", IMMEDIATE_DANGER, False),
        ("on my way to meet a guy from snap rn", IMMEDIATE_DANGER, False),
        ("im about to meet this man from roblox", IMMEDIATE_DANGER, False),
        ("im gonna meet him tonight he lives near the park", IMMEDIATE_DANGER, False),
        ("my friend is so drunk and a lad took her upstairs", IMMEDIATE_DANGER, False),
        ("some older boys dragged her outside and shes passed out", IMMEDIATE_DANGER, False),
        ("ive got the pills in my hand", SELF_HARM, False),  # about to: Childline first, 999 beside it
        ("i have all my mums tablets lined up", SELF_HARM, False),
        ("got the blade ready now", SELF_HARM, False),
        ("he says hes already on his way", IMMEDIATE_DANGER, False),
        ("omg hes on his way now", IMMEDIATE_DANGER, False),
    ],
)
def test_violence_a_meeting_on_its_way_and_a_drunk_friend_taken_away_fire(rules, text, label, someone_else):
    verdict = rules.check(text)
    assert (verdict.label, verdict.someone_else) == (label, someone_else), (text, normalise(text), verdict.pattern)


@pytest.mark.parametrize(
    "text",
    [
        "on my way to meet my mum in town",
        "im going to meet my mates tonight",
        "should i meet him next week",
        "hit her up on snap",
        "he beat me at fifa again lol",
        "i beat him at chess",
        "i have my pills ready for school",
        "i have my phone in my hand",
        "my dad is on his way home",
    ],
)
def test_family_friends_next_week_and_games_do_not_fire(rules, text):
    assert rules.check(text).label is None, (text, rules.check(text).pattern)


@pytest.mark.parametrize("text", ["he beat me at fifa again lol", "she destroyed me in the maths quiz"])
def test_a_game_won_vetoes_a_crisis_reading(component, text):
    [message] = component.process([predicted(text, "immediate_danger")])
    assert message.get("intent")["name"] == "out_of_scope", text


async def test_an_age_beside_a_pick_up_to_his_flat_gets_the_danger_answer(engine, conversation_id):
    reply = await engine.reply(conversation_id, "my boyfriend is 19 and hes picking me up later to go to his flat")
    assert reply.concern == "immediate_danger", (reply.intent, reply.by)
    text = " ".join(m.text for m in reply.messages)
    assert "999" in text and "0800 1111" in text
