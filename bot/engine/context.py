"""The engine's part of a conversation's memory (the slots in responses/domain.yml): labels only, no text.

Rasa sets `concern`, `under_way` and `crisis` itself, from the intent (slot mappings). Two things need the whole
conversation, which a rule cannot see, so they are worked out here from the tracker's intents and actions and added
as SlotSet events before the message, where the rules read them:
- `answered`: this message's concern already had its full answer in this conversation (nlu/rules.yml then gives
  its key steps instead of the whole answer again);
- `crisis` off: the last `crisis_turns` messages, this one included, were all about other concerns since the last
  crisis answer (the young person has moved on).
Both are in the prediction cache's key, like every slot that influences the conversation. While a crisis is on,
every answer shows 999 and Childline (`with_crisis_reminder`).

A message is also read in context (`in_context`): once a concern has been answered, what comes next is far more
often a question about it ("is it my fault", "what is CEOP") than a new disclosure, yet the classifier reads each
message alone and the wording of a follow-up is full of the concern's own words. So in a conversation under way
the follow-up questions' probabilities get a prior weight before the reading is chosen.
"""

import re
from typing import Any, Dict, List

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.concerns import CONCERNS, CRISIS, OTHER_INTENTS, concern_for
from bot.engine.counting import CRISIS_RESPONSES
from bot.engine.events import actions, session, split_turns
from bot.replies import BotMessage

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
# A reading in context stands only at the fallback menu's confidence or above (FallbackClassifier, config.yml).
FALLBACK_CONFIDENCE = 0.25
# The closing Childline bubble, left out when the crisis reminder (which has Childline) leads the answer.
CLOSING = "utter_next_steps"
# The young person's own pictures ("my pics", "my nudes"), or a threat to show them to their friends or family
# ("he'll show my friends"), read as worry about a friend because of the word "friends": the trouble is their own.
# (A friend's pictures, "my friends pics", are the friend's.)
PICTURE = r"(?:pics?|photos?|pictures?|nudes?|vids?|videos?|images?)"
OWN_TROUBLE = re.compile(
    rf"\bmy (?:own )?{PICTURE}\b"
    rf"|\b(?:show|send|sent|post|share|leak|spread)\w*\b(?:\W+\w+){{0,5}}?\W+(?:to )?(?:all )?my "
    rf"(?:friends|mates|family|school|mum|dad|parents)\b(?!'?s?\s+{PICTURE})",
    re.IGNORECASE,
)
# "Is that anonymous?" in a conversation under way asks about the reporting the bot just described, not about the
# bot, unless it names the bot or this chat (privacy_question's answer is about what the bot keeps).
ANONYMOUS = re.compile(r"\banon(?:ymous|ymously)?\b", re.IGNORECASE)
ABOUT_THE_BOT = re.compile(r"\b(?:this|here|you|u|chat|bot|signpost|saved?|stored?|keep)\b", re.IGNORECASE)
# Crisis patterns in other languages (nlu/safety_patterns_languages.jsonl) have ids starting with this.
LANGUAGE_PATTERN = "lang_"
MAX_BUBBLES = 3  # issue 13: at most three bubbles in a turn
# "I already sent him one" is money to a blackmailer (ask_already_paid: don't pay more) and a picture to someone
# asking for them (ask_already_sent: you can still say no): either is read as the one that fits the conversation.
ALREADY_PAID, ALREADY_SENT = "ask_already_paid", "ask_already_sent"
OTHER_APP = "other"  # the `platform` slot's value for an app with no steps of its own (responses/domain.yml)


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
    """`parse` (of `text`, which is read here and kept nowhere) in the conversation's context: in a conversation
    under way and not in a crisis, the classifier's ranking with every follow-up question weighted by
    FOLLOW_UP_PRIOR, and its best intent chosen; in a conversation about a friend, the friend's own troubles
    are the friend's concern.

    A crisis is never read away: nothing changes when the safety net decided, when the model's reading is a crisis
    (but for a crisis detail the model alone reads in an answer to "Which app is it on?"), or while a crisis is on.
    Button presses keep their intent (their reading has no ranking to weigh).
    """
    if tracker is None or tracker.get_slot("under_way") is not True or tracker.get_slot("crisis") is True:
        return parse
    intent = (parse.get("intent") or {}).get("name") or "nlu_fallback"
    if parse.get("safety"):
        return parse
    if intent == "privacy_question" and ANONYMOUS.search(text) and not ABOUT_THE_BOT.search(text):
        return _read_as(parse, "ask_report_anonymous")
    if intent == "nlu_fallback" and any(e.get("entity") == "platform" for e in parse.get("entities") or []):
        return _read_as(parse, "inform_platform")  # "its called wizz idk if u know it": about the app
    if intent in (ALREADY_PAID, ALREADY_SENT):
        fitting = ALREADY_PAID if tracker.get_slot("concern") == "sextortion" else ALREADY_SENT
        if intent != fitting:
            return _read_as(parse, fitting)
    if tracker.get_slot("platform") is None and ASKS_WHICH_APP in actions(
        split_turns(getattr(tracker, "events", ()))[1]
    ):
        if intent in ANSWERS_WHICH_APP:
            return _read_as(parse, "inform_platform")
        return parse
    if concern_for(intent) in CRISIS or intent in KEPT:
        return parse
    if tracker.get_slot("concern") == "friend_worried" and intent in FRIENDS_CONCERNS and not FIRST_PERSON.search(text):
        return _read_as(parse, "friend_worried")
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") and r["name"] != "nlu_fallback"]
    weights = {
        r["name"]: float(r["confidence"]) * (FOLLOW_UP_PRIOR if r["name"] in FOLLOW_UPS else 1.0) for r in ranking
    }
    total = sum(weights.values())
    if not total:
        return parse
    best = max(weights, key=weights.get)
    if best == intent or best not in FOLLOW_UPS or weights[best] / total < FALLBACK_CONFIDENCE:
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


def with_crisis_reminder(
    messages: List[BotMessage], now: List[Any], emergency: str, childline: str, reminder: BotMessage
) -> List[BotMessage]:
    """In a crisis every answer shows 999 and Childline: an answer without both gets the short reminder first,
    in place of its closing Childline bubble (so a turn stays at three bubbles at most)."""
    text = " ".join(m.text for m in messages)
    if emergency in text and childline in text:
        return messages
    names = [(e.metadata or {}).get("utter_action") for e in now if isinstance(e, BotUttered)]
    if len(names) == len(messages):
        messages = [m for m, name in zip(messages, names) if name != CLOSING]
    return [reminder] + messages


def with_only_english(messages: List[BotMessage], parse: Dict[str, Any], note: BotMessage) -> List[BotMessage]:
    """A crisis found in another language's words (the safety net's `lang_` patterns) is answered with 999 and
    Childline first, then, in English, the note that the bot reads English, if the turn has room for it."""
    pattern = (parse.get("safety") or {}).get("pattern") or ""
    if not pattern.startswith(LANGUAGE_PATTERN) or len(messages) >= MAX_BUBBLES or note in messages:
        return list(messages)
    return list(messages) + [note]


def _moving_on(intent: str) -> bool:
    return intent not in CRISIS_FOLLOWUPS and concern_for(intent) in MOVING_ON
