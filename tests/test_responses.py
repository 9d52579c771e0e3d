"""What Signpost says, checked without a model: the response files, the one services file and the rules.

Every response is rendered the way the bot renders it (Rasa's interpolation, with the values from
responses/services.yml) and checked for the safety rules in /work/shared/guidance.md. The words the code says itself
(responses/channel.yml: the Telegram front end's, the terminal's, the failure reply) get the same checks, filled
the way bot.channel_texts fills them.
"""

import copy
import datetime
import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import textstat
import yaml
from rasa.core.nlg.interpolator import interpolate, interpolate_text
from rasa.shared.core.domain import Domain

from bot import channel_texts, settings
from bot.concerns import CONCERNS, CRISIS, OTHER_INTENTS, PLATFORMS
from bot.service_numbers import load_services, placeholders
from bot.settings import CHANNEL_TEXTS_FILE, NLU_DIR, RESPONSES_DIR

MAX_WORDS = 60
MAX_GRADE = 6.0
# Concerns where the app's own block/report steps are part of the answer.
APP_STEP_CONCERNS = (
    "asked_for_nudes",
    "sextortion",
    "image_shared",
    "received_nude",
    "unknown_contact",
    "block_report_help",
)
# Plain numbers a response may write itself: ages, never a phone number.
AGES = {"13", "16", "18"}
DISPLAY_NAMES = {
    "snapchat": "Snapchat",
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "whatsapp": "WhatsApp",
    "discord": "Discord",
    "roblox": "Roblox",
    "telegram": "Telegram",
    "messenger": "Messenger",
    "youtube": "YouTube",
    "xbox": "Xbox",
    "playstation": "PS",
    "fortnite": "Fortnite",
    "x": "X (Twitter)",
    "kik": "Kik",
    "twitch": "Twitch",
    "minecraft": "Minecraft",
}

PLACEHOLDER = re.compile(r"\{([^{}\n]+)\}")
DIGIT_RUN = re.compile(r"\b\d+(?: \d+)*\b")
ADDRESS = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|uk|tv|gov|net|io|co|me|gg|police)\b(?:/[\w\-./]*\w)?"
    r"|\b[\w.+-]+@[\w-]+\.[\w.]+"
)
# The bot never asks for a picture or anything that identifies the young person.
IDENTIFYING_QUESTIONS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(send|show|upload|share|give)\b[^.?!]{0,15}\b(me|us|here)\b[^.?!]{0,20}"
        r"\b(pic|pics|photo|photos|picture|pictures|image|images|screenshot|screenshots|nude|nudes)\b",
        r"\b(send|show|upload|share)\b[^.?!]{0,20}\b(pic|photo|picture|image|screenshot)s?\b[^.?!]{0,20}"
        r"\b(to me|with me|here)\b",
        r"\bwhat(?:'s| is) your\s+(?:real |full |first |last )?(name|age|school|address|postcode|number)\b",
        r"\b(tell|give) me your\b",
        r"\bhow old are you\b",
        r"\bwhere do you (live|go to school)\b",
        r"\b(which|what) school\b",
        r"\bwhere are you\b",
        r"\bwhat(?:'s| is) (?:the )?name of your\b",
        r"\bwhat town\b",
    )
]
TELLS_NOT_TO = re.compile(r"(?:please )?(?:don't|do not|never)\b", re.IGNORECASE)
US_SPELLINGS = re.compile(
    r"\b(mom|moms|mommy|color|colors|favorite|favorites|center|behavior|realize|realized|apologize|"
    r"neighbor|gray|organize|cell phone|math)\b",
    re.IGNORECASE,
)
NEGATION = re.compile(r"\b(don't|do not|never|not|no)\b", re.IGNORECASE)
PASSING_ON = re.compile(
    r"\b(screenshot\w*|forward\w*|send(?:ing)? (?:it |them |the picture |a nude )?on)\b", re.IGNORECASE
)


# --- Loading ---------------------------------------------------------------------------------------------


def _response_files() -> List[Path]:
    not_responses = ("services.yml", "domain.yml", CHANNEL_TEXTS_FILE.name)  # the channel texts: CHANNEL below
    return [p for p in sorted(RESPONSES_DIR.glob("*.yml")) if p.name not in not_responses]


def _load_responses() -> Dict[str, list]:
    responses: Dict[str, list] = {}
    for path in _response_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, variations in (data.get("responses") or {}).items():
            assert name not in responses, f"{name} is defined twice (second time in {path.name})"
            responses[name] = variations
    return responses


