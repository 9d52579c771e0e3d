"""The engine's part of a conversation's memory (the slots in responses/domain.yml): labels only, no text.

Rasa sets `concern`, `under_way` and `crisis` itself, from the intent (slot mappings). Two things need the whole
conversation, which a rule cannot see, so they are worked out here from the tracker's intents and actions and added
as SlotSet events before the message, where the rules read them:
- `answered`: this message's concern already had its full answer in this conversation (nlu/rules.yml then gives
  its key steps instead of the whole answer again);
- `crisis` off: the last `crisis_turns` messages, this one included, were all about other concerns since the last
  crisis answer (the young person has moved on).
Both are in the prediction cache's key, like every slot that influences the conversation. While a crisis is on,
every answer shows 999 and Childline (`bot/engine/turn_messages.py`).

A message is also read in context (`in_context`): once a concern has been answered, what comes next is far more
often a question about it ("is it my fault", "what is CEOP") than a new disclosure, yet the classifier reads each
message alone and the wording of a follow-up is full of the concern's own words. So in a conversation under way
the follow-up questions' probabilities get a prior weight before the reading is chosen.
"""

import re
from typing import Any, Dict, List

from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from bot.concerns import CONCERNS, CRISIS, OTHER_INTENTS, concern_for
from bot.engine.counting import CRISIS_RESPONSES
from bot.engine.events import actions, session, split_turns

