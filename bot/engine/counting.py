"""The counting step (`Engine.count`, after the reply is sent): what a turn brought that is new in its conversation.

Labels only, read from the redacted tracker: a concern, an app, an outcome is counted once per conversation; a
"not understood" or "can't help" answer by kind, concern and turn (bot/stats/store.py has the full list).
"""

from typing import Any, Dict, FrozenSet, Iterable, List, Tuple

from rasa.shared.core.events import ActionExecuted, UserUttered

from bot.concerns import concern_for
from bot.engine.events import actions, intents, platforms, session, split_turns

# Which responses count as which moderator outcome.
CRISIS_RESPONSES = frozenset(
    {
        "utter_immediate_danger",
        "utter_self_harm",
        "utter_friend_at_risk",
        "utter_already_hurt",
        "utter_abuse_disclosure",
        "utter_friend_abused",
    }
)
FALLBACK_RESPONSES = frozenset(
    {"utter_fallback_menu", "utter_default", "utter_fallback_again", "utter_not_understood_in_context"}
)
# Answers that mean the bot failed the young person, counted for moderators by concern and turn (no text).
FAILURE_KINDS = {
    "utter_fallback_menu": "not_understood",
    "utter_default": "not_understood",
    "utter_fallback_again": "not_understood",
    "utter_not_understood_in_context": "not_understood",
    "utter_out_of_scope": "cant_help",
    "utter_out_of_scope_in_context": "cant_help",
}
MAX_TURN = 10  # failure turn numbers are capped: 10 means "10 or later"


def new_counts(tracker: Any, childline_responses: FrozenSet[str]) -> Dict[str, Any]:
    """`Stats.record`'s keywords for the conversation's latest turn."""
    earlier, now = split_turns(tracker.events)
    concerns_before = {concern_for(i) for i in intents(earlier)}
    platforms_before = set(platforms(earlier))
    return dict(
        concerns=[c for c in {concern_for(i) for i in intents(now)} if c not in concerns_before],
        platforms=[p for p in set(platforms(now)) if p not in platforms_before],
        outcomes=sorted(outcomes(now, childline_responses) - outcomes(earlier, childline_responses)),
        failures=failures(tracker, earlier, now),
    )


def failures(tracker: Any, earlier: List[Any], now: List[Any]) -> List[Tuple[str, str, int]]:
    """(kind, concern, turn) for each "not understood" or "can't help" answer this turn: labels only."""
    kinds = [FAILURE_KINDS[a] for a in actions(now) if a in FAILURE_KINDS]
    if not kinds:
        return []
    concern = tracker.get_slot("concern")
    concern = concern_for(concern) if concern else "none"
    turn = min(MAX_TURN, sum(1 for e in session(earlier + now) if isinstance(e, UserUttered)))
    return [(kind, concern, turn) for kind in sorted(set(kinds))]


def outcomes(events: Iterable[Any], childline_responses: FrozenSet[str]) -> set:
    done = {e.action_name for e in events if isinstance(e, ActionExecuted)}
    found = set()
    if done & childline_responses:
        found.add("childline_shown")
    if done & CRISIS_RESPONSES:
        found.add("crisis_answer_shown")
    if done & FALLBACK_RESPONSES:
        found.add("fallback_menu_shown")
    if "utter_block_report_steps" in done:
        found.add("block_report_steps_shown")
    return found