RESPONSES = _load_responses()
VALUES = placeholders()
SERVICE_VALUES = set(VALUES.values())
DOMAIN = yaml.safe_load((RESPONSES_DIR / "domain.yml").read_text(encoding="utf-8"))
DOMAIN_INTENTS = {i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]}
# Rules live in nlu/rules.yml and beside their intents (nlu/followups/*.yml): Rasa trains on all of nlu/.
RULES = [
    rule
    for path in sorted(NLU_DIR.rglob("*.yml"))
    for rule in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules") or []
]
STORIES = yaml.safe_load((NLU_DIR / "stories.yml").read_text(encoding="utf-8"))["stories"]


def render(text: str) -> str:
    """The text as the young person sees it (what bot.rasa_ext.nlg.ServicesNLG does)."""
    return interpolate_text(text, dict(VALUES))


def render_buttons(buttons: list) -> list:
    """Buttons as sent (Rasa interpolates them too, so JSON payloads double their braces)."""
    return interpolate(copy.deepcopy(buttons), dict(VALUES))


def bubbles() -> Iterator[Tuple[str, dict]]:
    """Every (response name [platform], variation)."""
    for name, variations in RESPONSES.items():
        for variation in variations:
            platform = next((c["value"] for c in variation.get("condition", []) if c.get("name") == "platform"), None)
            yield (f"{name}[{platform}]" if platform else name), variation


# The channel texts by name (a group's texts as "group.key"), in a response variation's shape; what the code fills in
# itself (an entry's `values`) gets a typical value here.
CHANNEL = dict(channel_texts.every_text())
CHANNEL_VALUES = channel_texts.values()
GIVEN = {"count": "3", "title": "Someone is threatening me"}

# Button titles and the command menu's descriptions: checked like the responses' button titles (spelling, no
# identifying question, placeholders, numbers), but they are labels, not bubbles to read (no length or reading age).
LABELS = {"telegram_leave_button", "telegram_commands", "also_button", "also_titles"}

BUBBLES = list(bubbles()) + list(CHANNEL.items())
BUBBLE_IDS = [name for name, _ in BUBBLES]
READ = [(name, variation) for name, variation in BUBBLES if name.partition(".")[0] not in LABELS]
READ_IDS = [name for name, _ in READ]


def shown(name: str, variation: dict) -> str:
    """A bubble's text as the young person sees it: a response as ServicesNLG fills it, a channel text as
    bot.channel_texts does (a group's short texts as they are)."""
    if name not in CHANNEL:
        return render(variation["text"])
    entry, _, key = name.partition(".")
    if key:
        return channel_texts.group(entry)[key]
    return channel_texts.text(name, **{value: GIVEN[value] for value in variation.get("values") or ()})


def known_values(name: str, variation: dict) -> Dict[str, str]:
    """The placeholders a bubble may use: the services; for a channel text also the durations of bot/settings.py
    and its own `values` (a response can't: ServicesNLG fills the services only)."""
    if name not in CHANNEL:
        return VALUES
    return {**CHANNEL_VALUES, **{value: GIVEN[value] for value in variation.get("values") or ()}}


def rule_for(intent: str, entities: bool = False) -> List[str]:
    """The actions of the rule that answers `intent` as a first message (no condition, no earlier action), with or
    without an app named. The conversation's context has its own rules (CONTEXT_RULES)."""
    matches = [
        r
        for r in RULES
        if r["steps"][0].get("intent") == intent
        and not r.get("condition")
        and bool(r["steps"][0].get("entities")) == entities
    ]
    assert len(matches) == 1, f"{intent} needs exactly one rule, found {len(matches)}"
    steps = matches[0]["steps"]
    assert all("action" in s for s in steps[1:]), f"rule for {intent} has more than one user turn"
    return [s["action"] for s in steps[1:]]


def answer_of(rule: dict) -> List[str]:
    """The actions a rule sends after its (only) user message."""
    steps = rule["steps"]
    (user,) = [i for i, s in enumerate(steps) if "intent" in s]
    assert all("action" in s for s in steps[user + 1 :]), f"{rule['rule']}: more than one user turn"
    return [s["action"] for s in steps[user + 1 :]]


def condition_of(rule: dict) -> Dict[str, object]:
    return {k: v for c in rule.get("condition") or [] for k, v in c["slot_was_set"][0].items()}


def sentences(text: str) -> List[str]:
    return [s for s in re.split(r"(?<=[.!?:])\s+", text) if s.strip()]


# --- The services file -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(load_services()))
def test_every_service_has_value_source_and_checked_date(key):
    entry = load_services()[key]
    assert str(entry.get("value", "")).strip(), key
    assert str(entry.get("what", "")).strip(), key
    assert str(entry.get("source", "")).startswith("https://"), key
    datetime.date.fromisoformat(str(entry.get("checked")))
    assert entry.get("unconfirmed", False) in (True, False)