# Concerns whose full answer is given once per conversation; asked again, the rules give their key steps.
# (the concerns with steps to take: every concern but the crises, small talk and the questions about the bot itself)
REPEATABLE = frozenset(CONCERNS) - CRISIS - {"talk_to_someone", "privacy_question", "greet", "out_of_scope"}
# A message about one of these concerns moves the conversation on from a crisis (follow-ups that belong to a crisis
# never do, whatever concern they count as).
MOVING_ON = frozenset(CONCERNS) - CRISIS - {"greet", "out_of_scope", "talk_to_someone"}
CRISIS_FOLLOWUPS = frozenset(
    {"safe_now", "crisis_detail", "crisis_minimise", "refuse_call", "what_now", "already_did", "should_i_go"}
)
# The follow-up questions (nlu/followups/), weighted up in a conversation under way (`in_context`).
FOLLOW_UPS = frozenset(intent for intent in OTHER_INTENTS if intent.startswith("ask_"))
# How much likelier a follow-up question is once a concern has been answered than on its own: the classifier's
# probability of each is multiplied by this, then all are scaled to add up to 1 again.
FOLLOW_UP_PRIOR = 3.0
# Readings that context never changes, besides every crisis: a crisis detail ("like 20", "paracetamol") and
# meeting someone ("should i go") are answered with 999 whatever came before. (Outside a crisis, "I don't want
# to call" is as much a follow-up as "is there another way than calling", so refuse_call may give way.)
KEPT = frozenset({"crisis_detail", "should_i_go"})
# In a conversation about a friend, what is happening to the friend ("a boy keeps asking her for nudes") reads as
# the concern itself, whose answer speaks to the young person ("you can say no") and asks which app. Such a message,
# with no word for the young person themself, is about the friend: it gets the friend's answer again.
FRIENDS_CONCERNS = frozenset(
    {"asked_for_nudes", "sextortion", "image_shared", "sent_nude_worried", "received_nude", "unknown_contact"}
)
FIRST_PERSON = re.compile(r"\b(i|im|i'm|ive|i've|id|i'd|ill|i'll|me|my|mine|myself|we|us|our)\b", re.IGNORECASE)
# The steps without an app end "Which app is it on?" (responses/platforms.yml): what comes next answers that
# question ("none of them", "idk which"), so it is not weighed as a follow-up question, and an answer the model
# can't read is an app it doesn't know: the general steps (inform_platform without an app), never the menu again.
ASKS_WHICH_APP = "utter_block_report_steps"
# There, "none of them" read as a crisis detail ("all of them", "like 20") by the model alone (no safety rule fired,
# no crisis on) is an answer about the app too.
ANSWERS_WHICH_APP = frozenset({"nlu_fallback", "crisis_detail"})
# A short answer there ("zepeto", "its wizz") that the model reads only weakly as small talk is an app it doesn't
# know too (a clear "yes", "no" or "idk what u mean" keeps its reading).
WEAK_APP_ANSWER = frozenset({"affirm", "deny", "out_of_scope", "greet", "thanks"})
WEAK_CONFIDENCE = 0.6
SHORT_ANSWER_WORDS = 3
APP_ANSWER_WORDS = 5  # "its called zepeto i think"; "he hasnt asked i just want to" is about something else
# A reading in context stands only at the fallback menu's confidence or above (FallbackClassifier, config.yml).
FALLBACK_CONFIDENCE = 0.25
# The young person's own pictures ("my pics", "my nudes"), or a threat to show them to their friends or family
# ("he'll show my friends", "he's messaging my friends"), read as worry about a friend because of the word
# "friends": the trouble is their own. (A friend's pictures, "my friends pics", are the friend's.)
PICTURE = r"(?:pics?|photos?|pictures?|nudes?|vids?|videos?|images?)"
TELLING = r"(?:show|send|sent|post|share|leak|spread|messag|text|dm|contact|add)"
OWN_TROUBLE = re.compile(
    rf"\bmy (?:own )?{PICTURE}\b"
    rf"|\b{TELLING}\w*\b(?:\W+\w+){{0,5}}?\W+(?:to )?(?:all )?my "
    rf"(?:friends|mates|family|school|mum|dad|parents)\b(?!'?s?\s+{PICTURE})",
    re.IGNORECASE,
)
# "Is that anonymous?" in a conversation under way asks about the reporting the bot just described, not about the
# bot, unless it names the bot or this chat (privacy_question's answer is about what the bot keeps).
ANONYMOUS = re.compile(r"\banon(?:ymous|ymously)?\b", re.IGNORECASE)
ABOUT_THE_BOT = re.compile(r"\b(?:this|here|you|u|chat|bot|signpost|saved?|stored?|keep)\b", re.IGNORECASE)
TO_THE_BOT = re.compile(r"\b(?:are|r)\s+(?:you|u)\b|\b(?:you're|youre|ur)\s+(?:a\s+)?real\b|\bbot\b", re.IGNORECASE)
# Likewise "is CEOP anonymous", "will my mum find out if I go to CEOP" ask about CEOP, and "will the school find out"
# about who gets told (Childline's confidentiality), in a crisis too: (words all found, the follow-up it asks).
CEOP = re.compile(r"\bceop\b", re.IGNORECASE)
FIND_OUT = re.compile(r"\b(?:find(?:s|ing)? out|found out|know|tell|told|see)\b", re.IGNORECASE)
WHO = re.compile(r"\b(?:mum|mom|mam|dad|parents?|school|teachers?|family|carers?)\b", re.IGNORECASE)
ABOUT_SERVICES = (
    ((CEOP,), "ask_what_is_ceop"),
    ((ANONYMOUS,), "ask_report_anonymous"),
    ((FIND_OUT, WHO), "ask_childline_tell_parents"),
)
# "I already sent him one" is money to a blackmailer (ask_already_paid: don't pay more) and a picture to someone
# asking for them (ask_already_sent: you can still say no): either is read as the one that fits the conversation.
ALREADY_PAID, ALREADY_SENT = "ask_already_paid", "ask_already_sent"
OTHER_APP = "other"  # the `platform` slot's value for an app with no steps of its own (responses/domain.yml)
# Abuse by someone they know offline: a detail that follows ("he's 17", "he said he'd tell everyone") is often read
# as one of the online concerns, whose answer asks which app. With nothing online in the message it is part of the
# abuse conversation: read as out of scope, which a crisis answers with the abuse steps (utter_crisis_followup).
OFFLINE_ABUSE = frozenset({"abuse_disclosure", "friend_abused"})
ONLINE_CONCERNS = FRIENDS_CONCERNS | {"block_report_help"}
ONLINE = re.compile(
    r"\b(?:online|internet|apps?|accounts?|messag\w*|texts?|texting|dms?|chats?|snap\w*|pics?|photos?|pictures?"
    r"|nudes?|vids?|videos?|post\w*|sent|send\w*|screenshots?|games?|gaming|phone|calls?|facetime|story|block\w*"
    r"|report\w*|followers?)\b",
    re.IGNORECASE,
)
OUT_OF_SCOPE = "out_of_scope"
# While a crisis is on, a message the model reads as one of the plain concerns ("i'm scared to tell mum" as wanting to
# talk to someone) is still weighed as a follow-up: its answer gets the crisis reminder anyway. The crisis's own
# follow-ups (safe now, playing it down, not wanting to call, details) and every crisis reading are kept as read.
WEIGHED_IN_CRISIS = frozenset(CONCERNS) - CRISIS - {"greet", "out_of_scope"}
# In a crisis about someone coming or waiting, a message about going out to them, read as anything but a crisis or
# the crisis's own follow-ups, is "should I go" (don't go, 999).
MEETING = frozenset({"immediate_danger", "unknown_contact"})
GOING_READINGS = (WEIGHED_IN_CRISIS | FOLLOW_UPS | {"nlu_fallback", "out_of_scope", "affirm"}) - {"should_i_go"}
GOING_NOW = re.compile(
    r"\b(?:go|going) (?:out|outside|down|and|to (?:him|her|them|meet|see)|with|there)\b|\bmeet\w*"
    r"|\bcome (?:out|outside|down|over)\b|\bget in\b|\blet \w+ in\b|\b(?:open|answer) the door\b"
    r"|\bsneak\w* out\b|\bleave the house\b",
    re.IGNORECASE,
)
# A follow-up that only makes sense about a friend ("will my friend get in trouble if I tell"): outside a
# conversation about a friend, "what if i go with my friend" or "should i tell a teacher or will i get in trouble"
# are other questions, read as the best other reading.
FRIEND_ONLY = frozenset({"ask_friend_in_trouble"})
FRIENDS_CONVERSATIONS = frozenset({"friend_worried", "friend_abused", "friend_at_risk"})
# "Should I go" with no word of going, meeting or someone coming ("what if she shouts at me", read so for its "what
# if she ...") is another question too.
GOING = re.compile(
    r"\b(?:go|going|goes|gone|went|meet\w*|come|coming|comes|came|turn\w* up|show\w* up|door|house|home|outside"
    r"|car|pick\w*|get in|get off|let \w+ in|sneak\w*|leave|leaving|stay|run|wait\w*|bus|train|station|park|there)\b",
    re.IGNORECASE,
)


