"""Remember Rasa's rule predictions by the text-free state of the latest turn.

Rasa predicts each next action by replaying the whole conversation through every policy, and does it again for
every action of a turn: about half of a turn's work (benchmarks/README.md). Most of that repeats: with RulePolicy's
`restrict_rules` (the default, kept in config.yml) a rule holds at most one user message, so whether a rule applies
depends only on
- the latest user message (intent and entity types) and the actions since,
- the actions between the message before it and that message,
- whether this is the first message of the conversation,
- the active loop and the values of the slots that influence the conversation (`crisis`, `under_way`, `answered`
  in responses/domain.yml, whether Rasa's slot mappings or the engine set them).
`dialogue_key` is exactly that, and holds no text and no entity values. A rule that applies wins over
MemoizationPolicy's stories at full confidence (RulePolicy has the higher priority), so a prediction RulePolicy made
at full confidence depends on the key alone and is remembered. Everything else (a core fallback, a story's
prediction, an event type this bot never makes, a message without an intent, a pending follow-up action) is left
to Rasa every time. tests/test_prediction_cache.py plays random conversations with and without the cache.

At most `size` predictions are kept, least recently used dropped first.
"""

import copy
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable, List, Optional, Tuple

from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.tracker_store import safe_slot_value

Key = Tuple[Hashable, ...]
RULE_POLICY = "RulePolicy"


def _event_key(event: Event, tracker: DialogueStateTracker) -> Optional[Tuple[Hashable, ...]]:
    """What a rule can read of one event, without text; None if this event can't be described exactly."""
    kind = type(event)
    if kind is UserUttered:
        if not event.intent_name or event.use_text_for_featurization:
            return None
        entities = tuple(sorted((e.get("entity"), e.get("role"), e.get("group")) for e in event.entities or ()))
        return ("user", event.intent_name, entities)
    if kind is ActionExecuted:
        return None if event.action_text is not None else ("action", event.action_name, event.hide_rule_turn)
    if kind is SlotSet:
        slot = tracker.slots.get(event.key)
        if slot is None or not slot.influence_conversation:
            return ("slot",)
        return ("slot", event.key, event.value is not None, safe_slot_value(slot, event.value))
    if kind is ActiveLoop:
        return ("loop", event.name)
    if kind is DefinePrevUserUtteredFeaturization:
        return ("featurization", event.use_text_for_featurization)
    if kind in (BotUttered, SessionStarted):
        return (kind.__name__,)
    return None


def dialogue_key(tracker: DialogueStateTracker) -> Optional[Key]:
    """The text-free state the next rule prediction depends on, or None if it can't be used as a cache key."""
    latest = tracker.latest_message
    if tracker.followup_action or latest is None or not latest.intent_name:
        return None
    parts: List[Tuple[Hashable, ...]] = []
    users: List[int] = []
    for event in tracker.events:
        part = _event_key(event, tracker)
        if part is None:
            return None
        if part[0] == "user":
            users.append(len(parts))
        parts.append(part)
    if not users:
        return None
    start = users[-2] + 1 if len(users) > 1 else 0
    # Before the window only what lasts matters: loops, and the value each slot that influences the conversation
    # has when the window starts (its latest SlotSet since the session started; a rule reads slot values, not
    # how often they were set, and a session start puts every slot back to its initial value).
    loops = []
    slots: dict = {}
    for part in parts[:start]:
        if part[0] == "loop":
            loops.append(part)
        elif part[0] == "slot" and len(part) > 1:
            slots[part[1]] = part
        elif part[0] == "SessionStarted":
            slots.clear()
    lasting = (tuple(loops), tuple(sorted(slots.values(), key=lambda p: p[1])))
    return (start == 0, lasting, tuple(parts[start:]))


def _fresh(prediction: PolicyPrediction) -> PolicyPrediction:
    """A remembered prediction with new copies of the events it adds (each tracker gets its own, stamped now)."""
    if not prediction.events and not prediction.optional_events:
        return prediction
    fresh = copy.copy(prediction)
    fresh.events = copy.deepcopy(prediction.events)
    fresh.optional_events = copy.deepcopy(prediction.optional_events)
    now = time.time()
    for event in fresh.events + fresh.optional_events:
        event.timestamp = now
    return fresh


class PredictionCache:
    """Wraps a Rasa processor's `_predict_next_with_tracker` with a bounded, least-recently-used memory."""

    def __init__(self, predict: Callable[[DialogueStateTracker], PolicyPrediction], size: int = 4096) -> None:
        if size < 1:
            raise ValueError("size must be positive")
        self._predict = predict
        self.size = size
        self._predictions: "OrderedDict[Key, PolicyPrediction]" = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._predictions)

    def __call__(self, tracker: DialogueStateTracker) -> PolicyPrediction:
        """The prediction for this tracker: remembered, or Rasa's (remembered if a rule made it)."""
        key = dialogue_key(tracker)
        if key is not None:
            prediction = self._predictions.get(key)
            if prediction is not None:
                self._predictions.move_to_end(key)
                self.hits += 1
                return _fresh(prediction)
        self.misses += 1
        prediction = self._predict(tracker)
        if key is not None and prediction.policy_name == RULE_POLICY and prediction.max_confidence >= 1.0:
            self._predictions[key] = _fresh(prediction)
            if len(self._predictions) > self.size:
                self._predictions.popitem(last=False)
        return prediction

    def clear(self) -> None:
        """Forget every remembered prediction."""
        self._predictions.clear()

    def uncached(self, tracker: DialogueStateTracker) -> PolicyPrediction:
        """Rasa's own prediction, bypassing the memory (for tests and comparisons)."""
        return self._predict(tracker)


def install(agent: Any) -> PredictionCache:
    """The processor's next-action predictions go through a `PredictionCache` (monkeypatching the private
    `_predict_next_with_tracker` on the instance); a second call on the same agent returns the cache it has."""
    predict = agent.processor._predict_next_with_tracker
    if not isinstance(predict, PredictionCache):
        agent.processor._predict_next_with_tracker = predict = PredictionCache(predict)
    return predict