def test_the_services_file_holds_the_uk_numbers_from_the_guidance():
    assert VALUES["childline_phone"] == "0800 1111"
    assert VALUES["emergency_phone"] == "999"
    assert VALUES["silent_solution"] == "55"
    assert VALUES["police_non_emergency"] == "101"
    assert VALUES["papyrus_phone"] == "0800 068 4141"
    assert VALUES["shout_text"] == "85258"
    assert load_services()["samaritans_phone"]["unconfirmed"] is True
    assert load_services()["report_remove_web"]["value"].startswith("childline.org.uk")
    for platform in PLATFORMS:
        assert f"{platform}_help" in VALUES, f"no help page for {platform}"


# --- Every bubble ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_every_bubble_renders_with_no_unknown_placeholder(name, variation):
    for key in PLACEHOLDER.findall(variation["text"]):
        assert key in known_values(name, variation), f"{name}: unknown placeholder {{{key}}}"
    rendered = shown(name, variation)
    assert "{" not in rendered and "}" not in rendered, rendered
    for button in variation.get("buttons", []):
        title = interpolate_text(button["title"], dict(VALUES))
        assert "{" not in title and title.strip()


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_buttons_send_a_known_intent(name, variation):
    for button in render_buttons(variation.get("buttons", [])):
        match = re.fullmatch(r'/(\w+)(?:\{"platform":"(\w+)"\})?', button["payload"])
        assert match, f'{name}: payload {button["payload"]!r} is not /intent or /intent{{"platform":...}}'
        assert match[1] in DOMAIN_INTENTS, f"{name}: unknown intent in {button['payload']}"
        assert match[2] is None or match[2] in PLATFORMS


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_no_literal_number_or_address_in_a_response(name, variation):
    """Numbers and addresses come only from services.yml, so a changed number is one edit."""
    for text in [variation["text"]] + [b["title"] for b in variation.get("buttons", [])]:
        bare = PLACEHOLDER.sub(" ", text)
        assert not ADDRESS.findall(bare), f"{name}: write addresses as placeholders: {ADDRESS.findall(bare)}"
        for number in DIGIT_RUN.findall(bare):
            assert number in AGES, f"{name}: write numbers as placeholders: {number!r}"


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_every_number_and_address_shown_is_from_services(name, variation):
    rendered = shown(name, variation)
    for address in ADDRESS.findall(rendered):
        assert address in SERVICE_VALUES, f"{name}: {address!r} is not a value in services.yml"
    # A channel text's other numbers are the settings' durations ("30 minutes") and what the code fills in.
    filled = {n for value in known_values(name, variation).values() for n in DIGIT_RUN.findall(value)}
    for number in DIGIT_RUN.findall(rendered):
        assert number in SERVICE_VALUES | AGES | filled, f"{name}: {number!r} is not from services.yml"


@pytest.mark.parametrize("name,variation", READ, ids=READ_IDS)
def test_every_bubble_is_short(name, variation):
    words = len(shown(name, variation).split())
    assert words <= MAX_WORDS, f"{name}: {words} words"


@pytest.mark.parametrize("name,variation", READ, ids=READ_IDS)
def test_every_bubble_reads_at_age_eleven(name, variation):
    grade = textstat.flesch_kincaid_grade(shown(name, variation))
    assert grade <= MAX_GRADE, f"{name}: Flesch-Kincaid grade {grade}"


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_no_bubble_asks_for_a_picture_or_who_they_are(name, variation):
    texts = [shown(name, variation)] + [b["title"] for b in variation.get("buttons", [])]
    for sentence in [s for text in texts for s in sentences(text)]:
        if TELLS_NOT_TO.match(sentence):  # "Please don't send pictures here." is the opposite of asking
            continue
        for pattern in IDENTIFYING_QUESTIONS:
            assert not pattern.search(sentence), f"{name}: {pattern.search(sentence)[0]!r}"


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_ceop_is_always_called_the_police_and_not_anonymous(name, variation):
    text = shown(name, variation)
    if "CEOP" in text or VALUES["ceop_web"] in text:
        assert "police" in text.lower(), name
        assert "not anonymous" in text.lower(), name
        assert "contact you" in text.lower(), name


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_nobody_is_told_to_screenshot_or_pass_on_a_picture(name, variation):
    for sentence in sentences(shown(name, variation)):
        if PASSING_ON.search(sentence):
            assert NEGATION.search(sentence), f"{name}: {sentence!r}"


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_uk_spelling(name, variation):
    texts = [variation["text"]] + [b["title"] for b in variation.get("buttons", [])]
    for text in texts:
        assert not US_SPELLINGS.search(text), f"{name}: {US_SPELLINGS.search(text)[0]!r}"


