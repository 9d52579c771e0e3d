"""Conversations through the engine: the context the conversation keeps (issue 13 items 2-4, issue 10 items 2-3).

Every phrasing here is our own, written for these tests; none is in nlu/.
"""

import uuid

import pytest

from bot.concerns import PLATFORMS
from bot.service_numbers import placeholders

VALUES = placeholders()
EMERGENCY, CHILDLINE = VALUES["emergency_phone"], VALUES["childline_phone"]
INTRO = "I'm Signpost"


def text_of(reply):
    return " ".join(m.text for m in reply.messages)


def words(reply):
    return sum(len(m.text.split()) for m in reply.messages)


async def talk(engine, *turns):
    """Each turn answered, then counted, as the front ends do."""
    conversation_id = uuid.uuid4().hex
    replies = []
    for turn in turns:
        replies.append(await engine.reply(conversation_id, turn))
        await engine.count(conversation_id)
    return replies


def keeps_crisis_numbers(reply):
    text = text_of(reply)
    return EMERGENCY in text and CHILDLINE in text  # the numbers themselves, while the crisis lasts


# --- A crisis stays on ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "turns",
    [
        ("i swallowed a load of my mums tablets", "prob like 25", "co-codamol i think", "it was maybe 40 mins ago"),
        ("i want to end it all tonight", "its honestly not a big deal", "i dont wanna phone anybody", "so what now"),
        ("theres a man outside my house and hes banging on the door", "what do i do", "hello??", "ok"),
        ("my mate just told me she took a whole packet of pills", "she says shes fine", "thank you", "asdkjh"),
    ],
)
async def test_a_crisis_then_three_follow_ups_each_keep_999_and_childline(engine, turns):
    first, *follow_ups = await talk(engine, *turns)
    assert first.concern in ("self_harm", "immediate_danger") and keeps_crisis_numbers(first)
    for reply in follow_ups:
        text = text_of(reply)
        assert keeps_crisis_numbers(reply), (reply.intent, text)
        assert "can't help" not in text and "not sure I understood" not in text, (reply.intent, text)
        assert INTRO not in text and len(reply.messages) <= 3


async def test_in_a_crisis_not_wanting_to_call_gets_text_and_chat_and_still_999(engine):
    # ("my parents would hear" is now read as can't-speak danger: 999 and the Silent Solution first.)
    _, reply = await talk(engine, "i cut myself really bad", "i really dont want to ring anyone")
    text = text_of(reply)
    assert VALUES["shout_text"] in text and VALUES["childline_web"] in text and EMERGENCY in text


async def test_saying_they_are_safe_ends_the_crisis(engine):
    replies = await talk(
        engine, "someone is following me home and im scared", "im home now my dad is with me", "how do i block someone"
    )
    assert keeps_crisis_numbers(replies[1]) and "glad" in text_of(replies[1])
    assert "still here. If you are in danger" not in text_of(replies[2])


async def test_moving_on_to_other_concerns_for_several_turns_ends_the_crisis(engine):
    turns = [
        "i want to kill myself",
        "/sextortion",
        "/asked_for_nudes",
        "/image_shared",
        "/received_nude",
        "/unknown_contact",
    ]
    replies = await talk(engine, *turns)
    reminded = [EMERGENCY in text_of(r) and "still here" in text_of(r) for r in replies[1:]]
    assert reminded[: engine.crisis_turns - 1] == [True] * (engine.crisis_turns - 1)
    assert not any(reminded[engine.crisis_turns - 1 :]), reminded


async def test_the_reminder_replaces_the_closing_bubble_so_a_turn_stays_at_three(engine):
    _, reply = await talk(engine, "i want to die", "/sextortion")
    assert reply.messages[0].text.startswith("I'm still here") and len(reply.messages) <= 3
    assert keeps_crisis_numbers(reply) and "Don't pay" in text_of(reply)


# --- Meeting in person ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        "a guy from fortnite says hes picking me up from the park in 15 mins",
        "this older boy i talk to online wants me to come meet him at the station",
    ],
)
@pytest.mark.parametrize("follow_up", ["should i go", "is it ok if i go", "should i go outside to him"])
async def test_meeting_then_should_i_go_is_answered_dont_go(engine, first, follow_up):
    _, reply = await talk(engine, first, follow_up)
    text = text_of(reply)
    assert "don't go" in text and "adult" in text and EMERGENCY in text, text


