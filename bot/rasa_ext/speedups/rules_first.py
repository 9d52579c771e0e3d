"""On a prediction-cache miss, RulePolicy first: when it is sure, MemoizationPolicy's answer can't change the result.

Rasa's ensemble (`DefaultPolicyPredictionEnsemble`) picks the prediction with the highest (confidence, policy
priority) among those of the same kind (no-user, end-to-end), and adds every prediction's events to the winner's.
MemoizationPolicy's predictions never carry events and are never of a special kind (`Policy._prediction` with only
probabilities), and its priority is below RulePolicy's. So when RulePolicy predicts at full confidence and no action
was rejected (a rejection zeroes the rejected action in every prediction), RulePolicy wins whatever the stories
say, and the ensemble gives the same result with MemoizationPolicy's "nothing remembered" answer in place of its
search through the whole conversation's states (about 40% of a miss, after rule_index.py). Otherwise the graph
runs as Rasa's, RulePolicy's prediction reused. Checked by tests/test_rules_first.py.
"""

from typing import Any, Callable, Optional

from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.shared.core.events import ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.speedups.graph_runner import SequentialGraphRunner


class RulesFirst:
    """Stands in for a processor's `_predict_next_with_tracker` (Rasa's own is `stock`)."""

    def __init__(self, processor: Any, stock: Callable[[DialogueStateTracker], PolicyPrediction]) -> None:
        self.processor = processor
        self.stock = stock
        runner = processor.graph_runner
        self.target = processor.model_metadata.core_target
        needs = runner._schema.nodes[self.target].needs.values()
        by_kind = {type(runner._nodes[n]._component): n for n in needs if n in runner._nodes}
        self.rule_node = by_kind[RulePolicy]
        self.memo_node = by_kind[MemoizationPolicy]
        self.memo: MemoizationPolicy = runner._nodes[self.memo_node]._component
        self.sure = 1.0  # RulePolicy's confidence that makes the stories' answer moot (full)
        self.shortcuts = 0  # predictions made without MemoizationPolicy's search (for tests)

    def forgotten(self) -> PolicyPrediction:
        """MemoizationPolicy's own answer when it remembers nothing for a conversation."""
        return self.memo._prediction(self.memo._default_predictions(self.processor.domain))

    def __call__(self, tracker: DialogueStateTracker) -> PolicyPrediction:
        runner = self.processor.graph_runner
        if tracker.followup_action or not isinstance(runner, SequentialGraphRunner):
            return self.stock(tracker)
        rules = runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=[self.rule_node])[self.rule_node]
        given = {PLACEHOLDER_TRACKER: tracker, self.rule_node: rules}
        if rules.max_confidence >= self.sure and not any(
            isinstance(e, ActionExecutionRejected) for e in tracker.events
        ):
            given[self.memo_node] = self.forgotten()
            self.shortcuts += 1
        return runner.run(inputs=given, targets=[self.target])[self.target]


def install(agent: Any) -> Optional[RulesFirst]:
    """Wrap the processor's stock `_predict_next_with_tracker` (under the prediction cache, if any, which calls it on
    a miss); None when the graph isn't the known one (one RulePolicy and one MemoizationPolicy before the
    ensemble, run by the sequential runner)."""
    from bot.rasa_ext.speedups.prediction_cache import PredictionCache

    processor = agent.processor
    holder = processor._predict_next_with_tracker
    predict = holder._predict if isinstance(holder, PredictionCache) else holder
    if isinstance(predict, RulesFirst):
        return predict
    if not isinstance(processor.graph_runner, SequentialGraphRunner):
        return None
    try:
        first = RulesFirst(processor, predict)
    except (KeyError, AttributeError):
        return None
    if isinstance(holder, PredictionCache):
        holder._predict = first
    else:
        processor._predict_next_with_tracker = first
    return first
