"""The privacy layer: pseudonyms, the redacting tracker store, and logging that never carries message text."""

import logging
import os
from datetime import datetime, timedelta, timezone

import pytest
import structlog
from helpers import strings_in
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from bot import settings
from bot.privacy import Pseudonymiser, configure_logging
from bot.rasa_ext.tracker_store import RedactingTrackerStore
from bot.settings import RESPONSES_DIR

CANARY = "zqxcanary"


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(RESPONSES_DIR))


def assert_no_canary(root):
    leaks = [s for s in strings_in(root) if CANARY in s]
    assert not leaks, leaks


# ------------------------------------------------------------------------------------------------ pseudonyms


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_pseudonym_is_stable_within_a_day_and_not_the_id():
    clock = Clock(datetime(2026, 11, 18, 0, 1, tzinfo=timezone.utc))
    names = Pseudonymiser(clock)
    first = names.pseudonym("telegram", 123456789)
    clock.now = datetime(2026, 11, 18, 23, 59, tzinfo=timezone.utc)
    assert names.pseudonym("telegram", 123456789) == first
    assert names.pseudonym("telegram", "123456789") == first
    assert "123456789" not in first
    assert len(first) == 32 and int(first, 16) >= 0
    assert names.pseudonym("telegram", 123456780) != first


def test_pseudonym_differs_across_channels_and_instances():
    clock = Clock(datetime(2026, 11, 18, 12, tzinfo=timezone.utc))
    names = Pseudonymiser(clock)
    assert names.pseudonym("telegram", 42) != names.pseudonym("terminal", 42)
    # A fresh process has a fresh key: yesterday's or another worker's pseudonyms can't be matched.
    assert Pseudonymiser(clock).pseudonym("telegram", 42) != names.pseudonym("telegram", 42)


def test_pseudonym_key_rotates_at_utc_midnight():
    clock = Clock(datetime(2026, 11, 18, 23, 59, 59, tzinfo=timezone.utc))
    names = Pseudonymiser(clock)
    before = names.pseudonym("telegram", 42)
    clock.now = datetime(2026, 11, 19, 0, 0, 1, tzinfo=timezone.utc)
    after = names.pseudonym("telegram", 42)
    assert after != before
    assert names.pseudonym("telegram", 42) == after
    # A clock in another time zone is read as UTC: 01:30 on the 19th in UTC+2 is 23:30 on the 18th in UTC, a
    # different day from the key in use, so the key changes again.
    clock.now = datetime(2026, 11, 19, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert names.pseudonym("telegram", 42) != after


def test_pseudonymiser_never_shows_its_key():
    names = Pseudonymiser()
    names.pseudonym("telegram", 1)
    assert names._key.hex() not in repr(names) and str(names._key) not in repr(names)


# ------------------------------------------------------------------------------------------------ tracker store


def user(text, intent, entities=(), **extra):
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": [{"name": intent, "confidence": 0.9}],
        "entities": list(entities),
        "text_tokens": [[0, 4]],
        "response_selector": {"default": {"response": {"responses": [{"text": text}]}}},
    }
    return UserUttered(
        text,
        parse["intent"],
        list(entities),
        parse,
        input_channel="telegram",
        message_id=f"id-{CANARY}",
        metadata={"chat": {"first_name": CANARY}},
        **extra,
    )


def platform_entity(value, raw):
    return {
        "entity": "platform",
        "value": value,
        "start": 10,
        "end": 10 + len(raw),
        "extractor": "RegexEntityExtractor",
        "processors": ["EntitySynonymMapper"],
        "text": raw,
    }


async def conversation(store, sender="conv-1"):
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted(metadata={"user": CANARY}))
    tracker.update(SlotSet("session_started_metadata", {"first_name": CANARY}))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(
        user(
            f"my {CANARY} on snap keeps asking for pics",
            "asked_for_nudes",
            [
                platform_entity("snapchat", "snap"),
                {"entity": "name", "value": CANARY},
                platform_entity(f"{CANARY}gram", f"{CANARY}gram"),
            ],
        )
    )
    tracker.update(SlotSet("platform", "snapchat"))
    tracker.update(ActionExecuted("utter_asked_for_nudes", metadata={"note": CANARY}))
    tracker.update(
        BotUttered(
            f"bot says {CANARY}",
            {"buttons": [{"title": CANARY, "payload": "/greet"}]},
            {"utter_action": "utter_asked_for_nudes", "template_vars": CANARY},
        )
    )
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    return tracker


