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

# Intents that are not concerns themselves, and the concern each one counts as: the small talk the dialogue needs;
# a friend at risk of self-harm or suicide (the safety net's label for those words about someone else) and having
# already taken pills or hurt themselves badly (999 first), which are self-harm crises; abuse by someone they know,
# a danger crisis, and the same for a friend (friend_abused: the abuse section of the guidance, 999 if it is
# happening now and a trusted adult who can act, not the friend's-pictures advice of friend_worried; like a friend
# at risk, a friend's crisis counts as the crisis); and a message the bot cannot read (not in English).
OTHER_INTENTS = {
    "friend_at_risk": "self_harm",
    "already_hurt": "self_harm",
    "abuse_disclosure": "immediate_danger",
    "friend_abused": "immediate_danger",
    "not_english": "out_of_scope",
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
    # Follow-up questions about getting help (nlu/followups/help.yml), counted as the concern they come from.
    "ask_childline_tell_parents": "privacy_question",
    "ask_give_name": "privacy_question",
    "ask_is_it_free": "talk_to_someone",
    "ask_cant_talk": "talk_to_someone",
    "ask_what_happens_childline": "talk_to_someone",
    "ask_how_to_tell": "talk_to_someone",
    "ask_not_uk": "talk_to_someone",
    "ask_in_trouble": "sent_nude_worried",
    "ask_friend_in_trouble": "friend_worried",
    "ask_my_fault": "sent_nude_worried",
    "ask_trusted_adult_who": "talk_to_someone",
    "ask_parents_angry": "talk_to_someone",
    "ask_can_you_help_more": "talk_to_someone",
    "ask_is_this_normal": "asked_for_nudes",
    "ask_what_is_grooming": "unknown_contact",
    "ask_keep_secret": "unknown_contact",
    # Follow-up questions about blackmail, reporting and take-down (nlu/followups/reports.yml), as their concern.
    "ask_should_pay": "sextortion",
    "ask_send_more": "sextortion",
    "ask_already_paid": "sextortion",
    "ask_deadline": "sextortion",
    "ask_block_still_post": "sextortion",
    "ask_already_posted": "image_shared",
    "ask_report_remove_how": "image_shared",
    "ask_report_remove_id": "image_shared",
    "ask_report_remove_time": "image_shared",
    "ask_take_it_down": "image_shared",
    "ask_screenshot": "received_nude",
    "ask_illegal_to_have": "received_nude",
    "ask_send_picture": "privacy_question",
    "ask_what_is_ceop": "block_report_help",
    "ask_will_they_know": "block_report_help",
    "ask_evidence": "block_report_help",
    "ask_report_anonymous": "block_report_help",
    "ask_fake_or_hacked": "block_report_help",
    "ask_delete_messages": "block_report_help",
    "ask_should_meet": "unknown_contact",
    "ask_what_to_say_no": "asked_for_nudes",
    # More follow-up questions (nlu/followups/next.yml), as their concern.
    "ask_already_sent": "sent_nude_worried",
    "ask_police_visit": "sent_nude_worried",
    "ask_saved_copies": "image_shared",
    "ask_make_them_delete": "sent_nude_worried",
    "ask_not_believed": "talk_to_someone",
    "ask_pressure_love": "asked_for_nudes",
    "ask_talk_to_you": "talk_to_someone",
    # And more (nlu/followups/more.yml): back on a new account, "but he's nice", will the person get in trouble.
    "ask_contact_again": "block_report_help",
    "ask_seems_nice": "unknown_contact",
    "ask_them_in_trouble": "talk_to_someone",
    "ask_are_they_real": "unknown_contact",
    "ask_disappears": "sent_nude_worried",
    "ask_age_law": "asked_for_nudes",
    "ask_what_is_shout": "talk_to_someone",
    "ask_find_me": "unknown_contact",
    "ask_is_it_abuse": "talk_to_someone",
    "ask_want_to_send": "asked_for_nudes",
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
