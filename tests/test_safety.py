"""The spaCy safety layer on its own (no Rasa model): crisis phrasings fire, idioms, jokes and negations don't.

These are the safety helper's own development examples, written without looking at tests/data/heldout.jsonl.
"""

import json

import pytest
from spacy.matcher import Matcher, PhraseMatcher

from bot import safety
from bot.rasa_ext.safety_net import SafetyNet
from bot.safety import (
    ABUSE,
    ALREADY_HURT,
    IMMEDIATE_DANGER,
    NOT_CRISIS,
    SELF_HARM,
    PatternRow,
    SafetyRules,
    load_patterns,
    normalise,
    pattern_anchor,
)
from bot.settings import HELDOUT_FILE, SAFETY_PATTERN_FILES, SAFETY_PATTERNS

DANGER = [
    "i'm in danger",
    "the man from snap says hes 2 mins away",
    "omg she's nearly here what do i do",
    "im in danger please help",
    "i'm not safe",
    "i dont feel safe at home",
    "it's not safe here",
    "they're waiting at the end of my road",
    "he's picking me up after school and i don't want to go",
    "he's outside my house",
    "hes outside my house rn",
    "a man is standing outside my window",
    "someone is following me",
    "somebody keeps following me home",
    "i think i'm being followed",
    "he said he's coming to find me",
    "he said hes coming 2 get me",
    "i'm scared he'll hurt me tonight",
    "im scared he will hurt me",
    "he's forcing me to meet him",
    "he is making me meet him tonight",
    "he threatened to come to my house",
    "he knows where i live and said he's coming round",
    "he says he will kill me if i tell anyone",
    "someone is at my door and i'm scared",
    "he's in my room",
    "he won't let me leave",
    "i'm locked in his car",
    "he wants me to get in his car",
    "i don't know where i am",
    "someone's trying to get in",
    "he's hurting me",
    "he hit me",
    "he has a knife",
    "im scared for my life",
    "he's waiting for me after school",
    "the man from the game is outside school",
    "my battery is dying and he's outside my house",
    "i'm not in danger, he's just outside my house",
    "i’m in danger",
    "HE IS OUTSIDE MY HOUSEEEE",
    "he's on his way to my house",
    "scared to go home",
    "they said they know where i live",
    "there's a car that keeps driving past my house",
    "he's parked outside",
    "he turned up at my school",
    "i'm meeting him now and i'm scared",
    "i snuck out to meet him and now i'm scared",
    "he's downstairs",
    "he's banging on the door",
    "someone's knocking and i'm home alone",
    "he told me to meet him or else",
    "he sent me a pic of my house",
    "there's a man in a car watching me",
    "i'm being watched",
    "hes outside my hse",
    "he's ouside my house",
    "i'm scared he'll hurt me",
    "been followed since i got off the bus",
    "a car keeps driving past me really slowly",
    "the guy from snap is here at my school gates",
    "someone from discord i was talking to is outside",
    "a man keeps staring at me on the train and got off at my stop",
    "he turned up at my house",
    "somebodys following me from the station",
]

