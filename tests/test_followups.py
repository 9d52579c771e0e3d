"""Follow-up questions in conversation: every ask_* intent, asked after a concern has set the scene.

A young person rarely opens with "what is CEOP?": they tell the bot what is happening first, read its answer, and
then ask what they still need to know. Each case below is one such conversation in a fresh chat: a first message
that sets a (never crisis) context, then the follow-up question typed the way a 12 to 15 year old types it, in
words written for this file (not lines of nlu/: ``test_no_follow_up_is_a_training_line_or_a_light_rewording``).

The follow-up turn is judged on what it does, not on its exact wording elsewhere: among its bubbles is that
question's own answer (the response in responses/followups_*.yml, rendered the way the bot renders it, with the
values from responses/services.yml; one of its variations where the words depend on the context), it gives
Childline's number, and it is not the fallback ("Sorry, I can't help", "I'm not sure I understood").
"""

import re
from typing import Dict, List, NamedTuple, Set

import pytest
import yaml
from rasa.core.nlg.interpolator import interpolate_text

from bot.concerns import CRISIS, OTHER_INTENTS
from bot.service_numbers import placeholders
from bot.settings import NLU_DIR, RESPONSES_DIR

FOLLOW_UP_INTENTS = sorted(intent for intent in OTHER_INTENTS if intent.startswith("ask_"))
FALLBACK_WORDS = ("Sorry, I can't help", "I'm not sure I understood")
MIN_CONTEXTS = 2
# A follow-up must differ from the closest training line by more than "a word or two" (words added, dropped or
# changed).
MIN_WORD_EDITS = 3


class Context(NamedTuple):
    concern: str  # what the first message is about (asserted in test_every_context_is_read_as_its_concern)
    text: str


# The first messages: what a young person says before the follow-up. None of them is a crisis.
SEXTORTION_MONEY = Context(
    "sextortion",
    "this guy i was chatting to on insta has a pic of me and says hell send it to my whole school unless i pay him",
)
SEXTORTION_SNAP = Context("sextortion", "someone on snap is blackmailing me with my nudes and wants money off me")
SHARED_GROUP_CHAT = Context("image_shared", "my ex sent a nude of me to the year 9 group chat")
SHARED_POSTED = Context("image_shared", "someone put a pic of me with no top on up on a tiktok account")
SENT_REGRET = Context("sent_nude_worried", "i sent a nude to a boy i liked and now i really wish i hadnt")
SENT_OLDER = Context("sent_nude_worried", "i sent a naked pic of myself to someone last night and im freaking out")
RECEIVED_STRANGER = Context("received_nude", "some random account just sent me a pic of his private parts on snapchat")
RECEIVED_CLASSMATE = Context("received_nude", "a boy in my year sent me a nude of himself without me asking")
UNKNOWN_ROBLOX = Context(
    "unknown_contact", "an older man keeps messaging me on roblox saying im really mature for my age"
)
UNKNOWN_DISCORD = Context(
    "unknown_contact",
    "someone i dont know on discord says hes 15 but he sounds way older and keeps asking where i live",
)
ASKED_BOYFRIEND = Context("asked_for_nudes", "my boyfriend keeps begging me to send him nudes")
ASKED_CLASSMATE = Context("asked_for_nudes", "a lad in my class keeps asking me for pics on snap")
FRIEND_OLDER_GUY = Context(
    "friend_worried", "im worried about my friend, shes been sending pics to an older guy online"
)
FRIEND_SENT_NUDES = Context(
    "friend_worried", "my best mate sent nudes to someone and now everyones talking about it and im worried about him"
)
TALK = Context("talk_to_someone", "i think i need to talk to someone about whats been going on")
REPORT_INSTA = Context("block_report_help", "how do i report someone on instagram")
BLOCK_SNAP = Context("block_report_help", "how do you block people on snapchat")
CONTEXTS = [value for name, value in dict(globals()).items() if isinstance(value, Context)]


class Case(NamedTuple):
    intent: str
    context: Context
    follow_up: str