@pytest.mark.parametrize("name,variation", BUBBLES, ids=BUBBLE_IDS)
def test_report_remove_and_take_it_down_are_honest_about_private_chats(name, variation):
    text = shown(name, variation)
    if "Report Remove" in text or "Take It Down" in text:
        assert "can't reach" in text, f"{name}: say these tools can't reach private chats"


# --- One answer, always the same -------------------------------------------------------------------------

# Responses whose words depend on the conversation: one variation per value of one slot, chosen by Rasa.
CONDITIONAL = {
    "utter_block_report_steps": "platform",
    "utter_key_steps": "concern",
    "utter_already_did": "concern",
    "utter_should_i_go": "concern",
    "utter_crisis_followup": "concern",
    "utter_crisis_minimise": "concern",
    "utter_ask_keep_secret": "concern",
    "utter_ask_not_uk": "concern",
    "utter_ask_cant_talk": "abroad",
    "utter_ask_take_it_down": "abroad",
    "utter_ask_in_trouble": "concern",
    "utter_ask_friend_in_trouble": "concern",
    "utter_ask_contact_again": "concern",
    "utter_ask_seems_nice": "concern",
    "utter_ask_them_in_trouble": "concern",
    "utter_ask_are_they_real": "concern",
    "utter_ask_is_it_abuse": "concern",
}
SLOT_VALUES = {
    name: {True, False} if slot["type"] == "bool" else set(slot.get("values", ()))
    for name, slot in DOMAIN["slots"].items()
}


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_one_variation_per_response_except_those_chosen_by_a_slot(name):
    variations = RESPONSES[name]
    unconditional = [v for v in variations if not v.get("condition")]
    assert len(unconditional) == 1, f"{name}: exactly one variation without a condition (Rasa picks at random)"
    if name not in CONDITIONAL:
        assert len(variations) == 1, f"{name}: one variation only"
        return
    values = []
    for variation in variations:
        for condition in variation.get("condition", []):
            assert condition == {"type": "slot", "name": CONDITIONAL[name], "value": condition["value"]}, name
            assert condition["value"] in SLOT_VALUES[CONDITIONAL[name]], f"{name}: {condition['value']}"
            values.append(condition["value"])
    assert len(values) == len(set(values)), f"{name}: two variations for one value"


def test_every_app_has_its_own_steps_and_help_page():
    steps = RESPONSES["utter_block_report_steps"]
    by_platform = {}
    for variation in steps:
        for condition in variation.get("condition", []):
            assert condition == {"type": "slot", "name": "platform", "value": condition["value"]}
            assert condition["value"] not in by_platform, f"two variations for {condition['value']}"
            by_platform[condition["value"]] = variation
    # `other`: an app named that has no steps of its own gets the general steps, without asking which app again.
    other = by_platform.pop("other")
    assert "Which app" not in other["text"] and not other.get("buttons") and "Report" in other["text"]
    assert set(by_platform) == set(PLATFORMS)
    for platform, variation in by_platform.items():
        assert DISPLAY_NAMES[platform] in variation["text"], platform
        assert f"{{{platform}_help}}" in variation["text"], f"{platform}: link its help page"
        assert "Report" in variation["text"], f"{platform}: how to report"
        if platform != "youtube":  # guidance.md gives YouTube's report steps only
            assert "Block" in variation["text"] or "block" in variation["text"], f"{platform}: how to block"


def test_apps_with_encrypted_chats_say_report_remove_cannot_reach_them():
    steps = {v["condition"][0]["value"]: v["text"] for v in RESPONSES["utter_block_report_steps"] if v.get("condition")}
    for platform in ("snapchat", "whatsapp"):
        assert "Report Remove can't reach" in steps[platform], platform


def test_the_general_steps_ask_which_app_with_a_button_for_every_app():
    default = next(v for v in RESPONSES["utter_block_report_steps"] if not v.get("condition"))
    text = render(default["text"])
    assert "Which app" in text
    assert "under 18" in text and "message itself" in text and "block" in text.lower()
    payloads = [b["payload"] for b in render_buttons(default["buttons"])]
    assert payloads == [f'/inform_platform{{"platform":"{p}"}}' for p in PLATFORMS]


def test_next_steps_offer_childline_and_the_three_buttons():
    (next_steps,) = RESPONSES["utter_next_steps"]
    text = render(next_steps["text"])
    assert VALUES["childline_phone"] in text and VALUES["childline_web"] in text
    assert [b["payload"] for b in next_steps["buttons"]] == [
        "/block_report_help",
        "/talk_to_someone",
        "/immediate_danger",
    ]