SELF_HARM_TEXTS = [
    "i want to die",
    "my mate says shes gonna take a load of tablets tonight",
    "ive been in a really dark place for weeks",
    "not that i want to die, i just want it all to go silent forever",
    "i wish i could go to sleep forever",
    "they all want me gone and tbh me too",
    "i wanna die",
    "i want 2 die",
    "i just want to die",
    "i want to kill myself",
    "kms",
    "i might just kms tbh",
    "i should just kys",
    "thinking of unaliving myself",
    "i want to unalive",
    "i'm suicidal",
    "im sucidal",
    "thinking about sewer slide",
    "nothing matters anymore",
    "nothing matters anymore i just want it to stop",
    "i wish i could sleep and not wake up",
    "i want to go to sleep and never wake up",
    "i don't want to wake up tomorrow",
    "everyone would be better off without me",
    "my family would be better off if i wasn't here",
    "no one would miss me",
    "nobody would even notice if i was gone",
    "i've been cutting",
    "ive been cutting again",
    "i cut my arms last night",
    "i want to hurt myself",
    "i keep hurting myself",
    "i self harm",
    "i've started selfharming",
    "relapsed on sh",
    "i don't want to live anymore",
    "i dont wanna be here anymore",
    "i don't want to exist",
    "i can't go on",
    "i cant go on like this",
    "i can't do this anymore",
    "i want to end it all",
    "im going to end it tonight",
    "i want it all to end",
    "there's no point living",
    "i have nothing to live for",
    "what's the point of living",
    "life isn't worth living",
    "my life is over",
    "i wish i was dead",
    "i wish i was never born",
    "i wish i didn't exist",
    "im a burden to everyone",
    "i've written a goodbye note",
    "i want to jump off a bridge",
    "i keep thinking about dying",
    "i'm tired of living",
    "i want to disappear forever",
    "i'm going to take my own life",
    "i want to diiiie",
    "nothing matters anymore my pics are everywhere",
    "i hate being alive",
    "dying of laughter lol jk i actually want to die",
    "i'm not ok i want to die",
    "no i want to die",
    "ngl i want to die",
    "i don't know why but i want to die",
    "i can't stop thinking about killing myself",
    "this test is gonna kill me but honestly i want to die",
    "my friend said she's going to kill herself",
    "my mate wants to end his life",
    "my friend is cutting herself",
    "i'm not going to be here tomorrow",
    "i won't be here much longer",
    "i've got cuts on my arms",
    "i don't care if i die",
    "i've saved up pills",
    "i want to run in front of a car",
    "i wna die",
    "i wanna dye",
    "i dont wanna live no more",
    "i cant anymore",
    "i want to s*icide",
    "i want to k*ll myself",
    "i want to kys",
    "i'm so embarrassed about the pics i want to die",
    "this makes me want to die",
    "i want to d i e",
    "i want to kil my self",
    "i want to killmyself",
    "i don't see the point in living",
    "i hope i never wake up",
    "i want to stop existing",
    "my friend has cuts all up her arms and wont talk about it",
    "my mate is cutting herself again",
    "he keeps threatening me with the pics, id rather be dead than let my mum see",
    "my friend posted a goodbye message last night and wont reply",
]

# Pills already taken, poison swallowed: 999 first (their own label since issue 10; they were self_harm before).
ALREADY_HURT_TEXTS = [
    "i swallowed a bunch of tablets",
    "i took loads of paracetamol",
    "i took 20 pills",
    "i took all my mums pills",
    "i overdosed",
    "i od'd last night",
    "i drank bleach",
]

