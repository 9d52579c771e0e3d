"""The Rasa tracker store that never keeps text, and the redaction it applies (see docs/privacy.md).

`RedactingTrackerStore` keeps intents, the app name from the closed list, slots and actions, never text, in memory
only, for a bounded number of conversations and at most 30 idle minutes (`bot.settings.CONVERSATION_KEPT`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Optional

# Rasa's tracker_store module imports SQLAlchemy, which otherwise prints a deprecation banner on stderr.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from rasa.core.tracker_store import TrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import BooleanSlot, CategoricalSlot, FloatSlot, Slot  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from bot import settings  # noqa: E402
from bot.concerns import PLATFORMS  # noqa: E402

logger = logging.getLogger(__name__)

# Event metadata keys that carry no content (Rasa stamps the model and assistant id; bot events name their response).
_SAFE_METADATA = ("model_id", "assistant_id", "utter_action")


def _safe_metadata(metadata: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    if not metadata:
        return {}
    return {key: metadata[key] for key in _SAFE_METADATA if key in metadata}


def _known_platform(value: Any) -> bool:
    return isinstance(value, str) and value.lower() in PLATFORMS


def safe_entities(entities: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Only `platform` entities whose value is on the closed list; no positions, no raw text."""
    return [
        {"entity": "platform", "value": entity["value"]}
        for entity in entities
        if entity.get("entity") == "platform" and _known_platform(entity.get("value"))
    ]


def safe_slot_value(slot: Optional[Slot], value: Any) -> Any:
    """A slot value if it can't hold free text (a closed-list choice, a bool or a number), otherwise None."""
    if value is None or slot is None:
        return None
    if isinstance(slot, CategoricalSlot):
        allowed = {str(choice).lower() for choice in slot.values}
        return value if isinstance(value, str) and value.lower() in allowed else None
    if isinstance(slot, BooleanSlot):
        return value if isinstance(value, bool) else None
    if isinstance(slot, FloatSlot):
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    # Text, list and "any" slots (including Rasa's session_started_metadata) could hold anything.
    return None


def redact_event(event: Event, slots: Dict[str, Slot]) -> None:
    """Strip everything but intents, closed-list entities, action names and safe slot values, in place."""
    if isinstance(event, UserUttered):
        intent = event.intent or {}
        event.intent = {key: intent[key] for key in ("name", "confidence") if key in intent}
        event.entities = safe_entities(event.entities)
        event.text = None
        event.message_id = None
        # Replaces the parse data wholesale: it held the text, the intent ranking and entity positions.
        event.parse_data = {"intent": event.intent, "entities": list(event.entities), "text": None}
    elif isinstance(event, BotUttered):
        event.text = None
        event.data = {}
    elif isinstance(event, ActionExecuted):
        if event.action_name:
            event.action_text = None
    elif isinstance(event, SlotSet):
        event.value = safe_slot_value(slots.get(event.key), event.value)
    event.metadata = _safe_metadata(event.metadata)


# Marks an event already redacted. Rasa only ever appends events, so a tracker's redacted events are always a prefix
# and each pass only has to look at the events added since the last one.
_REDACTED = "_signpost_redacted"


def redact_tracker(tracker: DialogueStateTracker) -> None:
    """Redact a tracker in place: its new events, its current slot values and its latest action."""
    for event in reversed(tracker.events):
        if getattr(event, _REDACTED, False):
            break
        redact_event(event, tracker.slots)
        setattr(event, _REDACTED, True)
    for slot in tracker.slots.values():
        slot.value = safe_slot_value(slot, slot.value)
    # The latest user and bot events are normally the same objects as in `events` (then already marked).
    for event in (tracker.latest_message, tracker.latest_bot_utterance):
        if event is not None and not getattr(event, _REDACTED, False):
            redact_event(event, tracker.slots)
            setattr(event, _REDACTED, True)
    if tracker.latest_action and tracker.latest_action.get("action_name"):
        tracker.latest_action = {"action_name": tracker.latest_action["action_name"]}


