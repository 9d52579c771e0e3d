"""A bot response or `action_listen` run on the conversation's tracker itself, not on a replayed copy of it.

Rasa's `MessageProcessor._run_action` hands every action a copy of the tracker (`tracker.copy()`: a new tracker
and every event of the conversation replayed into it) with the prediction's events added, so that a rejected
action leaves the tracker as it was. Two or three actions a turn: about a twentieth of a turn. Rasa's
`ActionBotResponse` only reads the slot values for the response generator (Signpost's is Rasa's templated one,
which reads nothing else) and `ActionListen` reads nothing; neither changes the tracker, and when the prediction
adds no events the copy holds just what the tracker holds. So for exactly those two classes, with no prediction
events and a templated generator, the copy is the tracker itself: `_run_action` is Rasa's, with the tracker's
`copy` answering the tracker for the length of the call. A tracker that has reached its event limit (events were
dropped, so a replay could differ from it) is copied as Rasa does. Checked by tests/test_response_tracker.py.
"""

from typing import Any, Callable

from rasa.core.actions.action import ActionBotResponse, ActionListen
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker

READ_ONLY = (ActionBotResponse, ActionListen)


class RunAction:
    """Stands in for one processor's `_run_action` (Rasa's own is `stock`)."""

    def __init__(self, stock: Callable[..., Any]) -> None:
        self.stock = stock
        self.uncopied = 0  # actions run without a copy (for tests)

    async def __call__(self, action: Any, tracker: Any, output_channel: Any, nlg: Any, prediction: Any) -> bool:
        if (
            type(action) not in READ_ONLY
            or prediction.events
            or not isinstance(nlg, TemplatedNaturalLanguageGenerator)
            or type(tracker) is not DialogueStateTracker
            or (tracker._max_event_history and len(tracker.events) >= tracker._max_event_history)
            or "copy" in vars(tracker)
        ):
            return await self.stock(action, tracker, output_channel, nlg, prediction)
        tracker.copy = lambda: tracker
        try:
            self.uncopied += 1
            return await self.stock(action, tracker, output_channel, nlg, prediction)
        finally:
            del tracker.copy


def install(agent: Any) -> RunAction:
    """The processor's `_run_action` (private, replaced on the instance) becomes a `RunAction`; once."""
    processor = agent.processor
    current = vars(processor).get("_run_action")
    if not isinstance(current, RunAction):
        processor._run_action = current = RunAction(processor._run_action)
    return current