async def test_meeting_then_hes_here_gets_999_first(engine):
    _, reply = await talk(engine, "a man i met on roblox is coming to get me", "hes here now")
    assert EMERGENCY in reply.messages[0].text


# --- Context for follow-ups -----------------------------------------------------------------------------------


async def test_blackmail_follow_ups_never_reset_the_conversation(engine):
    replies = await talk(
        engine,
        "some guy says hell send my pics to my school unless i pay him",
        "i already told him",
        "thanks",
        "hey",
        "what do i do now",
    )
    for reply in replies[1:]:
        text = text_of(reply)
        assert INTRO not in text and "can't help" not in text, (reply.intent, text)
        assert reply.messages and len(reply.messages) <= 2
    assert "not your fault" in text_of(replies[1])
    assert "don't pay" in text_of(replies[-1]).lower() and "CEOP" in text_of(replies[-1])


async def test_a_greeting_first_still_gets_the_introduction(engine):
    (reply,) = await talk(engine, "hiya")
    assert INTRO in text_of(reply) and len(reply.messages[0].buttons) >= 8


async def test_what_now_with_nothing_to_go_on_gets_999_and_childline(engine):
    (reply,) = await talk(engine, "what do i do now")
    assert EMERGENCY in reply.messages[0].text and CHILDLINE in reply.messages[0].text


# --- No dead ends ---------------------------------------------------------------------------------------------


async def test_not_understood_at_most_once_in_a_row(engine):
    replies = await talk(engine, "/nlu_fallback", "/nlu_fallback", "/nlu_fallback")
    said = ["not sure I understood" in text_of(r) for r in replies]
    assert said == [True, False, False]
    for reply in replies:
        assert CHILDLINE in text_of(reply) and any(m.buttons for m in reply.messages)


async def test_not_understood_in_a_conversation_then_the_menu_and_childline(engine):
    replies = await talk(engine, "/sextortion", "/nlu_fallback", "/nlu_fallback")
    assert "not sure I understood" in text_of(replies[1]) and INTRO not in text_of(replies[1])
    assert "not sure I understood" not in text_of(replies[2])
    assert CHILDLINE in text_of(replies[2]) and len(replies[2].messages[0].buttons) >= 8


@pytest.mark.parametrize("text", ["yes", "nope"])
async def test_yes_or_no_with_nothing_to_answer_gets_the_menu_and_childline(engine, text):
    (reply,) = await talk(engine, text)
    assert CHILDLINE in text_of(reply) and len(reply.messages[0].buttons) >= 8


@pytest.mark.parametrize(
    "command",
    [
        "/restart",
        "/session_start",
        "/back",
        "/action_listen",
        "/action_restart",
        "/action_session_start",
        "/action_default_fallback",
    ],
)
async def test_rasa_commands_typed_by_a_young_person_are_answered(engine, command):
    replies = await talk(engine, "someone keeps asking me for nudes on snap", command, "thanks")
    assert replies[1].by != "button" and replies[1].messages, command
    assert all(m.text for m in replies[1].messages)
    assert INTRO not in text_of(replies[2]), "the conversation was not restarted"


# --- No repeats, shorter turns --------------------------------------------------------------------------------


async def test_a_full_answer_is_given_once_then_a_short_reminder(engine):
    first, again, later = await talk(
        engine, "a boy in year 10 keeps asking me for nudes", "hes still asking me to send pics", "/asked_for_nudes"
    )
    assert first.concern == again.concern == "asked_for_nudes"
    assert again.messages[0].text not in {m.text for m in first.messages}
    assert "anything else" in text_of(again) and words(again) < words(first)
    assert later.messages[0].text == again.messages[0].text


async def test_a_concern_again_after_another_concern_is_still_short(engine):
    replies = await talk(engine, "/sextortion", "/image_shared", "/sextortion")
    assert "anything else" in text_of(replies[2])
    assert replies[2].messages[0].text not in {m.text for m in replies[0].messages}