@pytest.mark.parametrize("name", ["utter_greet", "utter_out_of_scope", "utter_fallback_menu", "utter_default"])
def test_menus_offer_every_main_concern_and_childline(name):
    (variation,) = RESPONSES[name]
    payloads = {b["payload"] for b in variation["buttons"]}
    for concern in (
        "asked_for_nudes",
        "sextortion",
        "image_shared",
        "sent_nude_worried",
        "received_nude",
        "unknown_contact",
        "friend_worried",
        "self_harm",
        "immediate_danger",
        "talk_to_someone",
    ):
        assert f"/{concern}" in payloads, f"{name}: no button for {concern}"
    assert shows_childline(render(variation["text"]))


def test_the_fallback_menu_is_more_than_please_rephrase():
    (variation,) = RESPONSES["utter_fallback_menu"]
    assert "not sure I understood" in variation["text"]
    assert len(variation["buttons"]) >= 8


@pytest.mark.parametrize(
    "name", ["utter_greet", "utter_bot_challenge", "utter_talk_to_someone", "utter_privacy_question"]
)
def test_the_bot_says_it_is_not_a_person(name):
    assert "automatic helper, not a person" in RESPONSES[name][0]["text"]


def test_privacy_answer_says_nothing_typed_is_saved():
    text = render(RESPONSES["utter_privacy_question"][0]["text"])
    assert "Nothing you type here is saved" in text and "counts" in text


# --- Crisis ----------------------------------------------------------------------------------------------


def _crisis_path_text(intent: str) -> str:
    return " ".join(render(RESPONSES[a][0]["text"]) for a in rule_for(intent))


def test_danger_leads_with_999_and_the_silent_solution_then_childline():
    first = render(RESPONSES["utter_immediate_danger"][0]["text"])
    assert VALUES["emergency_phone"] in sentences(first)[0]
    silent = f"dial {VALUES['emergency_phone']}, then press {VALUES['silent_solution']}"
    assert "can't speak on a mobile" in first and silent in first
    assert first.index(VALUES["emergency_phone"]) < first.index(VALUES["childline_phone"])
    assert "?" not in _crisis_path_text("immediate_danger")


def test_self_harm_leads_with_childline_then_999_papyrus_and_shout():
    first = render(RESPONSES["utter_self_harm"][0]["text"])
    assert VALUES["childline_phone"] in sentences(first)[0]
    assert VALUES["emergency_phone"] in first
    path = _crisis_path_text("self_harm")
    assert VALUES["papyrus_phone"] in path and "HOPELINE247" in path
    assert VALUES["shout_text"] in path
    assert "?" not in path


def test_help_and_sos_lead_with_999_then_childline():
    text = render(RESPONSES["utter_help"][0]["text"])
    assert VALUES["emergency_phone"] in sentences(text)[0]
    assert text.index(VALUES["emergency_phone"]) < text.index(VALUES["childline_phone"])
    assert "?" not in text[: text.index(VALUES["childline_phone"])]


def test_a_friend_at_risk_gets_999_then_childline_first_then_how_to_help():
    first = render(RESPONSES["utter_friend_at_risk"][0]["text"])
    assert VALUES["emergency_phone"] in sentences(first)[0]
    assert first.index(VALUES["emergency_phone"]) < first.index(VALUES["childline_phone"])
    assert rule_for("friend_at_risk")[0] == "utter_friend_at_risk"
    path = _crisis_path_text("friend_at_risk")
    assert "trust" in path and VALUES["shout_text"] in path and "?" not in path


@pytest.mark.parametrize("intent", sorted(CRISIS))
def test_crisis_answers_come_first_in_their_rule(intent):
    assert rule_for(intent)[0] == f"utter_{intent}"


# --- Dialogue --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("intent", CONCERNS)
def test_every_concern_has_a_rule_that_starts_with_its_own_answer(intent):
    actions = rule_for(intent)
    assert actions[0] == f"utter_{intent}"
    for action in actions:
        assert action in RESPONSES, f"{intent}: {action} has no response"


ALL_INTENTS = {
    i if isinstance(i, str) else next(iter(i))
    for path in RESPONSES_DIR.glob("*.yml")
    for i in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents") or []
}


def test_every_intent_in_the_domain_counts_as_a_concern():
    # An intent missing here would silently count as out_of_scope in the statistics and the evaluation.
    assert ALL_INTENTS - set(CONCERNS) - set(OTHER_INTENTS) == set()
    assert set(OTHER_INTENTS) - {"nlu_fallback"} <= ALL_INTENTS