CASES = [
    # --- getting help (nlu/followups/help.yml) ---
    Case("ask_childline_tell_parents", SENT_REGRET, "if i ring childline are they gonna tell my mum and dad"),
    Case("ask_childline_tell_parents", SEXTORTION_SNAP, "would childline go to my parents about any of this"),
    Case("ask_give_name", TALK, "do childline make u tell them ur name"),
    Case("ask_give_name", SEXTORTION_MONEY, "will i have to give them my real name if i call"),
    Case("ask_is_it_free", TALK, "does ringing them cost anything"),
    Case("ask_is_it_free", FRIEND_OLDER_GUY, "will calling that number use up my credit"),
    Case("ask_cant_talk", TALK, "i really dont want to speak to anyone on the phone, is there another way"),
    Case("ask_cant_talk", SENT_REGRET, "i cant call cos my family would hear me, can i type to them instead"),
    Case("ask_what_happens_childline", TALK, "whats it actually like when you ring them"),
    Case("ask_what_happens_childline", SEXTORTION_SNAP, "who do i end up talking to if i phone childline"),
    Case("ask_how_to_tell", SENT_REGRET, "how am i meant to tell my mum about this"),
    Case("ask_how_to_tell", SEXTORTION_MONEY, "i need to tell my dad but i have no idea how to say it"),
    Case("ask_not_uk", TALK, "we live in portugal so are those numbers any use to me"),
    Case("ask_not_uk", SEXTORTION_SNAP, "im in the netherlands does childline work here"),
    Case("ask_in_trouble", SENT_REGRET, "is sending it something the police could arrest me for"),
    Case("ask_in_trouble", SENT_OLDER, "am i gonna get in trouble with the police because i sent it"),
    Case("ask_friend_in_trouble", FRIEND_OLDER_GUY, "if i tell someone will my friend end up in trouble"),
    Case("ask_friend_in_trouble", FRIEND_SENT_NUDES, "but if i tell a teacher will he get done for it"),
    Case("ask_my_fault", SENT_REGRET, "its my own fault for sending it isnt it"),
    Case("ask_my_fault", SEXTORTION_SNAP, "i feel like i caused all this myself"),
    Case("ask_trusted_adult_who", SEXTORTION_MONEY, "there isnt a single adult i feel ok telling"),
    Case("ask_trusted_adult_who", UNKNOWN_ROBLOX, "who even counts as a safe adult to talk to"),
    Case("ask_parents_angry", SENT_REGRET, "my mum is going to be so mad at me when she finds out"),
    Case("ask_parents_angry", SEXTORTION_MONEY, "if my dad finds out hell go absolutely mental at me"),
    Case("ask_can_you_help_more", SEXTORTION_SNAP, "can you report them to the police for me"),
    Case("ask_can_you_help_more", UNKNOWN_ROBLOX, "are you able to get his account deleted for me"),
    Case("ask_is_this_normal", ASKED_BOYFRIEND, "do all boyfriends ask for stuff like that"),
    Case("ask_is_this_normal", ASKED_CLASSMATE, "is that just a normal thing at my age"),
    Case("ask_what_is_grooming", UNKNOWN_ROBLOX, "is that what people mean by grooming"),
    Case("ask_what_is_grooming", FRIEND_OLDER_GUY, "what does it mean if someone is grooming you"),
    Case("ask_keep_secret", UNKNOWN_ROBLOX, "he keeps saying i mustnt tell anyone about our chats"),
    Case("ask_keep_secret", UNKNOWN_DISCORD, "and he says our chats have to stay just between me and him"),
    # --- blackmail, reporting and take-down (nlu/followups/reports.yml) ---
    Case("ask_should_pay", SEXTORTION_MONEY, "would paying him make him delete it"),
    Case("ask_should_pay", SEXTORTION_SNAP, "is it worth just paying them so they leave me alone"),
    Case("ask_send_more", SEXTORTION_MONEY, "should i just send one so he stops"),
    Case("ask_send_more", SEXTORTION_SNAP, "what if i give them another pic, would they leave it then"),
    Case("ask_already_paid", SEXTORTION_MONEY, "i already sent him £30 and now hes asking for more"),
    Case("ask_already_paid", SEXTORTION_SNAP, "ive paid them once already and they still want more"),
    Case("ask_deadline", SEXTORTION_MONEY, "he says i have till 9 tonight"),
    Case("ask_deadline", SEXTORTION_SNAP, "they gave me two hours to send the money"),
    Case("ask_block_still_post", SEXTORTION_MONEY, "if i block him will he just post it anyway"),
    Case("ask_block_still_post", SEXTORTION_SNAP, "can they still share my pic after ive blocked them"),
    Case("ask_already_posted", SEXTORTION_SNAP, "hes gone and posted it on his account already"),
    Case("ask_already_posted", SHARED_GROUP_CHAT, "loads of people have already seen it and shared it, is it too late"),
    Case("ask_report_remove_how", SHARED_GROUP_CHAT, "what does report remove actually do"),
    Case("ask_report_remove_how", SHARED_POSTED, "can report remove get my pic off tiktok"),
    Case("ask_report_remove_id", SHARED_GROUP_CHAT, "do i have to show them id for it im 13"),
    Case("ask_report_remove_id", SHARED_POSTED, "i havent got a passport or anything, can i still use report remove"),
    Case("ask_report_remove_time", SHARED_GROUP_CHAT, "how long does report remove take to get it down"),
    Case("ask_report_remove_time", SHARED_POSTED, "how soon will it actually be gone after i report it"),
    Case("ask_take_it_down", SHARED_GROUP_CHAT, "take it down?? never heard of it, what is that"),
    Case("ask_take_it_down", SHARED_POSTED, "i live in spain can i still get the pic removed"),
    Case("ask_screenshot", RECEIVED_STRANGER, "should i screenshot it so my mum can see"),
    Case("ask_screenshot", RECEIVED_CLASSMATE, "can i send it to my teacher so they believe me"),
    Case("ask_illegal_to_have", RECEIVED_STRANGER, "is it illegal that its still on my phone"),
    Case("ask_illegal_to_have", RECEIVED_CLASSMATE, "am i breaking the law if it stays in my gallery"),
    Case("ask_send_picture", RECEIVED_STRANGER, "do you want me to send you the pic he sent"),
    Case("ask_send_picture", SHARED_GROUP_CHAT, "can i send you the photo so you know what it looks like"),
    Case("ask_what_is_ceop", SEXTORTION_MONEY, "whats this ceop you mentioned"),
    Case("ask_what_is_ceop", UNKNOWN_ROBLOX, "who are ceop and what do they even do"),
    Case("ask_will_they_know", REPORT_INSTA, "will they get told that i reported them"),
    Case("ask_will_they_know", BLOCK_SNAP, "if i block him will he see that it was me"),
    Case("ask_evidence", SEXTORTION_SNAP, "what should i hang on to as proof"),
    Case("ask_evidence", UNKNOWN_ROBLOX, "what stuff should i save before reporting him"),
    Case("ask_report_anonymous", REPORT_INSTA, "can i keep my name out of it if i report"),
    Case("ask_report_anonymous", SHARED_POSTED, "is there a way to report it without my name going on it"),
    Case("ask_fake_or_hacked", REPORT_INSTA, "someone has made an account that pretends to be me"),
    Case("ask_fake_or_hacked", SEXTORTION_SNAP, "they hacked into my snap and are messaging all my friends"),
    Case("ask_delete_messages", SEXTORTION_MONEY, "should i just delete all the chats with him"),
    Case("ask_delete_messages", UNKNOWN_ROBLOX, "can i delete my account so he goes away"),
    Case("ask_should_meet", UNKNOWN_ROBLOX, "he wants to meet me at the shops on saturday, should i go"),
    Case("ask_should_meet", UNKNOWN_DISCORD, "he wants to meet up in town is that ok"),
    Case("ask_what_to_say_no", ASKED_BOYFRIEND, "what do i actually say to him to say no"),
    Case("ask_what_to_say_no", ASKED_CLASSMATE, "how do i turn him down without him getting in a mood with me"),
    # --- more follow-ups (nlu/followups/next.yml) ---
    Case("ask_already_sent", ASKED_BOYFRIEND, "the thing is ive sent him a couple before"),
    Case("ask_already_sent", ASKED_CLASSMATE, "i sent him one last year though, does that change anything"),
    Case("ask_police_visit", SENT_REGRET, "are the police going to come knocking at my house"),
    Case("ask_police_visit", SHARED_POSTED, "if i use that will an officer come round to see me"),
    Case("ask_saved_copies", SHARED_GROUP_CHAT, "half my year probably saved it on their phones"),
    Case("ask_saved_copies", SHARED_POSTED, "can it get wiped from the phones of people who downloaded it"),
    Case("ask_make_them_delete", SENT_REGRET, "how can i get him to get rid of the pic i sent"),
    Case("ask_make_them_delete", SENT_OLDER, "what do i do to make sure she deletes it"),
    Case("ask_not_believed", TALK, "im scared nobody will ever believe what happened"),
    Case("ask_not_believed", SEXTORTION_SNAP, "what if my parents think im lying about it"),
    Case("ask_pressure_love", ASKED_BOYFRIEND, "he keeps saying id send one if i actually loved him"),
    Case("ask_pressure_love", ASKED_CLASSMATE, "he says im frigid and boring for not doing it"),
    Case("ask_talk_to_you", TALK, "would you be able to chat with me for a while"),
    Case("ask_talk_to_you", SEXTORTION_SNAP, "i dont want childline i want to talk to you"),
    # --- and more (nlu/followups/more.yml) ---
    Case("ask_contact_again", UNKNOWN_DISCORD, "blocked him and now a new account messages me, its obviously him"),
    Case("ask_contact_again", SEXTORTION_SNAP, "they just came back on a brand new snap account"),
    Case("ask_seems_nice", UNKNOWN_ROBLOX, "but honestly he is one of the nicest people ive met"),
    Case("ask_seems_nice", ASKED_BOYFRIEND, "hes not a bad guy though, he is really sweet to me"),
    Case("ask_them_in_trouble", SEXTORTION_MONEY, "if i report him could he end up in prison"),
    Case("ask_them_in_trouble", RECEIVED_CLASSMATE, "i dont want to get that boy into trouble with the police"),
    Case("ask_are_they_real", UNKNOWN_DISCORD, "how can i find out if he is lying about being 15"),
    Case("ask_are_they_real", SEXTORTION_SNAP, "i reckon its not even a real teenager behind the account"),
    Case("ask_disappears", SENT_REGRET, "it was a snap though so surely it vanished after he opened it"),
    Case("ask_disappears", SENT_OLDER, "i put it on view once so it should be gone by now"),
    Case("ask_age_law", ASKED_CLASSMATE, "we are the same age so is it actually illegal"),
    Case("ask_age_law", ASKED_BOYFRIEND, "he is only 16 so that is not against the law is it"),
    Case("ask_what_is_shout", TALK, "you mentioned shout, what even is that"),
    Case("ask_what_is_shout", SENT_REGRET, "sorry who or what is shout exactly"),
    Case("ask_find_me", UNKNOWN_DISCORD, "is there any way he could work out my address"),
    Case("ask_find_me", SEXTORTION_MONEY, "could he find my house from stuff ive posted"),
    Case("ask_is_it_abuse", FRIEND_OLDER_GUY, "is what that guy is doing to her abuse then"),
    Case("ask_is_it_abuse", ASKED_BOYFRIEND, "can it count as abuse when its your own boyfriend"),
    Case("ask_want_to_send", ASKED_BOYFRIEND, "tbh no one is forcing me, i sort of want to send him something"),
    Case("ask_want_to_send", ASKED_CLASSMATE, "what if i actually do want to send him a photo"),
]