def update(tracker: Any, intent: str, crisis_turns: int) -> None:
    """Set `answered`, end a crisis the young person has moved on from, and remember that an app was named,
    before Rasa answers `intent`.

    An app named that the model can't read (inform_platform with no app: "its on zepeto") is `other`: the general
    steps from now on, never "Which app?" again. An app it knows in the same message still sets the slot after
    this (Rasa's slot extraction runs later in the turn)."""
    if intent == "inform_platform" and tracker.get_slot("platform") is None:
        tracker.update(SlotSet("platform", OTHER_APP))
    latest = session(tracker.events)
    answered = intent in REPEATABLE and f"utter_{intent}" in actions(latest)
    if bool(tracker.get_slot("answered")) != answered:
        tracker.update(SlotSet("answered", answered))
    if tracker.get_slot("crisis") is True and moved_on(latest, intent, crisis_turns):
        tracker.update(SlotSet("crisis", False))


def in_context(parse: Dict[str, Any], tracker: Any, text: str) -> Dict[str, Any]:
    """`_in_context`, but "r u even real" read (by the model or in context) as whether the person they talk to is
    real is about the bot."""
    parse = _in_context(parse, tracker, text)
    if (parse.get("intent") or {}).get("name") == "ask_are_they_real" and TO_THE_BOT.search(text):
        return _read_as(parse, "bot_challenge")
    return parse