@pytest.mark.parametrize("intent", sorted(set(OTHER_INTENTS)))
def test_every_other_intent_has_a_rule(intent):
    for action in rule_for(intent):
        assert action in RESPONSES, f"{intent}: {action} has no response"


@pytest.mark.parametrize("intent", APP_STEP_CONCERNS)
def test_concerns_where_the_app_matters_show_its_steps(intent):
    actions = rule_for(intent)
    assert "utter_block_report_steps" in actions
    assert actions[-1] == "utter_next_steps"


def shows_childline(text: str) -> bool:
    """Childline's number or its own site (Report Remove's address under it does not count)."""
    site = re.compile(re.escape(VALUES["childline_web"]) + r"(?![/\w])")
    return VALUES["childline_phone"] in text or bool(site.search(text))


@pytest.mark.parametrize("intent", list(CONCERNS) + ["inform_platform", "nlu_fallback", "help"])
def test_every_path_includes_childline(intent):
    texts = [render(RESPONSES[a][0]["text"]) for a in rule_for(intent)]
    assert any(shows_childline(t) for t in texts), intent


# Concerns whose answer has its own menu or is a crisis answer; every other concern ends with next steps.
OWN_ENDING = {"immediate_danger", "self_harm", "greet", "out_of_scope", "talk_to_someone"}


@pytest.mark.parametrize("intent", sorted(set(CONCERNS) - OWN_ENDING))
def test_concern_answers_end_with_the_next_steps(intent):
    assert rule_for(intent)[-1] == "utter_next_steps"


def test_the_app_named_gets_its_steps_then_childline():
    assert rule_for("inform_platform", entities=True) == ["utter_block_report_steps", "utter_next_steps"]


def test_an_app_not_on_the_list_gets_the_general_steps_without_the_list_again():
    assert rule_for("inform_platform") == ["utter_other_app_steps", "utter_next_steps"]
    (variation,) = RESPONSES["utter_other_app_steps"]
    text = render(variation["text"])
    assert not variation.get("buttons") and "Which app" not in text
    assert "Report" in text and "block" in text and "under 18" in text and "Help" in text


def test_every_response_is_used_in_a_rule_or_story():
    used = {s["action"] for r in RULES + STORIES for s in r["steps"] if "action" in s}
    # utter_default is sent by Rasa's own action_default_fallback (core fallback), not by a rule.
    assert set(RESPONSES) - used == {"utter_default"}


def test_stories_follow_the_rules():
    """Each story is a chain of rules: after each intent come exactly the actions of its rule."""
    for story in STORIES:
        steps = story["steps"]
        i = 0
        while i < len(steps):
            intent = steps[i]["intent"]
            j = i + 1
            while j < len(steps) and "action" in steps[j]:
                j += 1
            expected = rule_for(intent, entities=bool(steps[i].get("entities")))
            assert [s["action"] for s in steps[i + 1 : j]] == expected, story["story"]
            i = j


# --- Turns: at most three bubbles and about 100 words, in every state ----------------------------------------

MAX_BUBBLES = 3
MAX_TURN_WORDS = 110  # "about 100": the longest concern answer with the longest app's steps


def _worst_turn(actions: List[str]) -> int:
    """The most words the answer can have, over every variation (every app, every concern) of its responses."""
    return sum(max(len(render(v["text"]).split()) for v in RESPONSES[a]) for a in actions)


@pytest.mark.parametrize("rule", RULES, ids=[r["rule"] for r in RULES])
def test_every_rule_answers_in_three_bubbles_and_about_a_hundred_words(rule):
    actions = answer_of(rule)
    assert 1 <= len(actions) <= MAX_BUBBLES, f"{rule['rule']}: {len(actions)} bubbles"
    assert _worst_turn(actions) <= MAX_TURN_WORDS, f"{rule['rule']}: {_worst_turn(actions)} words"


def _every_text(actions: List[str]) -> Iterator[str]:
    """Every text the answer can be, one variation of each response at a time (all combinations)."""
    import itertools

    for combination in itertools.product(*[RESPONSES[a] for a in actions]):
        yield " ".join(render(v["text"]) for v in combination)


CRISIS_RULES = [r for r in RULES if condition_of(r).get("crisis") is True]


def test_a_crisis_has_rules_for_what_the_model_would_otherwise_send_elsewhere():
    covered = {r["steps"][0]["intent"] for r in CRISIS_RULES}
    assert {
        "nlu_fallback",
        "out_of_scope",
        "affirm",
        "deny",
        "greet",
        "thanks",
        "goodbye",
        "what_now",
        "crisis_detail",
        "crisis_minimise",
    } <= covered