def _case_id(case: Case) -> str:
    context = next(name for name, value in globals().items() if value is case.context and name.isupper())
    return f"{case.intent}-after-{context.lower()}"


def follow_up_answers() -> Dict[str, Set[str]]:
    """Each ask_* intent's answers (utter_<intent>), rendered as the bot renders them: one, or one for each
    context its words depend on (a conditional variation, chosen by a slot)."""
    values = placeholders()
    answers = {}
    for path in sorted(RESPONSES_DIR.glob("followups_*.yml")):
        responses = yaml.safe_load(path.read_text(encoding="utf-8"))["responses"]
        for name, variations in responses.items():
            if name.startswith("utter_ask_"):
                answers[name[len("utter_") :]] = {interpolate_text(v["text"], values) for v in variations}
    return answers


ANSWERS = follow_up_answers()


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text).lower().split())


def training_lines() -> List[str]:
    lines = []
    for path in NLU_DIR.rglob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    lines.append(_normalise(line.strip()[2:]))
    return lines


def word_edits(a: List[str], b: List[str]) -> int:
    """The fewest words added, dropped or changed to turn `a` into `b`."""
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def _said(reply) -> str:
    return "\n".join(f"  [{m.text}]" for m in reply.messages)


# --- the table itself ---


def test_every_follow_up_intent_is_tested_in_at_least_two_contexts():
    contexts: Dict[str, set] = {intent: set() for intent in FOLLOW_UP_INTENTS}
    for case in CASES:
        assert case.intent in contexts, f"{case.intent} is not an ask_* intent of OTHER_INTENTS"
        contexts[case.intent].add(case.context)
    assert len(FOLLOW_UP_INTENTS) >= 36
    too_few = {intent: len(found) for intent, found in contexts.items() if len(found) < MIN_CONTEXTS}
    assert too_few == {}, f"follow-up intents tested in fewer than {MIN_CONTEXTS} different contexts: {too_few}"