def _in_context(parse: Dict[str, Any], tracker: Any, text: str) -> Dict[str, Any]:
    """`parse` (of `text`, which is read here and kept nowhere) in the conversation's context: in a conversation
    under way and not in a crisis, the classifier's ranking with every follow-up question weighted by
    FOLLOW_UP_PRIOR, and its best intent chosen; in a conversation about a friend, the friend's own troubles
    are the friend's concern.

    A crisis is never read away: nothing changes when the safety net decided, when the model's reading is a crisis
    (but for a crisis detail the model alone reads in an answer to "Which app is it on?"), or while a crisis is on
    (but for a question about a service, ABOUT_SERVICES, and an online concern's reading of a detail of offline
    abuse, OFFLINE_ABUSE). Button presses keep their intent (their reading has no ranking to weigh).
    """
    if tracker is None or tracker.get_slot("under_way") is not True:
        return parse
    intent = (parse.get("intent") or {}).get("name") or "nlu_fallback"
    if parse.get("safety"):
        return parse
    if intent == "privacy_question" and not ABOUT_THE_BOT.search(text):
        for words, follow_up in ABOUT_SERVICES:
            if all(w.search(text) for w in words):
                return _read_as(parse, follow_up)
    if tracker.get_slot("concern") in OFFLINE_ABUSE and intent in ONLINE_CONCERNS and not _online(parse, text):
        return _read_as(parse, OUT_OF_SCOPE)
    if tracker.get_slot("concern") == "abuse_disclosure" and intent == "self_harm":
        return _read_as(parse, "crisis_detail")  # "it happened again last night": still a crisis, the abuse's
    if _names_app(parse) and len(text.split()) <= SHORT_ANSWER_WORDS and concern_for(intent) not in CRISIS:
        return _read_as(parse, "inform_platform")  # "snap", "on insta": the app, whatever else it sounds like
    if tracker.get_slot("crisis") is True and tracker.get_slot("concern") in MEETING and intent in GOING_READINGS:
        if GOING_NOW.search(text) and _confidence(parse) < WEAK_CONFIDENCE:
            return _read_as(parse, "should_i_go")  # "he keeps texting me to come out": don't go, 999
    if tracker.get_slot("crisis") is True and intent not in WEIGHED_IN_CRISIS:
        return parse
    if intent == "nlu_fallback" and _names_app(parse):
        return _read_as(parse, "inform_platform")  # "its called wizz idk if u know it": about the app
    if intent in (ALREADY_PAID, ALREADY_SENT):
        fitting = ALREADY_PAID if tracker.get_slot("concern") == "sextortion" else ALREADY_SENT
        if intent != fitting:
            return _read_as(parse, fitting)
    if tracker.get_slot("platform") is None and ASKS_WHICH_APP in actions(
        split_turns(getattr(tracker, "events", ()))[1]
    ):
        if (intent in ANSWERS_WHICH_APP and len(text.split()) <= APP_ANSWER_WORDS) or _weak_short_answer(
            parse, intent, text
        ):
            return _read_as(parse, "inform_platform")
        return parse
    misplaced = _misplaced(intent, tracker, text)
    if concern_for(intent) in CRISIS or (intent in KEPT and not misplaced):
        return parse
    if tracker.get_slot("concern") == "friend_worried" and intent in FRIENDS_CONCERNS and not FIRST_PERSON.search(text):
        return _read_as(parse, "friend_worried")
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") and r["name"] != "nlu_fallback"]
    weights = {
        r["name"]: float(r["confidence"]) * (FOLLOW_UP_PRIOR if r["name"] in FOLLOW_UPS else 1.0) for r in ranking
    }
    weights = {name: weight for name, weight in weights.items() if not _misplaced(name, tracker, text)}
    total = sum(weights.values())
    if not total:
        return parse
    best = max(weights, key=weights.get)
    # a misplaced reading gives way to the best other reading, whatever it is
    if not misplaced and (best == intent or best not in FOLLOW_UPS or weights[best] / total < FALLBACK_CONFIDENCE):
        return parse
    # The classifier's own probability stays the reported confidence; only the choice is the context's.
    chosen = next(r for r in ranking if r["name"] == best)
    return {**parse, "intent": {"name": best, "confidence": chosen["confidence"]}}


