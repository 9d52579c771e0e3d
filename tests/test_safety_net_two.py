"""Safety net, part two (issue 10 items 1, 4, 5, 6 and issue 14 item 4): already hurt, abuse by someone they know,
other languages and unreadable messages, fewer false alarms, disguised letters, long messages.

The phrasings are the safety helper's own, written from the issues' descriptions (no evaluation set was read).
"""

import pytest
from helpers import predicted

from bot.rasa_ext.safety_net import SafetyNet
from bot.safety import ABUSE, ALREADY_HURT, IMMEDIATE_DANGER, SELF_HARM, _known, normalise
from bot.safety.languages import checkout_words, is_unreadable
from bot.safety.normalise import fold, strip_accents, unmask_lookalikes
from bot.settings import SAFETY_PATTERN_FILES

# --- 1. Already hurt: 999 (or A&E) first ----------------------------------------------------------------------

ALREADY_HURT_TEXTS = [
    "i took a load of tablets",
    "i think i took too many",
    "i cut too deep and it wont stop bleeding",
    "ive necked a whole strip of paracetamol",
    "took like 30 of my nans tablets",
    "i've taken way too much of my meds",
    "the bleeding wont stop",
    "i swallowed something to make it stop",
    "there's so much blood i don't know what to do",
    "i od'd an hour ago",
    "i drank some bleach earlier",
    "cut myself really bad tonight",
]
ABOUT_TO = [  # "about to" and "thinking about" stay self_harm: Childline first with 999 beside it
    "im going to take all my pills tonight",
    "i want to take a load of tablets",
    "thinking about taking an overdose",
    "i keep thinking about cutting",
]


@pytest.mark.parametrize("text", ALREADY_HURT_TEXTS)
def test_already_hurt_fires(rules, text):
    verdict = rules.check(text)
    assert verdict.label == ALREADY_HURT and not verdict.someone_else, (text, verdict.label, verdict.pattern)


@pytest.mark.parametrize("text", ABOUT_TO)
def test_about_to_is_still_self_harm(rules, text):
    assert rules.check(text).label == SELF_HARM, text


@pytest.mark.parametrize(
    "text",
    [
        "i took too many photos at the party",
        "my nose wont stop bleeding",
        "i never overdosed",
        "i took two paracetamol for my period pain",
    ],
)
def test_already_hurt_traps(rules, text):
    assert rules.check(text).label is None, text


def test_a_friend_already_hurt_is_a_friend_at_risk(component):
    [message] = component.process([predicted("my mate just swallowed a load of pills", "friend_worried")])
    assert message.get("intent")["name"] == "friend_at_risk"
    [message] = component.process([predicted("i took a load of tablets", "self_harm")])
    assert message.get("intent")["name"] == "already_hurt"


# --- 2. Abuse by someone they know (the net's side; intent abuse_disclosure) ----------------------------------

ABUSE_TEXTS = [
    "my uncle touches me and says its our secret",
    "my stepdad makes me do things i dont want to",
    "my coach touched me after training",
    "my mums boyfriend comes in my room at night and touches me",
    "my cousin raped me",
    "my boyfriend forced me to have sex",
    "he made me touch him and said not to tell",
    "my brother keeps touching my private parts",
    "my teacher touched me under my clothes",
    "my dad hits me",
    "i was sexually abused by a family friend",
    "it's our little secret my uncle says",
]


@pytest.mark.parametrize("text", ABUSE_TEXTS)
def test_abuse_fires(rules, text):
    verdict = rules.check(text)
    assert verdict.label == ABUSE, (text, verdict.label, verdict.pattern)


@pytest.mark.parametrize(
    "text",
    [
        "my mum makes me do my homework",
        "me and my brother have our secret handshake",
        "your message really touched me",
        "he never touched me, he just keeps asking for pics",
    ],
)
def test_abuse_traps(rules, text):
    assert rules.check(text).label is None, (text, rules.check(text).pattern)


def test_abuse_sets_the_abuse_disclosure_intent(component):
    [message] = component.process([predicted("my uncle touches me and says its our secret", "unknown_contact")])
    assert message.get("intent") == {"name": "abuse_disclosure", "confidence": 1.0}
    assert message.get("safety")["label"] == "abuse_disclosure"


@pytest.mark.parametrize(
    "text, label",
    [
        ("my stepdad touches me and he's outside my room now", IMMEDIATE_DANGER),  # danger first
        ("my uncle touches me and i took a load of tablets", ALREADY_HURT),  # 999 first
        ("my uncle touches me and i want to die", SELF_HARM),  # then self-harm, then abuse
    ],
)
def test_priority_when_several_fire(rules, text, label):
    assert rules.check(text).label == label


# --- 3. Other languages and unreadable messages ---------------------------------------------------------------