TRAPS = [
    "this test is gonna kill me",
    "i take pills for my asthma",
    "my dad is 5 mins away so i gotta go",
    "he lives like 10 mins away from me",
    "i wish he would go away forever",
    "can this bot see where i live",
    "my sister wants me gone so she can have my room",
    "i could stay in bed forever on sundays",
    "my bestie is going to kill me for telling her secret",
    "my friend is in a bad place since her pics went round",
    "he said send £50 or ur life is over",
    "this test is gonna kill me lol",
    "i'm literally dead that's so funny",
    "im dead 💀",
    "my battery is dying",
    "my phone died",
    "i'd kill for some chips",
    "my mum will kill me",
    "my mum is going to kill me if she finds out",
    "my dad will literally kill me",
    "dying of laughter",
    "i was dying laughing",
    "i'm dead tired",
    "you're killing it",
    "she killed it at the concert",
    "i'm not in danger, i just want advice",
    "i'm not in any danger i just need to know how to block someone",
    "i don't want to die i just want to block him",
    "i'm not suicidal i just want the pics gone",
    "i'd never hurt myself, i just want it deleted",
    "i'm not going to kill myself don't worry",
    "i am not thinking about killing myself",
    "he keeps killing me in fortnite",
    "i keep dying in minecraft",
    "i'm bored to death",
    "dying to see the new spiderman",
    "that cake is to die for",
    "i'd rather die than wear that",
    "i nearly died when he said that",
    "i'm so dead if my mum finds out",
    "kmsl",
    "i could kill my brother",
    "my mum is waiting outside",
    "my dad is picking me up after school",
    "i'm dying my hair pink",
    "i'm cutting my fringe",
    "he followed me on insta",
    "he keeps following me on tiktok",
    "he's in my class",
    "he's at school",
    "i have to go to school tomorrow",
    "my mum is making me go to my nan's",
    "suicide squad is a good film",
    "shhh don't tell anyone",
    "my head is killing me",
    "what's the point of this app",
    "i don't feel unsafe, just confused",
    "i'm not scared for my life or anything",
    "that's odd",
    "i took two paracetamol for my headache",
    "i don't think i'm in danger",
    "nobody is outside my house, i'm fine",
    "i can't go on snapchat anymore he blocked me",
    "i want to end it with him",
    "it's not safe to send pics",
    "he is not outside anymore",
    "i'm safe now",
    "i want to dye my hair",
    "this homework makes me want to die lol",
    "i was so embarrassed i wanted to die",
    "i'm in danger of failing maths",
    "someone told me to kys on tiktok",
    "i'm not scared he'll hurt me, i just want the pics gone",
    "i'd rather kill myself than go to school tomorrow lol",
    "he keeps watching my stories",
    "my brother is downstairs",
    "she sent me a pic of my school uniform",
    "i don't care if i get in trouble",
    "someone hacked my account and is trying to get in",
    "my social life is over",
    "a boy at my school keeps asking for nudes",
    "he hit me up on snap",
    "he kicked me out of the group chat",
    "he's pressuring me to send more",
    "he threatened to show my mum the pics",
    "there's no point going to the police",
    "it's not worth it",
    "how do i make the pics disappear forever",
    "can you delete my last message",
    "i wish i had never sent it",
    "i could sleep forever",
    "nobody would care if i blocked him",
    "i've been cutting back on sugar",
    "i cut my finger cooking",
    "i burnt myself on the oven",
    "my mum won't let me go to the party",
    "he is trying to get into my account",
    "i have to see him at school tomorrow",
    "i'm dead serious he sent me that",
    "omg kill me now",
    "i want to end it with him",
    "my mum's car pulled up next to me after school",
    "been followed for ages on insta by randoms",
    "my dog follows me everywhere lol",
    "my sister said she'd kill me if i told mum about her bf 😂",
    "my friend cut her hair really short",
    "my teacher read my essay out loud and i wanted the floor to swallow me 😂",
]


@pytest.mark.parametrize("text", DANGER)
def test_danger_fires(rules, text):
    verdict = rules.check(text)
    assert verdict.label == IMMEDIATE_DANGER, (text, verdict.pattern, normalise(text))


@pytest.mark.parametrize("text", SELF_HARM_TEXTS)
def test_self_harm_fires(rules, text):
    verdict = rules.check(text)
    assert verdict.label == SELF_HARM, (text, verdict.label, verdict.pattern, normalise(text))


@pytest.mark.parametrize("text", ALREADY_HURT_TEXTS)
def test_already_hurt_fires(rules, text):
    verdict = rules.check(text)
    assert verdict.label == ALREADY_HURT, (text, verdict.label, verdict.pattern, normalise(text))


def test_a_friend_who_took_pills_is_a_friend_at_risk(rules):
    verdict = rules.check("my friend took loads of pills")
    assert (verdict.label, verdict.someone_else) == (ALREADY_HURT, True)


def test_rape_is_abuse(rules):
    assert rules.check("i was raped").label == ABUSE


@pytest.mark.parametrize("text", TRAPS)
def test_traps_do_not_fire(rules, text):
    verdict = rules.check(text)
    assert verdict.label is None, (text, verdict.label, verdict.pattern, normalise(text))


def test_measured_recall_and_false_alarms(rules):
    """The numbers reported for the layer alone: every crisis phrasing caught, no trap fires."""
    crisis = [(t, IMMEDIATE_DANGER) for t in DANGER] + [(t, SELF_HARM) for t in SELF_HARM_TEXTS]
    crisis += [(t, ALREADY_HURT) for t in ALREADY_HURT_TEXTS]
    caught = sum(rules.check(text).label == label for text, label in crisis)
    false_alarms = sum(rules.check(text).label is not None for text in TRAPS)
    assert len(crisis) >= 40 and len(TRAPS) >= 30
    assert caught / len(crisis) == 1.0
    assert false_alarms == 0