def own_trouble(parse: Dict[str, Any], text: str) -> Dict[str, Any]:
    """`parse` (of `text`, read here and kept nowhere) with a friend's reading of the young person's own
    pictures or threats (OWN_TROUBLE) replaced by the classifier's best reading among the young person's own
    versions of a friend's troubles (FRIENDS_CONCERNS: "he'll show my friends" is the threat itself), in any
    conversation and in a crisis too (only friend_worried is replaced, never the safety net's reading)."""
    intent = (parse.get("intent") or {}).get("name")
    if intent != "friend_worried" or parse.get("safety") or not OWN_TROUBLE.search(text):
        return parse
    own = [r for r in parse.get("intent_ranking") or [] if r.get("name") in FRIENDS_CONCERNS]
    if not own:
        return parse
    return {**parse, "intent": {"name": own[0]["name"], "confidence": own[0]["confidence"]}}


def _read_as(parse: Dict[str, Any], intent: str) -> Dict[str, Any]:
    """`parse` read as `intent` (the classifier's confidence in its own reading stays the reported one)."""
    return {**parse, "intent": {"name": intent, "confidence": (parse.get("intent") or {}).get("confidence")}}


def moved_on(latest: List[Any], intent: str, crisis_turns: int) -> bool:
    """True if this message and the ones before it, back to the last crisis answer, are `crisis_turns` in a row
    about other concerns."""
    if not _moving_on(intent):
        return False
    count = 1
    for event in reversed(latest):
        if count >= crisis_turns:
            return True
        if isinstance(event, ActionExecuted) and event.action_name in CRISIS_RESPONSES:
            return False
        if isinstance(event, UserUttered):
            if not _moving_on(event.intent_name or ""):
                return False
            count += 1
    return count >= crisis_turns


def _misplaced(intent: str, tracker: Any, text: str) -> bool:
    """A reading that doesn't fit: a friend's follow-up outside a friend's conversation (FRIEND_ONLY), or "should I
    go" with nothing about going or meeting in the message (GOING)."""
    if intent in FRIEND_ONLY:
        return tracker.get_slot("concern") not in FRIENDS_CONVERSATIONS
    return intent == "should_i_go" and not GOING.search(text)


def _names_app(parse: Dict[str, Any]) -> bool:
    return any(e.get("entity") == "platform" for e in parse.get("entities") or [])


def _online(parse: Dict[str, Any], text: str) -> bool:
    """Whether the message (read here, kept nowhere) names an app or anything online."""
    return bool(ONLINE.search(text)) or _names_app(parse)


def _confidence(parse: Dict[str, Any]) -> float:
    return float((parse.get("intent") or {}).get("confidence") or 0.0)


def _weak_short_answer(parse: Dict[str, Any], intent: str, text: str) -> bool:
    return (
        intent in WEAK_APP_ANSWER and _confidence(parse) < WEAK_CONFIDENCE and len(text.split()) <= SHORT_ANSWER_WORDS
    )


def _moving_on(intent: str) -> bool:
    return intent not in CRISIS_FOLLOWUPS and concern_for(intent) in MOVING_ON
