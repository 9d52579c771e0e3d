"""Every patch of Rasa's internals the engine makes for speed, in one place, installed by one call: `install(agent)`.

Each is listed in README.md beside this file, with why and how it is checked. `SIGNPOST_SPEEDUPS=0`
(`bot.settings.speedups`) leaves them all out: stock Rasa (its dask graph runner, no prediction cache, RulePolicy's
own rule search, a tracker copy for every action, its own response choice, its own `Domain.is_empty`, the
classifier's own feature code), with the same answers, only slower.
"""

from typing import Any, Optional

from bot.rasa_ext.speedups import (
    domain,
    featurizer,
    graph_runner,
    log_copies,
    nlg_templates,
    prediction_cache,
    response_tracker,
    rule_index,
    rules_first,
)
from bot.rasa_ext.speedups.prediction_cache import PredictionCache
from bot.settings import speedups as enabled

__all__ = ["PredictionCache", "enabled", "install"]


def install(agent: Any) -> Optional[PredictionCache]:
    """Install every speed-up on a loaded agent (nothing when `SIGNPOST_SPEEDUPS=0`); returns the prediction cache,
    or None. Safe to call twice on one agent: a second engine on it shares what the first installed."""
    if not enabled():
        log_copies.uninstall()  # the patches of whole modules, perhaps made by an earlier engine in this process
        nlg_templates.uninstall()
        return None
    graph_runner.install(agent)
    domain.install(agent)
    featurizer.install(agent)
    rule_index.install(agent)
    log_copies.install()
    response_tracker.install(agent)
    nlg_templates.install(agent)
    rules_first.install(agent)  # under the prediction cache: what a miss runs
    return prediction_cache.install(agent)