def test_grouping_by_anchor_finds_exactly_what_one_matcher_holding_every_pattern_finds(rules):
    """The anchors are only a speed-up: every match of every pattern, on every test and evaluation message."""
    rows = [row for path in SAFETY_PATTERN_FILES for row in load_patterns(path)]
    everything = Matcher(rules.nlp.vocab)
    phrases = PhraseMatcher(rules.nlp.vocab, attr="LOWER")
    for row in rows:
        if row.pattern is not None:
            everything.add(row.id, [row.pattern])
        else:
            phrases.add(row.id, [rules.nlp.make_doc(safety._rewrite(phrase)) for phrase in row.phrases])
    texts = (
        DANGER
        + SELF_HARM_TEXTS
        + ALREADY_HURT_TEXTS
        + TRAPS
        + [
            json.loads(line)["text"]
            for path in sorted(HELDOUT_FILE.parent.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    )
    assert len(texts) > 900
    matched = 0
    for text in texts:
        doc = rules.nlp(normalise(text))
        expected = {(rules.nlp.vocab.strings[key], start, end) for key, start, end in everything(doc) + phrases(doc)}
        assert {(hit.id, hit.start, hit.end) for hit in rules.hits(text)} == expected, text
        matched += bool(expected)
    assert matched > 400


@pytest.mark.parametrize(
    "pattern, anchor",
    [
        ([{"LOWER": "i"}, {"LOWER": {"IN": ["safe", "unsafe"]}}], {"safe", "unsafe"}),  # not the common "i"
        ([{"LOWER": "die", "OP": "?"}, {"LOWER": "now"}], {"now"}),  # an optional word can't be the anchor
        ([{"LOWER": "kill", "OP": "{0,2}"}, {"LOWER": "me", "OP": "{1,3}"}], {"me"}),
        ([{"LOWER": "cut", "OP": "+"}, {"LOWER": {"IN": ["my", "her", "wrist"]}}], {"cut"}),
        ([{"LEMMA": "cut"}, {"LOWER": "myself", "OP": "!"}], None),
        ([{"TEXT": {"REGEX": "^q[0-9]$"}}, {"OP": "*"}], None),
    ],
)
def test_pattern_anchor(pattern, anchor):
    assert pattern_anchor(pattern) == (frozenset(anchor) if anchor else None)


def test_a_pattern_without_an_anchor_is_always_tried():
    rules = SafetyRules([PatternRow(SELF_HARM, "code", pattern=[{"TEXT": {"REGEX": "^q[0-9]$"}}])])
    assert rules.check("it says q7 on the wall").label == SELF_HARM


def test_pattern_file_loads_and_every_row_has_label_and_id():
    rows = load_patterns(SAFETY_PATTERNS)
    assert rows
    with open(SAFETY_PATTERNS, encoding="utf-8") as f:
        objects = [json.loads(line) for line in f if line.strip()]
    assert len(objects) == len(rows)
    for obj in objects:
        assert obj["label"] in safety.LABELS and obj["id"]
        assert ("pattern" in obj) != ("phrase" in obj)
    labels = {row.label for row in rows}
    assert {IMMEDIATE_DANGER, SELF_HARM, NOT_CRISIS, safety.CRISIS_CUE} <= labels


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"label": "self_harm", "pattern": [{"LOWER": "x"}]}', "id"),
        ('{"label": "sad", "id": "x", "phrase": "x"}', "label"),
        ('{"label": "self_harm", "id": "x"}', "exactly one"),
        ('{"label": "self_harm", "id": "x", "phrase": "x", "pattern": [{"LOWER": "x"}]}', "exactly one"),
        ('{"label": "self_harm", "id": "x", "pattern": []}', "non-empty"),
        ('{"label": "self_harm", "id": "x", "phrase": "x", "colour": 1}', "unknown"),
        ('{"label": "self_harm", "id": "x", "phrase": "x"}\n{"label": "not_crisis", "id": "x", "phrase": "y"}', "id"),
        ("not json", "not JSON"),
    ],
)
def test_pattern_file_mistakes_are_reported_with_the_line(tmp_path, line, message):
    path = tmp_path / "patterns.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_patterns(path)


