"""A turn's bubbles after the rules chose them: in a crisis every answer shows 999 and Childline, a message the bot
cannot read gets the note that it reads English, and a crisis long message keeps its second concern's key steps.
Each keeps a turn at three bubbles at most (issue 13)."""

from typing import Any, Dict, List

from rasa.shared.core.events import BotUttered

from bot.concerns import CRISIS, concern_for
from bot.replies import BotMessage

# The closing Childline bubble, left out when the crisis reminder (which has Childline) leads the answer.
CLOSING = "utter_next_steps"
# Crisis patterns in other languages (nlu/safety_patterns_languages.jsonl) have ids starting with this.
LANGUAGE_PATTERN = "lang_"
MAX_BUBBLES = 3  # issue 13: at most three bubbles in a turn


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
    """A crisis found in another language's words (the safety net's `lang_` patterns), or any answer to a message
    the bot cannot read (the model's crisis reading of it, a follow-up in a crisis: `unreadable`), is followed, in
    English, by the note that the bot reads English, if the turn has room for it."""
    pattern = (parse.get("safety") or {}).get("pattern") or ""
    unread = pattern.startswith(LANGUAGE_PATTERN) or parse.get("unreadable") is True
    if not unread or len(messages) >= MAX_BUBBLES or note.text in {m.text for m in messages}:
        return list(messages)
    return list(messages) + [note]


def with_second_concern(
    messages: List[BotMessage], intent: str, also: Any, key_steps: Dict[str, BotMessage]
) -> List[BotMessage]:
    """A crisis answer to a long message that also told of another concern ("he's got my pics and wants more money
    ... my life is over") gets that concern's key steps too, if the turn has room: the crisis comes first, but the
    blackmail still needs "don't pay" and CEOP. (The "Also:" button for its full answer stays.)"""
    steps = key_steps.get(also) if also else None
    if steps is None or concern_for(intent) not in CRISIS or len(messages) >= MAX_BUBBLES or steps in messages:
        return list(messages)
    return list(messages) + [steps]