def test_every_follow_up_intent_has_an_answer():
    assert set(ANSWERS) == set(FOLLOW_UP_INTENTS)


def test_no_context_is_a_crisis():
    assert [context for context in CONTEXTS if context.concern in CRISIS] == []


def test_no_follow_up_is_a_training_line_or_a_light_rewording():
    lines = training_lines()
    trained = set(lines)
    problems = []
    for case in CASES:
        mine = _normalise(case.follow_up)
        assert mine not in trained, f"{case.follow_up!r} is a training line"
        words = mine.split()
        closest = min(lines, key=lambda line: word_edits(words, line.split()))
        edits = word_edits(words, closest.split())
        if edits < MIN_WORD_EDITS:
            problems.append(f"{case.follow_up!r} is {edits} word(s) from the training line {closest!r}")
    assert problems == []


def test_the_follow_ups_are_all_different():
    follow_ups = [_normalise(case.follow_up) for case in CASES]
    assert len(follow_ups) == len(set(follow_ups))


# --- the conversations ---


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda c: c.text[:40])
async def test_every_context_is_read_as_its_concern(engine, conversation_id, context):
    reply = await engine.reply(conversation_id, context.text)
    assert reply.concern == context.concern, f"read as {reply.intent}:\n{_said(reply)}"


# Natural questions the model still misreads (issue 13 is open): each must fail until it is fixed, then this list
# shrinks (strict). Measured 2026-12-01: 60 of 72 cases answered with the right follow-up; 2026-12-02, with more
# follow-up phrasings and follow-ups read in context (bot/engine/context.py): 72 of 74; later that day, with the
# follow-ups of nlu/followups/next.yml, more phrasings and the scaled classifier (config.yml): 85 of 88. "Who are
# ceop and what do they even do" reads as what happens at Childline, getting him to "get rid of the pic I sent" as
# the first worry (sent_nude_worried), and "I'd send one if I actually loved him" as the request (asked_for_nudes);
# 2026-12-02 (conv3), with more phrasings of those three and the follow-ups of nlu/followups/more.yml: all 110.
MISREAD: set = set()


