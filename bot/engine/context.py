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
"""

from typing import Any, List

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.concerns import CONCERNS, CRISIS, concern_for
from bot.engine.counting import CRISIS_RESPONSES
from bot.engine.events import actions, session
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
# The closing Childline bubble, left out when the crisis reminder (which has Childline) leads the answer.
CLOSING = "utter_next_steps"


def update(tracker: Any, intent: str, crisis_turns: int) -> None:
    """Set `answered` and end a crisis the young person has moved on from, before Rasa answers `intent`."""
    latest = session(tracker.events)
    answered = intent in REPEATABLE and f"utter_{intent}" in actions(latest)
    if bool(tracker.get_slot("answered")) != answered:
        tracker.update(SlotSet("answered", answered))
    if tracker.get_slot("crisis") is True and moved_on(latest, intent, crisis_turns):
        tracker.update(SlotSet("crisis", False))


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


def _moving_on(intent: str) -> bool:
    return intent not in CRISIS_FOLLOWUPS and concern_for(intent) in MOVING_ON