@pytest.mark.parametrize(
    "intent",
    [
        "asked_for_nudes",
        "sextortion",
        "image_shared",
        "sent_nude_worried",
        "received_nude",
        "unknown_contact",
        "friend_worried",
        "block_report_help",
        "immediate_danger",
        "self_harm",
        "talk_to_someone",
        "privacy_question",
    ],
)
@pytest.mark.parametrize("platform", [None, "snapchat", "discord", "minecraft"])
async def test_every_concern_answer_is_three_bubbles_and_about_a_hundred_words(engine, intent, platform):
    turns = [f"/{intent}"] if platform is None else [f'/inform_platform{{"platform":"{platform}"}}', f"/{intent}"]
    reply = (await talk(engine, *turns))[-1]
    assert 1 <= len(reply.messages) <= 3 and words(reply) <= 110, (len(reply.messages), words(reply))


async def test_an_app_the_bot_does_not_know_gets_general_steps_and_no_list_again(engine):
    first, app = await talk(engine, "someone keeps sending me nasty pics", "its on yubo")
    assert any(len(m.buttons) >= len(PLATFORMS) for m in first.messages), "the first answer asks which app"
    text = text_of(app)
    assert "Report" in text and "block" in text and "Help" in text
    assert not any(b.payload.startswith("/inform_platform") for m in app.messages for b in m.buttons)
    assert "Which app" not in text


async def test_a_known_app_still_gets_its_own_steps(engine):
    _, app = await talk(engine, "someone keeps sending me nasty pics", "its on insta")
    assert "Instagram" in text_of(app)


# --- Failure counts for moderators ----------------------------------------------------------------------------


class FakeStats:
    def __init__(self):
        self.calls = []

    def record(self, concerns=(), platforms=(), outcomes=(), failures=()):
        self.calls.append(
            {
                "concerns": list(concerns),
                "platforms": list(platforms),
                "outcomes": list(outcomes),
                "failures": list(failures),
            }
        )


async def test_failures_are_passed_by_kind_concern_and_turn(engine):
    stats, engine.stats = FakeStats(), None
    try:
        engine.stats = stats
        await talk(engine, "/nlu_fallback", "/sextortion", "/nlu_fallback", "/thanks", "/out_of_scope")
    finally:
        engine.stats = None
    failures = [c["failures"] for c in stats.calls]
    assert failures == [
        [("not_understood", "none", 1)],
        [],
        [("not_understood", "sextortion", 3)],
        [],
        [("cant_help", "sextortion", 5)],
    ]
    for kind, concern, turn in (f for fs in failures for f in fs):
        assert isinstance(kind, str) and isinstance(concern, str) and isinstance(turn, int)


async def test_failure_turns_are_capped_at_ten(engine):
    stats, engine.stats = FakeStats(), None
    try:
        engine.stats = stats
        await talk(engine, *(["/thanks"] * 11 + ["/nlu_fallback"]))
    finally:
        engine.stats = None
    assert stats.calls[-1]["failures"] == [("not_understood", "none", 10)]


async def test_the_context_slots_hold_labels_only(engine, conversation_id):
    for text in ("i want to die zebra-canary-7731", "like 20 zebra-canary-7731", "/sextortion"):
        await engine.reply(conversation_id, text)
    tracker = await engine.tracker_store.retrieve(conversation_id)
    values = {name: tracker.get_slot(name) for name in ("concern", "crisis", "under_way", "answered")}
    assert values["concern"] == "sextortion" and values["crisis"] is True and values["under_way"] is True
    assert all(v is None or isinstance(v, bool) or v in tracker.slots["concern"].values for v in values.values())
    await engine.forget(conversation_id)
    assert await engine.tracker_store.retrieve(conversation_id) is None


# --- A message read in the conversation's context (bot/engine/context.py, in_context) ---------------------------


class Slots:
    """A tracker as in_context reads it: only its slots."""

    def __init__(self, **slots):
        self.slots = slots

    def get_slot(self, name):
        return self.slots.get(name)


def reading(*ranking, safety=None):
    parse = {"intent": {"name": ranking[0][0], "confidence": ranking[0][1]}}
    parse["intent_ranking"] = [{"name": name, "confidence": p} for name, p in ranking]
    if safety:
        parse["safety"] = safety
    return parse


UNDER_WAY = Slots(under_way=True, crisis=False, concern="sextortion")
FOLLOW_UP_SECOND = reading(("sextortion", 0.5), ("ask_my_fault", 0.3), ("greet", 0.2))