@pytest.mark.parametrize("rule", CRISIS_RULES, ids=[r["rule"] for r in CRISIS_RULES])
def test_in_a_crisis_every_answer_keeps_999_and_childline(rule):
    assert condition_of(rule).get("under_way") is True, "crisis rules also hold under_way, so they win over it"
    for text in _every_text(answer_of(rule)):
        assert VALUES["emergency_phone"] in text and shows_childline(text), f"{rule['rule']}: {text}"
        assert "can't help" not in text and "not sure I understood" not in text


@pytest.mark.parametrize("intent", ["safe_now", "refuse_call", "crisis_detail", "should_i_go"])
def test_crisis_follow_ups_keep_999_and_childline_even_without_a_crisis(intent):
    for text in _every_text(rule_for(intent)):
        assert VALUES["emergency_phone"] in text and shows_childline(text), f"{intent}: {text}"


def test_not_wanting_to_call_gets_ways_that_are_not_a_call_and_999():
    (variation,) = RESPONSES["utter_no_call"]
    text = render(variation["text"])
    assert VALUES["shout_text"] in text and VALUES["childline_web"] in text and "chat" in text
    assert VALUES["emergency_phone"] in text and VALUES["silent_solution"] in text


UNDER_WAY_RULES = [r for r in RULES if condition_of(r).get("under_way") is True]


@pytest.mark.parametrize("rule", UNDER_WAY_RULES, ids=[r["rule"] for r in UNDER_WAY_RULES])
def test_a_conversation_under_way_is_never_reset_to_the_introduction(rule):
    actions = answer_of(rule)
    assert "utter_greet" not in actions, rule["rule"]
    assert any(shows_childline(t) for t in _every_text(actions)) or "utter_anything_else" in actions


def test_greeting_and_what_now_under_way_are_short_and_in_context():
    under_way = {
        r["steps"][0]["intent"]: answer_of(r)
        for r in UNDER_WAY_RULES
        if "action" not in r["steps"][0] and "crisis" not in condition_of(r)
    }
    assert under_way["greet"] == ["utter_greet_again"]
    assert under_way["what_now"] == ["utter_key_steps", "utter_anything_else"]
    assert not any(RESPONSES["utter_greet_again"][0].get("buttons", []))


REPEAT_RULES = [r for r in RULES if condition_of(r).get("answered") is True]


def test_a_concern_asked_again_gets_its_key_steps_not_the_whole_answer():
    repeated = {r["steps"][0]["intent"] for r in REPEAT_RULES}
    assert repeated == {
        "asked_for_nudes",
        "sextortion",
        "image_shared",
        "sent_nude_worried",
        "received_nude",
        "unknown_contact",
        "friend_worried",
        "block_report_help",
    }
    for rule in REPEAT_RULES:
        intent = rule["steps"][0]["intent"]
        actions = answer_of(rule)
        assert actions[0] == "utter_key_steps" and actions[-1] == "utter_anything_else"
        assert f"utter_{intent}" not in actions


def test_key_steps_have_words_for_every_concern_they_follow():
    by_concern = {c["value"] for v in RESPONSES["utter_key_steps"] for c in v.get("condition", [])}
    assert {r["steps"][0]["intent"] for r in REPEAT_RULES} | {
        "immediate_danger",
        "self_harm",
        "friend_at_risk",
    } <= by_concern
    for variation in RESPONSES["utter_key_steps"]:
        assert shows_childline(render(variation["text"]))


def test_not_understood_twice_in_a_row_gets_the_menu_and_a_person_not_the_same_words():
    in_a_row = [r for r in RULES if "action" in r["steps"][0] and r["steps"][1].get("intent") == "nlu_fallback"]
    assert {r["steps"][0]["action"] for r in in_a_row} >= {"utter_fallback_menu", "utter_not_understood_in_context"}
    for rule in in_a_row:
        assert answer_of(rule) == ["utter_fallback_again"]
    (again,) = RESPONSES["utter_fallback_again"]
    text = render(again["text"])
    assert "not sure I understood" not in text and shows_childline(text) and len(again["buttons"]) >= 8


@pytest.mark.parametrize("name", ["utter_affirm", "utter_deny", "utter_out_of_scope"])
def test_yes_no_with_nothing_to_answer_and_out_of_scope_get_the_menu_and_childline(name):
    (variation,) = RESPONSES[name]
    assert shows_childline(render(variation["text"])) and len(variation["buttons"]) >= 8


def test_meeting_in_person_is_answered_dont_go_tell_an_adult_999():
    for variation in RESPONSES["utter_should_i_go"]:
        text = render(variation["text"])
        assert "don't go" in text and "adult" in text and VALUES["emergency_phone"] in text


# --- Already hurt, abuse by someone they know, not English (issue 10) ------------------------------------------


