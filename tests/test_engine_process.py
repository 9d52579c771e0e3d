"""The engine in its own process (bot/engine/process.py): the same answers as in-process, many calls at once, a
crash answered with Childline and recovered from, and a busy engine never holding up the Telegram side."""

import asyncio
import os
import signal
import time
import uuid

import pytest
from fake_telegram import FakeTelegram
from test_telegram import ALICE, BOB, TOKEN, start_bot

from bot.engine.process import EngineProcess, EngineStartError
from bot.privacy import Pseudonymiser
from bot.stats import Stats

CONVERSATION = (
    "/greet",
    "a guy on tiktok keeps asking for pics of me",
    "/talk_to_someone",
    "",
    '/inform_platform{"platform":"snapchat"}',
    "i want to die",
)


@pytest.fixture(scope="module")
async def process(tmp_path_factory):
    """One engine process for this module (loading the model takes seconds), counting into its own database; a
    token in the environment it must not inherit."""
    os.environ["TELEGRAM_BOT_TOKEN"] = TOKEN
    try:
        async with EngineProcess(stats_db=tmp_path_factory.mktemp("engine") / "stats.db", deadline=5.0) as engine:
            yield engine
    finally:
        os.environ.pop("TELEGRAM_BOT_TOKEN", None)


pytestmark = pytest.mark.asyncio(scope="module")


async def test_answers_are_the_in_process_engines(process, engine):
    here, there = uuid.uuid4().hex, uuid.uuid4().hex
    for text in CONVERSATION:
        assert await process.reply(there, text) == await engine.reply(here, text), text


async def test_many_calls_at_once_each_get_their_own_answer(process):
    texts = ["/sextortion", "/self_harm", "/greet", "/thanks"] * 25
    replies = await asyncio.gather(*(process.reply(uuid.uuid4().hex, text) for text in texts))
    assert [r.intent for r in replies] == [t[1:] for t in texts]
    assert all(r.by == "button" for r in replies)


async def test_forget_drops_the_conversation(process):
    conversation_id = uuid.uuid4().hex
    await process.reply(conversation_id, "/greet")
    await process.forget(conversation_id)
    # A forgotten conversation starts again: the same greeting as a brand-new one, with its concern counted anew.
    assert (await process.reply(conversation_id, "/greet")).messages == (
        await process.reply(uuid.uuid4().hex, "/greet")
    ).messages


async def test_a_crashed_engine_answers_with_childline_then_recovers(process):
    os.kill(process._process.pid, signal.SIGSTOP)  # busy, then killed with calls waiting
    waiting = asyncio.ensure_future(process.reply(uuid.uuid4().hex, "/greet"))
    await asyncio.sleep(0.2)
    os.kill(process._process.pid, signal.SIGKILL)
    failed = await asyncio.wait_for(waiting, 30)
    assert failed.by == "error" and "0800 1111" in failed.messages[0].text
    await asyncio.wait_for(process.start(), 300)  # a restart takes longer than a turn's deadline
    recovered = await asyncio.wait_for(process.reply(uuid.uuid4().hex, "/greet"), 30)
    assert recovered.by == "button" and recovered.intent == "greet"


async def test_a_busy_engine_does_not_hold_up_other_chats(process, tmp_path):
    async with FakeTelegram(TOKEN) as fake:
        with Stats(tmp_path / "stats.db") as stats:
            signpost, stop, task = await start_bot(fake, process, stats, pseudonyms=Pseudonymiser())
            try:
                os.kill(process._process.pid, signal.SIGSTOP)  # as if one inference took very long
                try:
                    slow = await fake.send_text(ALICE, "hi")
                    await asyncio.sleep(0.2)
                    other = await fake.send_command(BOB, "/privacy")
                    await fake.wait_for_replies(BOB, other, timeout=5.0)
                    assert not fake.bot_messages(ALICE), "Alice was answered while her engine was stopped"
                finally:
                    os.kill(process._process.pid, signal.SIGCONT)
                await fake.wait_for_replies(ALICE, slow, timeout=30)
                assert "automatic helper" in fake.bot_text(ALICE, slow)
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)


async def test_a_frozen_engine_gets_the_failure_reply_by_the_deadline_and_is_restarted(process, caplog):
    process.deadline = 1.0
    frozen = process._process.pid
    try:
        os.kill(frozen, signal.SIGSTOP)  # hung: as if one turn never ended
        await process.count(outcomes=["picture_deleted"])  # written to the frozen engine: must not be lost
        started = time.monotonic()
        replies = await asyncio.gather(*(process.reply(uuid.uuid4().hex, "i want to die") for _ in range(5)))
        waited = time.monotonic() - started
        assert waited <= process.deadline + 1.0, waited
        assert all(
            r.by == "error" and "999" in r.messages[0].text and "0800 1111" in r.messages[0].text for r in replies
        )
        assert "did not answer within 1.0 s" in caplog.text
        await asyncio.wait_for(process.start(), 300)
        with pytest.raises(ProcessLookupError):
            os.kill(frozen, 0)  # killed (and reaped), not left frozen
    finally:
        process.deadline = 5.0
    await asyncio.wait_for(process.start(), 300)
    assert process._process.pid != frozen
    assert (await process.reply(uuid.uuid4().hex, "/self_harm")).intent == "self_harm"
    with Stats(process.stats_db) as stats:
        for _ in range(100):
            if any("picture_deleted" in day for day in stats.daily("outcomes").values()):
                break
            await asyncio.sleep(0.05)
        assert sum(day.get("picture_deleted", 0) for day in stats.daily("outcomes").values()) == 1


async def test_the_engine_process_gets_no_token_and_dumps_no_core(process):
    environ = open(f"/proc/{process._process.pid}/environ", "rb").read()
    assert b"TELEGRAM_BOT_TOKEN" not in environ and b"TELEGRAM_WEBHOOK_SECRET" not in environ
    limits = open(f"/proc/{process._process.pid}/limits").read()
    core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"], core


async def test_count_this_from_the_telegram_side_reaches_the_database(process):
    with Stats(process.stats_db) as stats:

        def exits():
            return sum(c.get("quick_exit", 0) for c in stats.daily("outcomes").values())

        before = exits()
        await process.count(outcomes=["quick_exit"])
        await process.count(outcomes=["not-a-known-outcome"])  # refused by the engine process, logged
        for _ in range(100):
            if exits() > before:
                break
            await asyncio.sleep(0.05)
        assert exits() == before + 1
    assert (await process.health())["statistics"] == "ok"


async def test_close_stops_the_engine_process(tmp_path):
    engine = EngineProcess(stats_db=tmp_path / "stats.db")
    await engine.start()
    pid = engine._process.pid
    await engine.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not engine.running


async def test_a_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(EngineStartError, match="did not start"):
        await EngineProcess(model_path=tmp_path / "no-such-model.tar.gz", start_timeout=120).start()


async def test_counts_reach_the_database_once_the_engine_is_idle(process):
    with Stats(process.stats_db) as stats:
        before = sum(c.get("self_harm", 0) for c in stats.daily("concerns").values())
        await process.reply(uuid.uuid4().hex, "/self_harm")
        for _ in range(100):  # written as soon as no message is waiting
            now = sum(c.get("self_harm", 0) for c in stats.daily("concerns").values())
            if now > before:
                break
            await asyncio.sleep(0.05)
        assert now == before + 1


async def test_no_trained_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.model_files.MODELS_DIR", tmp_path)
    with pytest.raises(EngineStartError, match="No trained model"):
        await EngineProcess().start()
