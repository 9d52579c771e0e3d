"""Reading a conversation's (redacted) tracker events: its latest session, its turns, intents, actions and apps."""

from typing import Any, Iterable, List, Tuple

from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered

from bot.concerns import PLATFORMS


def session(events: Iterable[Any]) -> List[Any]:
    """The events of the latest session."""
    latest: List[Any] = []
    for event in events:
        if isinstance(event, SessionStarted):
            latest = []
        latest.append(event)
    return latest


def actions(events: Iterable[Any]) -> List[str]:
    return [e.action_name for e in events if isinstance(e, ActionExecuted) and e.action_name]


def split_turns(events: Iterable[Any]) -> Tuple[List[Any], List[Any]]:
    """This session's events before the latest user message, and from it on."""
    latest = session(events)
    last_user = max((i for i, e in enumerate(latest) if isinstance(e, UserUttered)), default=0)
    return latest[:last_user], latest[last_user:]


def intents(events: Iterable[Any]) -> List[str]:
    return [e.intent_name for e in events if isinstance(e, UserUttered) and e.intent_name]


def platforms(events: Iterable[Any]) -> List[str]:
    return [e.value for e in events if isinstance(e, SlotSet) and e.key == "platform" and e.value in PLATFORMS]