def test_already_hurt_leads_with_999_or_a_and_e_then_paracetamol_then_childline():
    first = render(RESPONSES["utter_already_hurt"][0]["text"])
    assert VALUES["emergency_phone"] in sentences(first)[0] and "A&E" in sentences(first)[0]
    assert "Paracetamol" in first and "even if you feel" in first
    assert first.index(VALUES["emergency_phone"]) < first.index(VALUES["childline_phone"])
    assert rule_for("already_hurt")[0] == "utter_already_hurt"
    path = _crisis_path_text("already_hurt")
    assert VALUES["shout_text"] in path and "?" not in path


def test_abuse_answer_is_safe_believing_and_honest_about_confidentiality():
    assert rule_for("abuse_disclosure")[0] == "utter_abuse_disclosure"
    path = _crisis_path_text("abuse_disclosure")
    assert "not your fault" in path and "safe" in path and "believed" in path
    first = render(RESPONSES["utter_abuse_disclosure"][0]["text"])
    assert VALUES["emergency_phone"] in first and VALUES["childline_phone"] in first  # both numbers in the first bubble
    assert "work out who to tell" in path and "teacher or police officer" in path and "talk to you first" in path
    assert "?" not in path and "which app" not in path.lower()  # asks nothing: not who, where, when or which app


def test_not_english_says_so_with_childline_and_999():
    text = render(RESPONSES["utter_not_english"][0]["text"])
    assert sentences(text)[0] == "Sorry, I can only read English."
    assert VALUES["childline_phone"] in text and VALUES["emergency_phone"] in text
    assert rule_for("not_english") == ["utter_not_english"]


@pytest.mark.parametrize(
    "intent, concern",
    [("already_hurt", "self_harm"), ("abuse_disclosure", "immediate_danger"), ("not_english", "out_of_scope")],
)
def test_the_new_intents_count_as_fixed_concerns(intent, concern):
    assert OTHER_INTENTS[intent] == concern


# --- The words the code says itself (responses/channel.yml) ------------------------------------------------------

# Channel texts that are not a whole answer, and why they need no Childline of their own. Every other text the code
# says is all the young person gets for what they sent, so it shows Childline like every answer of the engine.
NOT_A_WHOLE_ANSWER = {
    **{name: "a label (LABELS)" for name in LABELS},
    "telegram_privacy": "the first of /privacy's two bubbles; the second shows Childline",
    "telegram_picture": "the engine's answer to the words sent with the picture comes next",
    "telegram_exit": "the quick exit's one neutral line, for when someone may be looking",
    "telegram_exit_partly": "the quick exit's one neutral line, for when someone may be looking",
    "telegram_exit_older": "the quick exit's one neutral line, for when someone may be looking",
    "telegram_used_button": "a short note over the chat; it points to /help",
    "terminal_intro": "the conversation comes next",
}


@pytest.mark.parametrize("name", sorted(CHANNEL))
def test_every_channel_answer_shows_childline(name):
    if name.partition(".")[0] in NOT_A_WHOLE_ANSWER:
        return
    assert shows_childline(shown(name, CHANNEL[name])), f"{name}: a whole answer with no way to Childline"


def test_the_channel_texts_exempt_from_childline_exist():
    # An exemption for a text that is gone would exempt whatever later takes its name.
    assert set(NOT_A_WHOLE_ANSWER) <= {name.partition(".")[0] for name in CHANNEL}


def test_channel_texts_have_names_of_their_own():
    assert not set(CHANNEL) & set(RESPONSES)


def test_rasa_reads_the_responses_folder_without_the_channel_texts():
    """responses/ is Rasa's domain folder (training reads it): the channel texts file is skipped, having no domain key,
    so it adds nothing to the domain and changing it needs no new model."""
    assert not Domain.is_domain_file(CHANNEL_TEXTS_FILE)
    domain = Domain.from_directory(str(RESPONSES_DIR))
    assert set(domain.responses) == set(RESPONSES)
    said = {v["text"] for variations in domain.responses.values() for v in variations}
    assert not said & {variation["text"] for variation in CHANNEL.values()}


def test_the_privacy_text_says_the_settings_durations():
    text = shown("telegram_privacy", CHANNEL["telegram_privacy"])
    assert f"forget it after {channel_texts.in_words(settings.CONVERSATION_KEPT)}." in text
    assert f"for up to {channel_texts.in_words(settings.MESSAGE_IDS_KEPT)}," in text
    # Rasa's own session ends when the engine forgets the conversation: a message after it starts afresh.
    assert DOMAIN["session_config"]["session_expiration_time"] * 60 == settings.CONVERSATION_KEPT.total_seconds()