async def test_store_strips_all_text_but_keeps_what_the_dialogue_needs(domain):
    store = RedactingTrackerStore(domain)
    await conversation(store)
    tracker = await store.retrieve("conv-1")
    assert_no_canary(store._entries)
    users = [e for e in tracker.events if isinstance(e, UserUttered)]
    assert [(u.text, u.intent_name, u.entities) for u in users] == [
        (None, "asked_for_nudes", [{"entity": "platform", "value": "snapchat"}])
    ]
    assert users[0].parse_data == {
        "intent": {"name": "asked_for_nudes", "confidence": 0.9},
        "entities": [{"entity": "platform", "value": "snapchat"}],
        "text": None,
    }
    assert users[0].metadata == {} and users[0].message_id is None and users[0].input_channel == "telegram"
    bots = [e for e in tracker.events if isinstance(e, BotUttered)]
    assert [(b.text, b.data, b.metadata) for b in bots] == [(None, {}, {"utter_action": "utter_asked_for_nudes"})]
    assert [e.action_name for e in tracker.events if isinstance(e, ActionExecuted)] == [
        "action_session_start",
        "action_listen",
        "utter_asked_for_nudes",
        "action_listen",
    ]
    assert tracker.get_slot("platform") == "snapchat"
    assert tracker.get_slot("session_started_metadata") is None
    assert tracker.latest_message is users[0]
    # What Rasa's policies read of the user turn is the intent and the entity type, never text.
    assert users[0].as_sub_state() == {"intent": "asked_for_nudes", "entities": ["platform"]}


async def test_unsafe_slot_values_are_dropped(domain):
    store = RedactingTrackerStore(domain)
    tracker = await store.get_or_create_tracker("c")
    tracker.update(SlotSet("platform", f"{CANARY} app"))
    await store.save(tracker)
    assert tracker.get_slot("platform") is None
    assert_no_canary(store._entries)


async def test_unknown_conversation_is_none_and_rasa_creates_it(domain):
    store = RedactingTrackerStore(domain)
    assert await store.retrieve("nobody") is None
    assert not await store.exists("nobody")
    tracker = await store.get_or_create_tracker("somebody")
    assert tracker.sender_id == "somebody"
    assert await store.retrieve("somebody") is tracker  # kept as an object, not serialised
    assert list(await store.keys()) == ["somebody"]


async def test_a_turn_that_never_saved_is_scrubbed_on_the_next_retrieve(domain):
    store = RedactingTrackerStore(domain)
    tracker = await conversation(store)
    tracker.update(user(f"half a turn {CANARY}", "sextortion"))  # Rasa failed before saving
    assert CANARY in str([e.text for e in tracker.events if isinstance(e, UserUttered)])
    again = await store.retrieve("conv-1")
    assert_no_canary(again)
    assert again.latest_message.intent_name == "sextortion"


async def test_forget_drops_one_conversation_at_once(domain):
    store = RedactingTrackerStore(domain)
    await conversation(store, "a")
    await conversation(store, "b")
    await store.forget("a")
    await store.forget("never-there")
    assert await store.retrieve("a") is None
    assert await store.retrieve("b") is not None
    assert len(store) == 1


async def test_at_most_n_conversations_least_recently_used_go_first(domain):
    store = RedactingTrackerStore(domain, max_conversations=3)
    for name in "abc":
        await store.get_or_create_tracker(name)
    await store.retrieve("a")  # "b" is now the least recently used
    await store.get_or_create_tracker("d")
    assert sorted(await store.keys()) == ["a", "c", "d"]
    for name in "efgh":
        await store.get_or_create_tracker(name)
    assert len(store) == 3 and sorted(await store.keys()) == ["f", "g", "h"]


