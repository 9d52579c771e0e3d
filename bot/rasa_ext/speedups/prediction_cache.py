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
and a rule compares only as many of the latest dialogue states (one per action) as it has, four at most in
today's rules, so a window of more actions is cut there (what lasts from before it kept). Bot messages and slots
that don't influence the conversation are in no dialogue state and are left out.
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

from bot.rasa_ext.speedups.rule_index import longest_rule
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


# Parts of the key that no dialogue state reads: a bot message, a slot that doesn't influence the conversation.
_UNREAD = {("BotUttered",), ("slot",)}


def dialogue_key(tracker: DialogueStateTracker, longest: Optional[int] = None) -> Optional[Key]:
    """The text-free state the next rule prediction depends on, or None if it can't be used as a cache key.

    `longest`: the most dialogue states a rule has (rule_index.longest_rule). A rule compares its states with the
    conversation's latest ones, one state per action (and one for now), and no further back: with at least that
    many actions in the session, the window starts at the action that begins the oldest of those states, and what
    lasts from before it (slots, loops, the user message if it came earlier) is kept as before."""
    latest = tracker.latest_message
    if tracker.followup_action or latest is None or not latest.intent_name:
        return None
    parts: List[Tuple[Hashable, ...]] = []
    users: List[int] = []
    actions: List[int] = []  # the actions of the latest session
    for event in tracker.events:
        part = _event_key(event, tracker)
        if part is None:
            return None
        kind = part[0]
        if kind == "user":
            users.append(len(parts))
        elif kind == "action":
            actions.append(len(parts))
        elif kind == "SessionStarted":
            actions = []
        elif kind == "loop":
            longest = None  # a loop's actions can undo earlier ones (Rasa's applied_events): states aren't actions
        parts.append(part)
    if not users:
        return None
    start = users[-2] + 1 if len(users) > 1 else 0
    first = start == 0
    if longest and len(actions) >= longest and actions[-longest] > start:
        start, first = actions[-longest], None
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
    # The user message every state of a cut window reads, if it came before the window, and how it is featurized.
    user = tuple(p for p in parts[users[-1] : start] if p[0] in ("user", "featurization"))
    lasting = (tuple(loops), tuple(sorted(slots.values(), key=lambda p: p[1])), user)
    return (first, lasting, tuple(p for p in parts[start:] if p not in _UNREAD))


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

    def __init__(
        self,
        predict: Callable[[DialogueStateTracker], PolicyPrediction],
        size: int = 4096,
        longest: Optional[int] = None,
    ) -> None:
        if size < 1:
            raise ValueError("size must be positive")
        self._predict = predict
        self.size = size
        self.longest = longest  # the most states a rule has (`dialogue_key`); None: the whole window
        self._predictions: "OrderedDict[Key, PolicyPrediction]" = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._predictions)

    def __call__(self, tracker: DialogueStateTracker) -> PolicyPrediction:
        """The prediction for this tracker: remembered, or Rasa's (remembered if a rule made it)."""
        key = dialogue_key(tracker, self.longest)
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
        predict = PredictionCache(predict, longest=longest_rule(agent))
        agent.processor._predict_next_with_tracker = predict
    return predict
