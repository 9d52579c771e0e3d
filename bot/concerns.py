"""The fixed concern labels and how each Rasa intent maps onto one.

Other tools (statistics, evaluation, moderators' tables) read these names, so they never change.
"""

CONCERNS = (
    "asked_for_nudes",
    "sextortion",
    "image_shared",
    "sent_nude_worried",
    "received_nude",
    "unknown_contact",
    "friend_worried",
    "immediate_danger",
    "self_harm",
    "block_report_help",
    "talk_to_someone",
    "privacy_question",
    "greet",
    "out_of_scope",
)

CRISIS = frozenset({"immediate_danger", "self_harm"})

# Intents that are not concerns themselves, and the concern each one counts as: the small talk the dialogue needs,
# and a friend at risk of self-harm or suicide (the safety net's label for those words about someone else), which
# is a self-harm crisis.
OTHER_INTENTS = {
    "friend_at_risk": "self_harm",
    "goodbye": "greet",
    "thanks": "greet",
    "bot_challenge": "greet",
    "affirm": "out_of_scope",
    "deny": "out_of_scope",
    "inform_platform": "out_of_scope",
    "help": "talk_to_someone",
    "nlu_fallback": "out_of_scope",
    # follow-ups read in the conversation's context (nlu/context.yml)
    "what_now": "talk_to_someone",
    "already_did": "out_of_scope",
    "should_i_go": "unknown_contact",
    # in a crisis: safe again, details (pills, cuts, how long ago), playing it down, not wanting to call
    "safe_now": "out_of_scope",
    "crisis_detail": "self_harm",
    "crisis_minimise": "out_of_scope",
    "refuse_call": "talk_to_someone",
}

PLATFORMS = (
    "snapchat",
    "instagram",
    "tiktok",
    "whatsapp",
    "discord",
    "roblox",
    "telegram",
    "messenger",
    "youtube",
    "xbox",
    "playstation",
    "fortnite",
    "x",
    "kik",
    "twitch",
    "minecraft",
)


def concern_for(intent: str) -> str:
    """The concern label for a Rasa intent name (unknown intents count as out of scope)."""
    if intent in CONCERNS:
        return intent
    return OTHER_INTENTS.get(intent, "out_of_scope")
