"""Safety net, part three: families of crisis wording the net missed, as pattern data only (nlu/safety_patterns.jsonl
and nlu/safety_patterns_languages.jsonl), and false alarms it raised.

Every phrasing here is the safety helper's own variant of a family (no evaluation line is copied): a parent hurting
them (injuries, anger taken out on them), sexual abuse in other words ("did stuff to me", "sexually aggressive"),
an adult getting them alone or paying them to show things, violence at home against a parent, not able to speak
with someone near, a secret meeting, deserving to be hurt, looking up a method, alcohol with pills, something taken
with symptoms, and other languages (informal, romanised, first person, without diacritics).
"""

import pytest
from helpers import predicted

from bot.safety import ABUSE, ALREADY_HURT, IMMEDIATE_DANGER, SELF_HARM, normalise


def _check(rules, text, label):
    verdict = rules.check(text)
    assert verdict.label == label and not verdict.someone_else, (text, normalise(text), verdict.label, verdict.pattern)


CRISIS = [
    # a parent or carer hurting them
    ("my dad loses his temper and gave me a black eye last week", ABUSE),
    ("she left bruises all over my arms", ABUSE),
    ("i have bruises from my stepdad", ABUSE),
    ("my mum takes her temper out on me", ABUSE),
    ("my stepmum punched me in the face", ABUSE),
    ("my dad has hit me with a belt", ABUSE),
    # sexual abuse in other words
    ("her boyfriend is being sexually inappropriate with me when mum is at work", ABUSE),
    ("my uncle did stuff to me when i stayed over", ABUSE),
    ("the things my stepdad does to me at night", ABUSE),
    ("a man from church keeps trying to get me alone", ABUSE),
    ("my coach tried to kiss me after practice", ABUSE),
    ("he pinned me down on the sofa", ABUSE),
    ("the old man across the road pays me to show him my body", ABUSE),
    ("my dads mate offered me money to strip", ABUSE),
    ("my neighbour said it was our little secret", ABUSE),
    ("my cousin told me i would get in trouble if i told", ABUSE),
    # violence at home, can't speak, a secret meeting
    ("my stepdad keeps hitting my mum and i am scared", IMMEDIATE_DANGER),
    ("dad was punching mum last night", IMMEDIATE_DANGER),
    ("my mums boyfriend gets violent when he drinks", IMMEDIATE_DANGER),
    ("i cant speak hes right outside the door", IMMEDIATE_DANGER),
    ("cant talk my stepdad is listening", IMMEDIATE_DANGER),
    ("i can't call anyone he is in the other room", IMMEDIATE_DANGER),
    ("he wants me to meet him at the park tonight", IMMEDIATE_DANGER),
    ("he said to meet him tonight and not tell my mum", IMMEDIATE_DANGER),
    ("dont tell anyone but hes meeting me at the station later", IMMEDIATE_DANGER),
    # deserving to be hurt, looking up a method
    ("i deserve to be in pain", SELF_HARM),
    ("honestly i deserve to suffer", SELF_HARM),
    ("i should be punished", SELF_HARM),
    ("been googling ways to die", SELF_HARM),
    ("how many tablets does it take", SELF_HARM),
    ("what is a lethal dose of paracetamol", SELF_HARM),
    # already taken
    ("drank loads of cider and took some tablets", ALREADY_HURT),
    ("took a few of my dads sleeping pills", ALREADY_HURT),
    ("i swallowed something and now i feel dizzy and weird", ALREADY_HURT),
    ("i drank something he gave me and my heart is racing", ALREADY_HURT),
]


@pytest.mark.parametrize("text, label", CRISIS)
def test_crisis_families_fire(rules, text, label):
    _check(rules, text, label)


def test_a_friend_abused_is_a_crisis(rules):
    # Abuse of a friend gets the abuse answer for now (a crisis: immediate_danger in the statistics).
    assert rules.check("my mate told me her step-dad does bad things to her when her mum is out").label == ABUSE