def test_editing_the_pattern_file_changes_the_rules(tmp_path):
    """Patterns are data: a new line works without touching code (or retraining)."""
    path = tmp_path / "patterns.jsonl"
    path.write_text(
        '{"label": "self_harm", "id": "custom", "pattern": [{"LOWER": "purple"}, {"LEMMA": "elephant"}]}\n'
        '{"label": "immediate_danger", "id": "custom_phrase", "phrase": ["red alert"]}\n',
        encoding="utf-8",
    )
    rules = SafetyRules.from_path(path)
    assert (rules.check("Purple elephants everywhere").label, rules.check("purple elephants").pattern) == (
        SELF_HARM,
        "custom",
    )
    assert rules.check("it's a RED ALERT").label == IMMEDIATE_DANGER
    assert rules.check("i want to die").label is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I’m not safe", "i am not safe ."),
        ("kms", "kill myself ."),
        ("i wanna die", "i want to die ."),
        ("want 2 die", "want to die ."),
        ("cant go on", "can not go on ."),
        ("i dont want to", "i do not want to ."),
        ("hes outside", "he is outside ."),
        ("they're waiting", "they are waiting ."),
        ("diiiiie", "die ."),
        ("killlll", "kill ."),
        ("sewer slide", "suicide ."),
        ("sewerslide", "suicide ."),
        ("unalive myself", "kill myself ."),
        ("i want to be unalive", "i want to be dead ."),
        ("d i e", "die ."),
        ("k\u200bms", "kill myself ."),
        ("\u202ei want to die\u202c", "i want to die ."),
        ("", "."),
        ("   ", "."),
        ("that's odd", "that is odd ."),
        ("were you there", "were you there ."),
        ("shhhh", "shhhh ."),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_negation_walk():
    nlp = safety._blank_nlp()
    doc = nlp(normalise("i am not really in danger"))
    start = [t.text for t in doc].index("in")
    assert safety.is_negated(doc, start)
    doc = nlp(normalise("no i want to die"))
    assert not safety.is_negated(doc, [t.text for t in doc].index("want"))
    doc = nlp(normalise("i don't think i'm in danger"))
    assert safety.is_negated(doc, [t.text for t in doc].index("in"))
    doc = nlp(normalise("i can't stop thinking about killing myself"))
    assert not safety.is_negated(doc, [t.text for t in doc].index("killing"))


@pytest.mark.parametrize(
    "text, veto",
    [
        ("this test is gonna kill me lol", "idiom_x_will_kill_me"),
        ("i'm not in danger, i just want advice", "negated:in_danger"),
        ("i don't want to die i just want to block him", "negated:want_to_die"),
        ("my battery is dying", "idiom_device_dying"),
        ("fell off my chair in maths and wanted the ground to swallow me up", "idiom_ground_swallow_me"),
    ],
)
def test_veto_when_every_cue_is_explained(rules, text, veto):
    verdict = rules.check(text)
    assert verdict.label is None and verdict.veto == veto


@pytest.mark.parametrize(
    "text",
    [
        "my battery is dying and i'm so scared",  # "scared" is a cue the idiom doesn't explain
        "i'm not in danger but he keeps threatening me",
        "this test is gonna kill me and i cut again",  # a crisis fires instead
        "what should i do",  # nothing to explain
    ],
)
def test_no_veto_when_a_cue_is_left_over(rules, text):
    assert rules.check(text).veto is None


def test_long_and_strange_input_does_not_break_the_rules(rules):
    assert rules.check("a" * 10_000).label is None
    assert rules.check("i want to die " * 500).label == SELF_HARM
    assert rules.check("\x00\x01\u200b\u202e🙂🙂 \ud800").label is None