OTHER_LANGUAGES = [
    ("pl", "chcę się zabić", SELF_HARM),
    ("pl", "chce umrzec", SELF_HARM),
    ("ur", "میں مرنا چاہتا ہوں", SELF_HARM),
    ("ur", "main marna chahta hoon", SELF_HARM),
    ("pa", "ਮੈਂ ਮਰਨਾ ਚਾਹੁੰਦਾ ਹਾਂ", SELF_HARM),
    ("bn", "আমি মরতে চাই", SELF_HARM),
    ("bn", "ami morte chai", SELF_HARM),
    ("gu", "મારે મરી જવું છે", SELF_HARM),
    ("ar", "اريد ان اموت", SELF_HARM),
    ("ar", "انا في خطر", IMMEDIATE_DANGER),
    ("ro", "vreau sa mor", SELF_HARM),
    ("pt", "eu quero morrer", SELF_HARM),
    ("es", "me quiero morir", SELF_HARM),
    ("es", "estoy en peligro ayúdame", IMMEDIATE_DANGER),
    ("so", "waxaan rabaa inaan dhinto", SELF_HARM),
    ("tr", "ölmek istiyorum", SELF_HARM),
    ("tr", "olmek istiyorum", SELF_HARM),
    ("lt", "noriu mirti", SELF_HARM),
    ("cy", "dw i eisiau marw", SELF_HARM),
    ("uk", "я хочу померти", SELF_HARM),
    ("ru", "я хочу умереть", SELF_HARM),
    ("ru", "hochu umeret", SELF_HARM),
    ("ru", "меня изнасиловали", ABUSE),
    ("fr", "je veux mourir", SELF_HARM),
    ("fr", "au secours je suis en danger", IMMEDIATE_DANGER),
]


@pytest.mark.parametrize("lang, text, label", OTHER_LANGUAGES, ids=[f"{code}:{t}" for code, t, _ in OTHER_LANGUAGES])
def test_crisis_words_in_other_languages(rules, lang, text, label):
    assert rules.check(text).label == label


def test_the_language_file_covers_sixteen_languages_with_sources():
    import json

    rows = [json.loads(line) for line in SAFETY_PATTERN_FILES[1].read_text(encoding="utf-8").splitlines() if line]
    assert {row["lang"] for row in rows} >= {
        "pl",
        "ur",
        "pa",
        "bn",
        "gu",
        "ar",
        "ro",
        "pt",
        "es",
        "so",
        "tr",
        "lt",
        "cy",
        "uk",
        "ru",
        "fr",
    }
    assert all(row["source"] and row["id"].startswith(f"lang_{row['lang']}_") for row in rows)


@pytest.mark.parametrize(
    "text",
    [
        "Привет, как дела? Мне нужна помощь с телефоном",
        "مرحبا كيف حالك",
        "hola que tal estas amigo mio",
        "dzien dobry jak sie masz",
        "আমার ফোন কাজ করছে না",
    ],
)
def test_messages_the_bot_cannot_read_get_not_english(component, text):
    [message] = component.process([predicted(text, "affirm", 0.275)])
    assert message.get("intent")["name"] == "not_english", text


@pytest.mark.parametrize(
    "text",
    ["hi", "lol", "omg he keeps asking for pics", "wyd", "he sent me a pic on snap", "ok", "hola", "🙂🙂"],
)
def test_english_and_short_messages_are_readable(rules, text):
    assert not rules.check(text).unreadable, text


def test_a_model_crisis_on_an_unreadable_message_is_kept(component):
    [message] = component.process([predicted("мне очень плохо", "self_harm")])
    assert message.get("intent")["name"] == "self_harm"


def test_unreadable_heuristic_on_words():
    assert is_unreadable(["خطر"], _known)
    assert not is_unreadable(["i", "am", "fine"], _known)
    assert not is_unreadable(["123", "!!"], _known)


# --- 4. Fewer false alarms: a model's crisis guess with nothing crisis-like behind it is overruled -------------

FALSE_ALARMS = [
    "hes in my year",
    "he's only 19",
    "I'm in Ireland",
    "I don't want him to get in trouble",
    "should i delete everything",
    "can i delete the messages",
    "i want to delete my account",
    "she's in year 9",
    "im 14 and he is 17",
    "we live outside the uk",
    "i deleted the app",
]


@pytest.mark.parametrize("text", FALSE_ALARMS)
def test_false_alarms_veto_a_crisis_prediction(component, text):
    for intent in ("immediate_danger", "self_harm"):
        [message] = component.process([predicted(text, intent)])
        assert message.get("intent")["name"] == "out_of_scope", (text, intent)


