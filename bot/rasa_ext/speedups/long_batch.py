"""A long message and its sentences read up to the classifier in one batch, then the rest of the graph on the whole.

The engine reads a long message whole (the full NLU graph: model, apps, fallback, safety net) and each of its
sentences by the classifier alone (bot/long_messages.py). Done as two runs, the tokenizer, both featurizers and the
classifier were each called twice per message, and each call has a fixed cost (scikit-learn's checks, Rasa's
feature bookkeeping): about a fifth of a 100-word message's time. Here the whole message and its sentences go
through the graph up to the classifier as one batch (each message is read on its own there: the same numbers,
row by row), and the rest of the graph runs on the whole message alone, from the classifier's output
(`SequentialGraphRunner.run` takes a node's output as an input). The whole message's parse is then made as
Rasa's `MessageProcessor.parse_message` makes it (`_parse_message_with_graph`, then its retrieval-intent and
unseen-feature steps; its debug line, which would hold the text, is not written).

Checked by tests/test_speedups.py (every message of every evaluation set read exactly as by stock Rasa) and
`python -m benchmarks.speedups_ab` (the same readings as the two runs, compared on every call).
"""

from typing import Any, Dict, List, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.speedups.graph_runner import SequentialGraphRunner


def parse_with_pieces(
    processor: Any, classifier_node: Optional[str], text: str, pieces: List[str]
) -> Optional[Tuple[Dict[str, Any], List[Message]]]:
    """The whole message's parse and the pieces' classified messages, or None without the sequential runner."""
    runner = processor.graph_runner
    if not isinstance(runner, SequentialGraphRunner) or classifier_node is None:
        return None
    message = UserMessage(text)
    tracker = DialogueStateTracker.from_events(message.sender_id, [])  # as parse_message makes it
    batch = [message] + [UserMessage(piece) for piece in pieces]
    classified = runner.run(
        inputs={PLACEHOLDER_MESSAGE: batch, PLACEHOLDER_TRACKER: tracker}, targets=[classifier_node]
    )[classifier_node]
    target = processor.model_metadata.nlu_target
    (parsed,) = runner.run(inputs={classifier_node: classified[:1], PLACEHOLDER_TRACKER: tracker}, targets=[target])[
        target
    ]
    parse_data = {TEXT: "", INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, ENTITIES: []}
    parse_data.update(parsed.as_dict(only_output_properties=True))
    processor._update_full_retrieval_intent(parse_data)
    processor._check_for_unseen_features(parse_data)
    return parse_data, classified[1:]