def _message(text, intent, confidence=0.9):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set(
        "intent_ranking",
        [{"name": intent, "confidence": confidence}, {"name": "greet", "confidence": 1 - confidence}],
        add_to_output=True,
    )
    return message


def test_component_crisis_rule_overrides_the_model(component):
    [message] = component.process([_message("they're waiting at the end of my road", "greet")])
    assert message.get("intent") == {"name": IMMEDIATE_DANGER, "confidence": 1.0}
    assert message.get("intent_ranking")[0] == {"name": IMMEDIATE_DANGER, "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")].count(IMMEDIATE_DANGER) == 1
    assert message.get("safety") == {"label": IMMEDIATE_DANGER, "pattern": "end_of_road"}
    assert "safety" in message.as_dict(only_output_properties=True)


def test_component_leaves_the_model_alone_when_nothing_fires(component):
    [message] = component.process([_message("someone keeps asking me for pics", "asked_for_nudes")])
    assert message.get("intent")["name"] == "asked_for_nudes"
    assert message.get("safety") is None
    # The model's own crisis prediction stands when nothing explains it away.
    [message] = component.process([_message("everything is too much", SELF_HARM)])
    assert message.get("intent")["name"] == SELF_HARM and message.get("safety") is None


def test_component_vetoes_an_explained_crisis_prediction(component):
    [message] = component.process([_message("this test is gonna kill me lol", SELF_HARM)])
    assert message.get("intent") == {"name": "out_of_scope", "confidence": 1.0}
    assert message.get("safety") == {"label": "out_of_scope", "pattern": "idiom_x_will_kill_me"}
    # An idiom next to a non-crisis prediction changes nothing.
    [message] = component.process([_message("this test is gonna kill me lol", "greet")])
    assert message.get("intent")["name"] == "greet" and message.get("safety") is None


def test_component_never_vetoes_a_real_crisis(component):
    [message] = component.process([_message("my battery is dying and he's outside my house", "out_of_scope")])
    assert message.get("intent")["name"] == IMMEDIATE_DANGER
    [message] = component.process([_message("my battery is dying and i'm so scared", IMMEDIATE_DANGER)])
    assert message.get("intent")["name"] == IMMEDIATE_DANGER and message.get("safety") is None


@pytest.mark.parametrize(
    "text, someone_else",
    [
        ("my best mate says she wants to kill herself", True),
        ("i think my friend wants to die", True),
        ("my sister has cuts all up her arms", True),
        ("my bf says he will kill himself if i leave", True),
        ("she makes me want to die", False),  # the nearest person word is "me"
        ("my friend found out and now i want to die", False),
        ("my friend is self harming and i want to die too", False),  # any self-harm words about the user win
        ("everyone would be better off without me", False),
        ("my friend. i want to die", False),  # a sentence end stops the walk
        ("i took all her pills", False),  # whose pills, not whose crisis
        ("i have swallowed a load of his tablets", False),
    ],
)
def test_who_the_self_harm_words_are_about(rules, text, someone_else):
    verdict = rules.check(text)
    assert verdict.label in (SELF_HARM, ALREADY_HURT) and verdict.someone_else is someone_else, (text, verdict)


def test_component_gives_a_friend_at_risk_its_own_intent(component):
    [message] = component.process([_message("my best mate says she wants to kill herself", "friend_worried")])
    assert message.get("intent") == {"name": "friend_at_risk", "confidence": 1.0}
    assert message.get("safety")["label"] == "friend_at_risk"
    # A model's friend_at_risk prediction is a crisis prediction: an idiom that explains every cue vetoes it.
    [message] = component.process([_message("this test is gonna kill me lol", "friend_at_risk")])
    assert message.get("intent")["name"] == "out_of_scope"


def test_component_veto_can_be_switched_off():
    component = SafetyNet.create({"patterns": "nlu/safety_patterns.jsonl", "veto": False}, None, None, None)
    [message] = component.process([_message("this test is gonna kill me lol", SELF_HARM)])
    assert message.get("intent")["name"] == SELF_HARM