def test_in_a_conversation_under_way_a_close_follow_up_question_wins():
    from bot.engine.context import in_context

    read = in_context(FOLLOW_UP_SECOND, UNDER_WAY, "its all on me")
    assert read["intent"] == {"name": "ask_my_fault", "confidence": 0.3}  # the classifier's own probability
    assert read["intent_ranking"] == FOLLOW_UP_SECOND["intent_ranking"]


@pytest.mark.parametrize("tracker", [None, Slots(under_way=False)], ids=["new conversation", "not under way"])
def test_without_a_conversation_under_way_the_reading_stands(tracker):
    from bot.engine.context import in_context

    assert in_context(FOLLOW_UP_SECOND, tracker, "its all on me") is FOLLOW_UP_SECOND


IN_A_CRISIS = Slots(under_way=True, crisis=True, concern="self_harm")


def test_in_a_crisis_the_crisis_own_follow_ups_stand():
    from bot.engine.context import in_context

    playing_down = reading(("crisis_minimise", 0.5), ("ask_is_this_normal", 0.3), ("greet", 0.2))
    assert in_context(playing_down, IN_A_CRISIS, "its not that deep") is playing_down


def test_in_a_crisis_a_plain_concern_reading_is_still_weighed_as_a_follow_up():
    from bot.engine.context import in_context

    read = in_context(FOLLOW_UP_SECOND, IN_A_CRISIS, "its all on me")
    assert read["intent"] == {"name": "ask_my_fault", "confidence": 0.3}


@pytest.mark.parametrize(
    "parse",
    [
        reading(("self_harm", 0.5), ("ask_my_fault", 0.4)),
        reading(("sextortion", 0.5), ("ask_my_fault", 0.4), safety={"label": "self_harm"}),
        reading(("crisis_detail", 0.5), ("ask_in_trouble", 0.4)),
        reading(("sextortion", 0.9), ("ask_my_fault", 0.1)),
        # the follow-up comes first in context, but with under the fallback menu's confidence
        reading(
            ("nlu_fallback", 0.25),
            *[(name, 0.16) for name in ("greet", "thanks", "deny", "affirm")],
            ("goodbye", 0.15),
            ("ask_my_fault", 0.06),
        ),
    ],
    ids=["crisis read", "safety net", "crisis detail", "far behind", "unsure even in context"],
)
def test_a_crisis_or_a_clear_reading_is_never_read_away(parse):
    from bot.engine.context import in_context

    assert in_context(parse, UNDER_WAY, "some words") is parse


ABOUT_A_FRIEND = Slots(under_way=True, crisis=False, concern="friend_worried")


@pytest.mark.parametrize("text", ["a boy keeps asking her for nudes", "shes talking to an older guy on snap"])
def test_in_a_conversation_about_a_friend_the_friends_trouble_is_the_friends_concern(text):
    from bot.engine.context import in_context

    read = in_context(reading(("asked_for_nudes", 0.9), ("friend_worried", 0.05)), ABOUT_A_FRIEND, text)
    assert read["intent"]["name"] == "friend_worried"


@pytest.mark.parametrize("text", ["now hes asking me for pics too", "i think my pic got shared as well"])
def test_in_a_conversation_about_a_friend_the_young_persons_own_trouble_is_theirs(text):
    from bot.engine.context import in_context

    parse = reading(("asked_for_nudes", 0.9), ("friend_worried", 0.05))
    assert in_context(parse, ABOUT_A_FRIEND, text) is parse


async def test_worry_about_a_classmate_then_what_is_happening_to_her_gets_no_app_list(engine):
    first, more = await talk(engine, "im worried about someone in my form", "some lad keeps pushing her to send pics")
    for reply in (first, more):
        assert reply.concern == "friend_worried", reply.intent
        assert "Which app" not in text_of(reply) and CHILDLINE in text_of(reply)
        assert not any(b.payload.startswith("/inform_platform") for m in reply.messages for b in m.buttons)


@pytest.mark.parametrize("app", ["idk which app it was", "none of them its a different one"])
async def test_not_knowing_the_app_or_another_app_gets_general_steps_and_no_list_again(engine, app):
    _, reply = await talk(engine, "a random account keeps sending me dirty pics", app)
    text = text_of(reply)
    assert "Report" in text and "block" in text and "Which app" not in text, (reply.intent, text)
    assert not any(b.payload.startswith("/inform_platform") for m in reply.messages for b in m.buttons)


