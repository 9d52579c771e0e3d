"""Training without Rasa's training cache: `signpost train` always retrains every component, so nothing reads it.

Rasa's `GraphTrainer` puts a `TrainingHook` on every node. Before a node runs it fingerprints the node's inputs and
after it fingerprints the output (the whole training data, every message and every feature of it, each time), then
copies the output into the cache (`.rasa/cache`) so a later training with the same inputs can skip the node. Only
a training that is not forced reads that cache (`GraphTrainer.train` skips its fingerprint run when
`force_retraining` is set, and `bot/tools/training.py` always sets it), so for Signpost the hook is pure cost: about
a third of a training's time, spent on fingerprints and copies nobody reads. `without_training_cache()` replaces it,
for the length of one training, with a hook that does nothing. The model is the same (tests/test_training.py).
"""

import contextlib
from typing import Any, Dict, Iterator

from rasa.engine.graph import GraphNodeHook
from rasa.engine.training import graph_trainer

from bot.settings import speedups


class NoTrainingCache(GraphNodeHook):
    """Takes `TrainingHook`'s place (same arguments) and neither fingerprints nor caches anything."""

    def __init__(self, **_: Any) -> None:
        pass

    def on_before_node(self, *args: Any, **kwargs: Any) -> Dict:
        return {}

    def on_after_node(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextlib.contextmanager
def without_training_cache() -> Iterator[None]:
    """For a forced training only: Rasa's `TrainingHook` left out (nothing when `SIGNPOST_SPEEDUPS=0`)."""
    if not speedups():
        yield
        return
    saved = graph_trainer.TrainingHook
    graph_trainer.TrainingHook = NoTrainingCache
    try:
        yield
    finally:
        graph_trainer.TrainingHook = saved