OTHER_LANGUAGES = [
    ("pl", "nie chcę już dłużej żyć", SELF_HARM),
    ("pl", "nie chce juz zyc", SELF_HARM),  # without diacritics
    ("pl", "wziąłem dużo tabletek", ALREADY_HURT),
    ("pl", "wzielam wszystkie tabletki mamy", ALREADY_HURT),
    ("ur", "میرے ماموں مجھے غلط جگہ چھوتے ہیں", ABUSE),
    ("ur", "mera cousin mujhe galat tarike se chhoota hai", ABUSE),
    ("bn", "ar bachte chaina", SELF_HARM),
    ("ar", "baddi mout", SELF_HARM),
    ("ar", "wallah ma 3ad fiyi", SELF_HARM),
    ("es", "me tomé muchas pastillas de mi madre", ALREADY_HURT),
    ("lt", "nebenoriu gyventi", SELF_HARM),
    ("lt", "padėk man, jis čia", IMMEDIATE_DANGER),
    ("cy", "dw i'n torri fy hun", SELF_HARM),
    ("ru", "ne hochu zhit", SELF_HARM),
    ("ru", "я режусь каждый день", SELF_HARM),
    ("fr", "j'veux crever", SELF_HARM),
    ("fr", "jvais me tuer ce soir", SELF_HARM),
]


@pytest.mark.parametrize("lang, text, label", OTHER_LANGUAGES, ids=[f"{code}:{t}" for code, t, _ in OTHER_LANGUAGES])
def test_crisis_words_in_other_languages(rules, lang, text, label):
    _check(rules, text, label)


TRAPS = [
    "my mum makes me do stuff like hoovering",
    "my dad makes me do things like homework and tidying",
    "can you ring the police without telling me",
    "will you call 999 if i tell you",
    "is there an adult outside school i could talk to",
    "i want someone outside my family to talk to",
    "the video was being recorded by my friend",
    "they told me to kill myself on roblox",
    "my brother beat me at fifa",
    "my mum hit me up on whatsapp",
    "i accidentally hurt my mum's feelings",
    "he wants me to meet his mum",
    "my friend wants me to meet her at the cinema tonight",
    "i had some chips and felt dizzy",
    "i took something from the shop",
    "i did stuff to my room",
    "she said it's our secret that she fancies him",
    "how many paracetamol can i take for a headache",
    "my mum takes her stress out on the garden",
    "my dad plays violent games",
    "my boyfriend tried to kiss me",
    "i do not deserve to be hurt",
    "he kicked the ball and it hit me",
    "this new roblox update makes me want to die lol",
    "i have not agreed to see him because i am scared he is fake",
    "a guy from snap wants to meet up next month and says keep it secret and dont tell anyone",
]


@pytest.mark.parametrize("text", TRAPS)
def test_traps_do_not_fire(rules, text):
    verdict = rules.check(text)
    assert verdict.label is None, (text, verdict.label, verdict.pattern)


@pytest.mark.parametrize(
    "text",
    [
        "can you ring the police without telling me",
        "is there an adult outside school i could talk to",
        "my dad makes me do things like homework and tidying",
        "they told me to kill myself on roblox",
    ],
)
def test_those_false_alarms_veto_a_crisis_prediction(component, text):
    [message] = component.process([predicted(text, "immediate_danger")])
    assert message.get("intent")["name"] == "out_of_scope", text


@pytest.mark.parametrize(
    "text, label",
    [
        ("someone is outside my house and i can not talk", IMMEDIATE_DANGER),  # an idiom must not swallow danger
        ("someone is outside my house can you tell my mum", IMMEDIATE_DANGER),
        ("can you call 999 for me", IMMEDIATE_DANGER),  # asking the bot for help, not about it
        ("i said i should just kill myself", SELF_HARM),  # their own words, not someone telling them
        ("my stepdad makes me do things i do not want to and then makes me tidy", ABUSE),
    ],
)
def test_real_crisis_next_to_the_new_idioms_still_fires(rules, text, label):
    _check(rules, text, label)


# --- helpers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "done. took them all.",
        "i already did it with my mums pills",
        "ive already done it the paracetamol. im so scared",
    ],
)
def test_already_done_it_with_pills_is_already_hurt(rules, text):
    _check(rules, text, ALREADY_HURT)


@pytest.mark.parametrize(
    "text", ["took them all to the cinema yesterday", "he took it all back", "i already did it, my homework"]
)
def test_taking_them_all_somewhere_is_no_crisis(rules, text):
    assert rules.check(text).label is None