async def test_idle_conversations_expire(domain):
    now = [1000.0]
    store = RedactingTrackerStore(domain, idle_seconds=30 * 60, clock=lambda: now[0])
    await store.get_or_create_tracker("quiet")
    await store.get_or_create_tracker("busy")
    now[0] += 20 * 60
    assert await store.retrieve("busy") is not None  # used again: its idle time starts over
    now[0] += 10 * 60 + 1
    assert await store.retrieve("quiet") is None
    assert await store.retrieve("busy") is not None
    assert list(await store.keys()) == ["busy"]
    now[0] += 31 * 60
    assert list(await store.keys()) == []


async def test_conversations_are_kept_as_long_as_the_privacy_text_says(domain, monkeypatch):
    # The /privacy text says bot.settings.CONVERSATION_KEPT in words (responses/channel.yml): the store keeps that.
    assert RedactingTrackerStore(domain).idle_seconds == settings.CONVERSATION_KEPT.total_seconds() == 30 * 60
    monkeypatch.setattr(settings, "CONVERSATION_KEPT", timedelta(minutes=20))
    assert RedactingTrackerStore(domain).idle_seconds == 20 * 60


async def test_events_per_conversation_are_bounded(domain):
    store = RedactingTrackerStore(domain, max_events=20)
    tracker = await store.get_or_create_tracker("long")
    for _ in range(50):
        tracker.update(user(f"again {CANARY}", "greet"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
    assert len((await store.retrieve("long")).events) == 20
    assert_no_canary(store._entries)


def test_options_are_checked(domain):
    with pytest.raises(ValueError):
        RedactingTrackerStore(domain, event_broker=object())
    with pytest.raises(ValueError):
        RedactingTrackerStore(domain, max_conversations=0)


# ------------------------------------------------------------------------------------------------ logging


def test_logging_is_quiet_for_every_library_and_idempotent():
    configure_logging()
    handlers = list(logging.getLogger().handlers)
    configure_logging()
    assert logging.getLogger().handlers == handlers
    assert os.environ["RASA_TELEMETRY_ENABLED"] == "false"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    for name in (
        "rasa",
        "rasa.core.processor",
        "httpx",
        "httpcore",
        "telegram",
        "telegram.ext",
        "apscheduler",
        "sanic",
        "tensorflow",
        "absl",
        "matplotlib",
    ):
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.INFO), name
        assert all(h.level >= logging.WARNING or h.level == logging.NOTSET for h in logger.handlers), name


def test_rasa_structlog_events_never_carry_content(capsys):
    configure_logging()
    log = structlog.get_logger()
    log.debug("processor.message.parse", parse_data_text=CANARY)
    log.info("processor.actions.log", text=CANARY)
    log.warning("message.parsing.failed", user_text=CANARY)
    try:
        raise ValueError(f"bad message {CANARY}")
    except ValueError:
        log.exception("rest.message.received.failure", text=CANARY, event_info="Fixed text.")
    out = capsys.readouterr()
    assert CANARY not in out.out + out.err
    assert "processor.message.parse" not in out.out + out.err


def test_structlog_processor_keeps_name_description_and_error_type():
    from bot.privacy import _content_free

    try:
        raise KeyError(CANARY)
    except KeyError:
        kept = _content_free(
            None,
            "error",
            {"event": "x.y", "event_info": "Fixed.", "text": CANARY, "exc_info": True, "rasa_events": [CANARY]},
        )
    assert kept == {"event": "x.y", "event_info": "Fixed.", "error": "KeyError"}


def test_stdlib_exceptions_show_type_and_place_only():
    from bot.privacy import ContentFreeFormatter

    formatter = ContentFreeFormatter("%(levelname)s %(name)s: %(message)s")
    try:
        raise ValueError(f"could not read {CANARY}")
    except ValueError:
        import sys

        record = logging.LogRecord("rasa", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = formatter.format(record)
    assert CANARY not in line
    assert "ValueError at test_privacy.py:" in line


# ------------------------------------------------------------------------------------------------ the real model


def _trained_model():
    try:
        from bot.model_files import latest_model

        return latest_model()
    except FileNotFoundError:
        return None


TURNS = [
    f"hi {CANARY}",
    f"someone on snap keeps asking me for pics {CANARY}",
    "/affirm",
    f"he says he will share my pics unless i pay {CANARY}",
    f"{CANARY} {CANARY}",
    "insta",
    f"thanks {CANARY}",
]


@pytest.mark.skipif(_trained_model() is None, reason="no trained model under models/ (run `signpost train`)")
async def test_same_replies_as_rasas_own_store_and_no_text_kept(domain):
    from rasa.core.agent import Agent

    model = str(_trained_model())
    stock = Agent.load(model, tracker_store=InMemoryTrackerStore(domain))
    redacting_store = RedactingTrackerStore(domain)
    ours = Agent.load(model, tracker_store=redacting_store)

    async def talk(agent):
        replies = []
        for sender in ("young-person-1", "young-person-2"):
            for text in TURNS:
                replies.append(await agent.handle_text(text, sender_id=sender))
        return replies

    expected, got = await talk(stock), await talk(ours)
    assert got == expected
    assert sum(len(r) for r in got) >= len(TURNS)
    assert len(redacting_store) == 2
    assert_no_canary(redacting_store._entries)
    tracker = await redacting_store.retrieve("young-person-1")
    intents = [e.intent_name for e in tracker.events if isinstance(e, UserUttered)]
    assert len(intents) == len(TURNS) and all(intents)
    assert tracker.get_slot("platform") in ("snapchat", "instagram")
    # The stock store, on the same conversation, keeps the text: the comparison is not vacuous.
    assert any(CANARY in s for s in strings_in(stock.tracker_store))


@pytest.mark.parametrize(
    "name", ["telegram.ext.Updater", "telegram._bot", "httpx", "apscheduler.scheduler", "aiohttp.server", "asyncio"]
)
@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.CRITICAL])
def test_library_loggers_never_print_an_update_at_any_level(caplog, name, level):
    """python-telegram-bot logs an update it can't read at CRITICAL, whole; no library record keeps what it was
    given, whichever handler formats it (here pytest's own), and whatever the logger's level."""
    configure_logging()
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        try:
            raise ValueError(f"could not read {CANARY}")
        except ValueError as error:
            logger.log(level, "Error while parsing updates! Received data was %r", {"text": CANARY}, exc_info=error)
        logger.log(level, f"an f-string first line\n{CANARY} on the next")
        logger.log(level, {"text": CANARY})
    finally:
        logger.setLevel(previous)
    assert len(caplog.records) == 3
    assert CANARY not in caplog.text
    assert [r.getMessage() for r in caplog.records] == [
        "Error while parsing updates! Received data was ... (ValueError)",
        "an f-string first line",
        "<dict>",
    ]


def test_signposts_own_loggers_keep_their_arguments(caplog):
    configure_logging()
    logging.getLogger("bot.channels.telegram.updates").warning("Skipped update %s (%s)", 7, "poll")
    assert caplog.records[-1].getMessage() == "Skipped update 7 (poll)"


def test_no_core_dumps_in_a_process_that_asks_for_none():
    import subprocess
    import sys

    code = (
        "import ctypes, resource; from bot.privacy import no_core_dumps; no_core_dumps(); "
        "print(resource.getrlimit(resource.RLIMIT_CORE), ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(0,", "0)", "0"], out  # PR_GET_DUMPABLE answers 0


@pytest.mark.slow  # loads the model in a fresh process
def test_an_engine_loaded_by_code_of_its_own_logs_no_typed_word():
    """Code that uses the engine without the `signpost` commands (a script, a notebook) still logs no message text:
    Rasa's structlog prints every parse, with the text, until logging is set up, and `Engine.load` sets it up."""
    import subprocess
    import sys

    code = (
        "import asyncio; from bot.engine import Engine; e = Engine.load(); "
        "asyncio.run(e.reply('c', 'zqxcanary keeps asking for pics on snap'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "zqxcanary" not in done.stdout + done.stderr