@pytest.mark.parametrize(
    "text",
    [
        "he's in my year and he's outside my house",
        "he's 5 mins away",
        "i want to delete myself",
        "i deleted all my accounts and said bye to everyone",
    ],
)
def test_real_danger_next_to_those_words_is_not_vetoed(component, text):
    [message] = component.process([predicted(text, "immediate_danger")])
    assert message.get("intent")["name"] in ("immediate_danger", "self_harm"), text


# --- 5. Normalisation before the net (issue 14 item 4) --------------------------------------------------------


@pytest.mark.parametrize(
    "text, plain",
    [
        ("í ẃáńt́ t́ó d́íé", "i want to die"),  # an accent on every letter
        ("i wa\u0301\u0300\u0302nt to di\u0308e", "i want to die"),  # stacked marks
        ("і wаnt tо dіе", "i want to die"),  # Cyrillic і, а, о, е
        ("kіll mуsеlf", "kill myself"),  # Cyrillic і, у, е inside Latin words
        ("Ι ωant to dιe", "i ωant to die"),  # Greek capital iota alone, iota in a word (ω has no Latin twin)
        ("ｉ ｗａｎｔ ｔｏ ｄｉｅ", "i want to die"),  # fullwidth letters
        ("chcę się zabić", "chce sie zabic"),
        ("zgwałcił", "zgwalcil"),
    ],
)
def test_normalise_undoes_disguised_letters(text, plain):
    assert normalise(text) == plain + " ."


@pytest.mark.parametrize(
    "text",
    ["і wаnt tо dіе", "í ẃáńt́ t́ó d́íé", "ｉ ｗａｎｔ ｔｏ ｄｉｅ", "I WАNT TО DІЕ", "і want to kіll mysеlf"],
)
def test_disguised_crisis_fires(rules, text):
    assert rules.check(text).label == SELF_HARM, normalise(text)


@pytest.mark.parametrize("text", ["я хочу умереть", "хочу померти", "Привет, как дела", "αυτοκτονία", "й"])
def test_real_cyrillic_and_greek_text_is_not_mapped(text):
    assert fold(text) == text


def test_marks_on_other_scripts_are_kept():
    assert strip_accents("ਮੈਂ ਮਰਨਾ") == "ਮੈਂ ਮਰਨਾ"
    assert strip_accents("আমি মরতে চাই") == "আমি মরতে চাই"
    assert unmask_lookalikes("snap і") == "snap i"  # a look-alike word in a Latin message


# --- 6. Every sentence of a long message ----------------------------------------------------------------------

STORY = (
    "ok so this is a long one sorry. me and my mates were at the park after school and it was fine, we had chips "
    "and went on the swings and then my mums car pulled up and she was annoyed because i was meant to be home. "
    "{clause} anyway after that we went home and had tea and i went on my phone for ages and saw loads of stuff "
    "about people in my year and i dont really know what to do about any of it or who to talk to tbh so yeah"
)


@pytest.mark.parametrize(
    "clause, label, someone_else",
    [
        ("i want to die honestly.", SELF_HARM, False),
        ("i took a load of tablets before i came out.", ALREADY_HURT, False),
        ("my uncle touches me when he babysits and says its our secret.", ABUSE, False),
        ("my best mate says she wants to kill herself.", SELF_HARM, True),
        ("there's a man outside my house right now.", IMMEDIATE_DANGER, False),
        ("my friend's in a bad mood. i want to die.", SELF_HARM, False),  # whose crisis is decided per sentence
    ],
)
def test_a_crisis_in_the_middle_of_a_long_story_fires(rules, clause, label, someone_else):
    text = STORY.format(clause=clause)
    assert len(text.split()) >= 100
    verdict = rules.check(text)
    assert (verdict.label, verdict.someone_else) == (label, someone_else), verdict.pattern


def test_an_idiom_explains_only_its_own_sentence(rules):
    # idiom_family_car reaches eight words past "car"; it must not swallow the next sentence's crisis.
    assert rules.check("my mums car pulled up. i want to die").label == SELF_HARM
    assert rules.check("my mum's car. i cut again").label == SELF_HARM


def test_a_long_story_with_no_crisis_does_not_fire(rules):
    assert rules.check(STORY.format(clause="then we watched a film.")).label is None


# --- helpers --------------------------------------------------------------------------------------------------


def test_the_trained_model_keeps_the_training_words_for_the_unreadable_check(engine):
    # An installed wheel has no nlu/: the words that count as English travel in the model (SafetyNet.train).
    runner = engine.agent.processor.graph_runner  # Rasa's dask runner, or the speed-up around it
    nodes = getattr(runner, "dask_runner", runner)._instantiated_nodes.values()
    (net,) = [node._component for node in nodes if isinstance(getattr(node, "_component", None), SafetyNet)]
    assert {"insta", "sc", "lol"} <= net.rules.words
    # The examples as Rasa read them, without the YAML's entity markup: from the model, not from nlu/.
    assert "platform" not in net.rules.words and "platform" in checkout_words()
