"""Long messages through the engine (bot/long_messages.py wired into Engine._parse), on the trained model.

Every message here was written for this file, in the style of a young person telling a story.
"""

import pytest

from bot.concerns import CRISIS

CONTEXT = (
    "sorry this is really long but i dont know who else to ask. school has been ok i guess and me and my mates "
    "mostly just play games after school and talk on snap about normal stuff."
)
CRISES = {
    "self_harm": "last night i took a load of my mums tablets because i want to die.",
    "immediate_danger": "the man i met online is outside my house right now and i am scared.",
}
ENDING = "i havent told anyone about any of this. what should i do?"


@pytest.mark.parametrize("concern", sorted(CRISES))
@pytest.mark.parametrize("where", ["start", "middle", "end"])
async def test_a_crisis_in_any_sentence_of_a_long_message_gets_the_crisis_answer(
    engine, conversation_id, concern, where
):
    crisis = CRISES[concern]
    parts = {"start": [crisis, CONTEXT, ENDING], "middle": [CONTEXT, crisis, ENDING], "end": [CONTEXT, ENDING, crisis]}
    text = " ".join(parts[where])
    reply = await engine.reply(conversation_id, text)
    assert reply.concern in CRISIS
    said = " ".join(m.text for m in reply.messages)
    assert "999" in said and "0800 1111" in said


async def test_the_threat_in_the_middle_of_a_story_is_answered(engine, conversation_id):
    text = (
        "hi. i met this boy on a game over the summer and we got on really well and talked every day about "
        "music and school and our families. i trusted him so i sent him a picture of me in my underwear. "
        "now he says he will send it to everyone in my year unless i pay him fifty pounds by tonight. "
        "i dont know what to do and i cant tell my mum"
    )
    result = await engine.classify(text)
    assert result["concern"] == "sextortion"


async def test_a_second_concern_is_offered_as_a_button_on_the_last_bubble(engine, conversation_id):
    text = (
        "so a picture of me that i only ever sent to my ex has been put in our year group chat and everyone has "
        "seen it. and now one of his mates keeps messaging me on snap saying he will send it to my parents too "
        "unless i send him more pictures. what do i do"
    )
    reply = await engine.reply(conversation_id, text)
    assert {reply.concern, reply.also} == {"sextortion", "image_shared"}
    titles = {"image_shared": "Also: A pic of me got shared", "sextortion": "Also: Someone is threatening me"}
    last = reply.messages[-1].buttons
    assert last[-1].title == titles[reply.also] and last[-1].payload == f"/{reply.also}"
    assert sum(b.title.startswith("Also:") for m in reply.messages for b in m.buttons) == 1
    pressed = await engine.reply(conversation_id, last[-1].payload)
    assert pressed.by == "button" and pressed.concern == reply.also


async def test_a_reply_with_also_crosses_the_process_pipe(engine, conversation_id):
    from bot.replies import Reply

    text = (
        "someone put a photo of me in the group chat for our year and everyone has seen it. now his mate says "
        "he will send it to my mum unless i send him more. please help me"
    )
    reply = await engine.reply(conversation_id, text)
    assert Reply.from_dict(reply.to_dict()) == reply


async def test_short_messages_are_read_exactly_as_before(engine):
    text = "someone keeps asking me for nudes on snap"
    engine.read_long_messages = False
    try:
        before = await engine._parse(text)
    finally:
        engine.read_long_messages = True
    assert await engine._parse(text) == before
    assert "long_message" not in before


async def test_the_conversation_keeps_no_sentence_of_a_long_message(engine, conversation_id):
    text = (
        "my brother keeps going on my laptop without asking. also a boy from another school keeps asking me to "
        "send him pics of me in the shower and says everyone does it. what do i say to him"
    )
    await engine.reply(conversation_id, text)
    tracker = await engine.tracker_store.retrieve(conversation_id)
    stored = repr([e.as_dict() for e in tracker.events])
    assert "laptop" not in stored and "shower" not in stored


async def test_every_piece_is_read_in_one_batch_and_the_note_holds_no_text(engine):
    text = (
        "i sent a nude to a girl i met on insta and it turns out it was a man. now he says he will post it "
        "everywhere unless i send him money. i am so scared and i feel sick all the time. what do i do"
    )
    parse = await engine._parse(text)
    note = parse["long_message"]
    assert set(note) == {"pieces", "chosen", "also"} and note["pieces"] >= 3
    assert parse["intent"]["name"] is not None


async def test_a_story_of_being_asked_that_ends_in_a_threat_is_answered_as_the_threat(engine, conversation_id):
    text = (
        "so i started talking to this girl on a game in the holidays and we got really close. after a couple of "
        "weeks it got flirty and she kept asking me for a picture. i sent her one in the end. now she has messaged "
        "saying she will send it to my whole family unless i pay her by friday."
    )
    reply = await engine.reply(conversation_id, text)
    # The threat answers. Whether the request is also offered depends on how sure the model is of the whole story
    # (the merged model reads it all as the threat); the rule itself is tested in tests/unit/test_long_messages.py.
    assert reply.concern == "sextortion" and reply.also in (None, "asked_for_nudes")
    assert "pay" in " ".join(m.text for m in reply.messages).lower()


@pytest.mark.parametrize(
    "text, concern",
    [
        (
            "hi, i'm in year 9 and things at home are ok and school is fine mostly. my mum is strict about my phone. "
            "there is a man i met online who is 24 and says he loves me and wants us to keep it secret. i can't tell "
            "my parents because they would take my phone.",
            "unknown_contact",
        ),
        (
            "my exams are next month and my teachers keep saying how much they matter. my mum and dad want me to "
            "get into the good sixth form. we argue about revision every night and i feel stressed. how do i get "
            "through it?",
            "out_of_scope",
        ),
    ],
)
async def test_a_story_with_parents_and_school_in_it_is_not_read_as_a_privacy_question(engine, text, concern):
    assert (await engine.classify(text))["concern"] == concern