def _latest_session(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """The tracker cut to its latest session (what Rasa's own stores hand back), only when it has several."""
    starts = sum(1 for event in tracker.events if isinstance(event, SessionStarted))
    if starts <= 1:
        return tracker
    from rasa.shared.core.trackers import get_trackers_for_conversation_sessions

    return get_trackers_for_conversation_sessions(tracker)[-1]


class _Entry:
    __slots__ = ("tracker", "last_used")

    def __init__(self, tracker: DialogueStateTracker, last_used: float) -> None:
        self.tracker = tracker
        self.last_used = last_used


class RedactingTrackerStore(TrackerStore):
    """An in-memory Rasa tracker store that never keeps text.

    Trackers are kept as objects (no serialising on every turn). Every save first redacts the tracker in place:
    user and bot text, parse data, message ids, entity positions and metadata go; intents, closed-list platform
    values, action names and safe slot values stay. Conversations idle for `idle_seconds` are dropped, and at most
    `max_conversations` are kept (least recently used dropped first). A tracker keeps at most `max_events` events.
    `forget(sender_id)` drops one conversation at once (quick exit).

    Rasa works on the stored object during a turn. If a turn fails half-way (the new message added, never saved),
    the next retrieve redacts the tracker before handing it out; the engine should also `forget` that conversation.
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        event_broker: Any = None,
        *,
        idle_seconds: Optional[float] = None,
        max_conversations: int = 10_000,
        max_events: int = 200,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        if event_broker is not None:
            raise ValueError("RedactingTrackerStore never publishes events: an event broker would send them on.")
        if idle_seconds is None:  # as long as the privacy text says (bot/settings.py)
            idle_seconds = settings.CONVERSATION_KEPT.total_seconds()
        if idle_seconds <= 0 or max_conversations < 1 or max_events < 1:
            raise ValueError("idle_seconds, max_conversations and max_events must be positive")
        super().__init__(domain, None, **kwargs)
        self.idle_seconds = idle_seconds
        self.max_conversations = max_conversations
        self.max_events = max_events
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: "OrderedDict[str, _Entry]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        """A new tracker whose event history is bounded."""
        return DialogueStateTracker(sender_id, self.domain.slots, max_event_history=self.max_events)

    def _evict(self, now: float) -> None:
        """Drop idle conversations and the least recently used beyond the maximum. Caller holds the lock."""
        entries = self._entries
        while entries:
            oldest = next(iter(entries.values()))
            if now - oldest.last_used < self.idle_seconds:
                break
            entries.popitem(last=False)
        while len(entries) > self.max_conversations:
            entries.popitem(last=False)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Redact the tracker in place, then keep it in memory."""
        try:
            redact_tracker(tracker)
            tracker = _latest_session(tracker)
        except Exception as error:  # keep nothing rather than something unredacted
            logger.error("Tracker redaction failed (%s); conversation dropped.", type(error).__name__)
            await self.forget(tracker.sender_id)
            return
        now = self._clock()
        with self._lock:
            entry = self._entries.get(tracker.sender_id)
            if entry is None:
                self._entries[tracker.sender_id] = _Entry(tracker, now)
            else:
                entry.tracker = tracker
                entry.last_used = now
                self._entries.move_to_end(tracker.sender_id)
            self._evict(now)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The conversation's tracker, or None if it is unknown, idle too long or was dropped."""
        now = self._clock()
        with self._lock:
            self._evict(now)
            entry = self._entries.get(sender_id)
            if entry is None:
                return None
            entry.last_used = now
            self._entries.move_to_end(sender_id)
        # Normally a no-op; after a turn that failed before saving it removes that turn's text.
        redact_tracker(entry.tracker)
        return entry.tracker

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        """Only the latest session is ever kept."""
        return await self.retrieve(conversation_id)

    async def keys(self) -> Iterable[str]:
        """The conversation ids (pseudonyms) currently held."""
        with self._lock:
            self._evict(self._clock())
            return list(self._entries)

    async def forget(self, sender_id: str) -> None:
        """Drop one conversation now (quick exit)."""
        with self._lock:
            self._entries.pop(sender_id, None)

    def trackers(self) -> List[DialogueStateTracker]:
        """The trackers currently held (for tests and inspection; not used by Rasa)."""
        with self._lock:
            return [entry.tracker for entry in self._entries.values()]