# --- The young person's own trouble, "is that anonymous", an app already named, abroad, another language ---------


@pytest.mark.parametrize(
    "text",
    ["shes saying shell send my pics round", "he keeps threatening to show all my mates", "they posted my video"],
)
def test_a_friends_reading_of_their_own_pictures_or_threats_is_their_own(text):
    from bot.engine.context import own_trouble

    parse = reading(("friend_worried", 0.6), ("sextortion", 0.3), ("friend_at_risk", 0.1))
    assert own_trouble(parse, text)["intent"] == {"name": "sextortion", "confidence": 0.3}


@pytest.mark.parametrize("text", ["someone is sharing my friends pics", "my mate sent her nudes to a stranger"])
def test_a_friends_pictures_stay_the_friends(text):
    from bot.engine.context import own_trouble

    parse = reading(("friend_worried", 0.6), ("image_shared", 0.3))
    assert own_trouble(parse, text) is parse


def test_is_that_anonymous_in_a_conversation_is_about_the_reporting():
    from bot.engine.context import in_context

    parse = reading(("privacy_question", 0.7), ("ask_report_anonymous", 0.2))
    assert in_context(parse, UNDER_WAY, "would that be anonymous")["intent"]["name"] == "ask_report_anonymous"
    assert in_context(parse, UNDER_WAY, "is this chat anonymous") is parse  # about the bot
    assert in_context(parse, Slots(under_way=False), "would that be anonymous") is parse


@pytest.mark.parametrize(
    "turns",
    [
        ("a boy on yubo keeps asking me for nudes", "how do i report him"),
        ("some man keeps messaging me asking where i live", "its an app called zepeto", "how do i block him then"),
    ],
    ids=["named first", "named after which app"],
)
async def test_an_app_already_named_is_never_asked_about_again(engine, turns):
    replies = await talk(engine, *turns)
    for reply in replies[1 if "zepeto" in turns[1] else 0 :]:
        text = text_of(reply)
        assert "Which app" not in text and CHILDLINE in text, (reply.intent, text)
        assert not any(b.payload.startswith("/inform_platform") for m in reply.messages for b in m.buttons)
    assert "Report" in text_of(replies[-1])


async def test_outside_the_uk_the_ways_to_get_help_are_for_where_they_are(engine):
    _, abroad, text = await talk(
        engine, "someone shared a nude of me on a group chat", "im not in the uk i live in dublin", "can i message them"
    )
    assert "Take It Down" in text_of(abroad), text_of(abroad)
    assert VALUES["ispcc_childline_text"] in text_of(text), (text.intent, text_of(text))


async def test_crisis_words_in_another_language_get_999_first_and_that_the_bot_reads_english(engine):
    (reply,) = await talk(engine, "chcę umrzeć")
    assert reply.by == "safety" and EMERGENCY in reply.messages[0].text + reply.messages[1].text
    assert "English" in reply.messages[-1].text and len(reply.messages) <= 3


@pytest.mark.parametrize(
    "intent,concern,read_as",
    [
        ("ask_already_sent", "sextortion", "ask_already_paid"),
        ("ask_already_paid", "asked_for_nudes", "ask_already_sent"),
        ("ask_already_paid", "sextortion", "ask_already_paid"),
        ("ask_already_sent", "sent_nude_worried", "ask_already_sent"),
    ],
)
def test_already_sent_one_is_money_in_blackmail_and_a_picture_otherwise(intent, concern, read_as):
    from bot.engine.context import in_context

    parse = reading((intent, 0.6), ("greet", 0.4))
    assert in_context(parse, Slots(under_way=True, crisis=False, concern=concern), "i sent one already")["intent"] == {
        "name": read_as,
        "confidence": 0.6,
    }


def test_an_unread_message_naming_an_app_is_about_the_app():
    from bot.engine.context import in_context

    parse = {**reading(("nlu_fallback", 0.25), ("greet", 0.2)), "entities": [{"entity": "platform", "value": "other"}]}
    assert in_context(parse, UNDER_WAY, "its that wizz one")["intent"]["name"] == "inform_platform"