def _cases():
    for case in CASES:
        if _case_id(case) in MISREAD:
            yield pytest.param(case, marks=pytest.mark.xfail(strict=True, reason="misread by the model (issue 13)"))
        else:
            yield case


# A way to Childline (its number or its chat), or, for a young person outside the UK, their own child helpline.
HELPLINES = tuple(
    placeholders()[key]
    for key in ("childline_phone", "childline_web", "ispcc_childline_phone", "child_helpline_international_web")
)


@pytest.mark.parametrize("case", list(_cases()), ids=_case_id)
async def test_a_follow_up_after_a_concern_gets_its_answer(engine, conversation_id, case):
    first = await engine.reply(conversation_id, case.context.text)
    assert first.concern not in CRISIS, f"the context was read as a crisis ({first.intent})"
    reply = await engine.reply(conversation_id, case.follow_up)
    bubbles = [m.text for m in reply.messages]
    said = " ".join(bubbles)
    explain = f"{case.follow_up!r} was read as {reply.intent} ({reply.confidence}, {reply.by}); the bot said:\n"
    explain += _said(reply)
    assert ANSWERS[case.intent] & set(bubbles), explain
    assert any(way in said for way in HELPLINES), explain
    assert not any(words in said for words in FALLBACK_WORDS), explain
