"""Faults on the Telegram side (issue 14): an update the library can't read, a broken Bot API server, silence,
a very long chat's /exit, and the webhook under half-open connections. Real python-telegram-bot, real HTTP on
127.0.0.1 only, the fake Bot API server (tests/fake_telegram.py) and the real engine."""

import asyncio
import json
import logging
import socket
import time
import uuid

import pytest
from fake_telegram import FakeTelegram
from helpers import InProcessEngine
from test_telegram import ALICE, BOB, TOKEN, free_port, start_bot, stats  # noqa: F401 (a fixture)

from bot.channels import telegram as tg
from bot.replies import Reply

CRISIS = "i want to die"


@pytest.fixture
async def fake():
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def polling(fake, engine, stats):
    signpost, stop, task = await start_bot(fake, engine, stats)
    yield signpost
    stop.set()
    await asyncio.wait_for(task, 30)


def old_poll(chat_id, canary):
    """A private message holding a poll in an older Bot API shape (python-telegram-bot 22 can't read it)."""
    return {
        "message": {
            "message_id": 900,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": canary},
            "from": {"id": chat_id, "is_bot": False, "first_name": canary},
            "poll": {
                "id": "p1",
                "question": f"{canary} question",
                "options": [{"text": canary, "voter_count": 0}],
                "is_closed": False,
            },
        }
    }


async def test_an_update_the_library_cant_read_is_skipped_and_other_chats_are_answered(fake, polling, caplog):
    caplog.set_level(logging.DEBUG)
    canary = f"canary-{uuid.uuid4().hex}"
    await fake.push_raw(old_poll(ALICE, canary))
    await fake.push_raw({"poll": {"id": "p2", "question": canary, "options": [], "is_closed": True}})
    started = time.monotonic()
    sent = await fake.send_text(BOB, CRISIS)
    await fake.wait_for(lambda: "999" in fake.bot_text(BOB, sent), timeout=10)
    assert time.monotonic() - started < 5
    await fake.settle(0.5)
    assert len(fake.calls_to("getUpdates")) < 20, "the unreadable batch is not fetched again and again"
    skipped = [r.getMessage() for r in caplog.records if "Skipped update" in r.getMessage()]
    ids = [u["update_id"] for u in fake.raw_updates[:2]]
    assert skipped == [
        f"Skipped update {ids[0]} (message): it could not be read (TypeError).",
        f"Skipped update {ids[1]} (poll): it could not be read (TypeError).",
    ]
    assert canary not in caplog.text and canary[7:23] not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


async def test_polling_backs_off_when_the_bot_api_keeps_failing(fake, polling):
    await fake.wait_for(lambda: len(fake.calls_to("getUpdates")) >= 2)
    fake.fail("getUpdates", status=500, times=1000)
    before = len(fake.calls_to("getUpdates"))
    await asyncio.sleep(4)
    failed = len(fake.calls_to("getUpdates")) - before
    assert 1 <= failed <= 5, f"{failed} getUpdates in 4 s: waits of 1, 1.5, 2.25 ... s between failures"
    fake._failures.clear()
    sent = await fake.send_text(ALICE, CRISIS)
    await fake.wait_for(lambda: "999" in fake.bot_text(ALICE, sent), timeout=40)


class Silent(InProcessEngine):
    """An engine whose answer has no text (as Rasa gives for /restart)."""

    async def reply(self, conversation_id, text):
        return Reply((), "out_of_scope", "restart", 1.0, None, "model")


async def test_every_text_gets_an_answer_even_an_empty_one_from_the_engine(fake, engine, stats):
    signpost, stop, task = await start_bot(fake, Silent(engine, stats), stats)
    try:
        sent = await fake.send_text(ALICE, "/restart")
        await fake.wait_for_replies(ALICE, sent)
        assert "0800 1111" in fake.bot_text(ALICE, sent) and "999" in fake.bot_text(ALICE, sent)
    finally:
        stop.set()
        await task


async def test_exit_deletes_a_whole_2800_message_chat(fake, polling):
    chat = fake.chat(ALICE)
    for _ in range(2800):
        polling.memory.seen(ALICE, chat.add(False, text="earlier").message_id)
    exit_id = await fake.send_command(ALICE, "/exit")
    await fake.wait_for(lambda: tg.EXIT_TEXT in fake.bot_text(ALICE, exit_id))
    batches = [c.params["message_ids"] for c in fake.calls_to("deleteMessages", ALICE)]
    assert len(batches) == 29 and all(len(b) <= 100 for b in batches)
    assert [m.text for m in chat.alive.values()] == [tg.EXIT_TEXT]


async def test_exit_says_honestly_what_it_could_not_delete(fake, polling):
    chat = fake.chat(ALICE)
    for _ in range(150):
        polling.memory.seen(ALICE, chat.add(False, text="earlier").message_id)
    fake.undeletable = {(ALICE, 3), (ALICE, 4)}
    exit_id = await fake.send_command(ALICE, "/exit")
    await fake.wait_for(lambda: fake.bot_messages(ALICE))
    text = fake.bot_text(ALICE, exit_id)
    assert "Chat cleared" not in text and "2 older messages" in text
    assert sorted(chat.alive) == [3, 4, exit_id + 1]


def deleted_ids(fake, chat_id):
    """Every id the bot asked Telegram to delete in a chat, in the order asked."""
    batches = [c.params["message_ids"] for c in fake.calls_to("deleteMessages", chat_id)]
    return [i for batch in batches for i in batch] + [c.params["message_id"] for c in fake.calls_to("deleteMessage")]


async def exit_and_read(fake, chat_id=ALICE):
    exit_id = await fake.send_command(chat_id, "/exit")
    await fake.wait_for(lambda: fake.bot_text(chat_id, exit_id))
    await fake.settle(0.2)
    return exit_id, fake.bot_text(chat_id, exit_id)


async def test_exit_twice_leaves_one_neutral_message(fake, polling):
    sent = await fake.send_text(ALICE, "someone on snap wants pics")
    await fake.wait_for_replies(ALICE, sent)
    await fake.settle(0.3)
    first_exit, first_text = await exit_and_read(fake)
    second_exit, second_text = await exit_and_read(fake)
    assert first_text == second_text == tg.EXIT_TEXT
    # The first /exit's own message is deleted by the second: the chat holds one neutral line, nothing else.
    assert [(m.message_id, m.text) for m in fake.chat(ALICE).alive.values()] == [(second_exit + 1, tg.EXIT_TEXT)]
    assert first_exit + 1 in deleted_ids(fake, ALICE)
    assert len(polling.memory) == 0


async def test_exit_as_the_first_message_of_a_chat(fake, polling):
    exit_id, text = await exit_and_read(fake)
    assert exit_id == 1 and text == tg.EXIT_TEXT
    assert [m.text for m in fake.chat(ALICE).alive.values()] == [tg.EXIT_TEXT]
    assert all(c.params["message_ids"] for c in fake.calls_to("deleteMessages")), "no empty batch"


async def test_exit_deletes_a_chat_the_bot_has_no_memory_of(fake, polling):
    # 400 messages from before a restart: the bot remembers none of them.
    chat = fake.chat(ALICE)
    for n in range(400):
        chat.add(n % 2 == 0, text="before the restart")
    _, text = await exit_and_read(fake)
    assert text == tg.EXIT_TEXT
    assert [m.text for m in chat.alive.values()] == [tg.EXIT_TEXT]
    assert len(fake.calls_to("deleteMessages")) == 5  # ids 401 .. 1 in batches of at most 100


async def test_exit_after_the_48_hour_memory_expired_says_what_is_left(fake, polling):
    now = [time.monotonic()]
    polling.memory._clock = lambda: now[0]
    chat = fake.chat(ALICE)
    for _ in range(30):
        polling.memory.seen(ALICE, chat.add(False, text="two days ago").message_id)
    now[0] += 49 * 3600
    fake.undeletable = {(ALICE, i) for i in range(1, 31)}  # Telegram refuses messages older than 48 hours
    exit_id, text = await exit_and_read(fake)
    assert text == tg.EXIT_OLDER_TEXT and "Chat cleared" not in text
    assert sorted(chat.alive) == [*range(1, 31), exit_id + 1], "the /exit itself is deleted, the old ones can't be"
    assert len(fake.calls_to("deleteMessage")) == 1, "trying stops at the first id Telegram refuses"


async def test_exit_refused_on_older_messages_it_did_not_remember(fake, polling):
    chat = fake.chat(ALICE)
    for _ in range(60):
        chat.add(False, text="before the restart")
    fake.undeletable = {(ALICE, i) for i in range(1, 11)}  # the oldest ten are past 48 hours
    _, text = await exit_and_read(fake)
    assert text == tg.EXIT_OLDER_TEXT
    assert sorted(chat.alive)[:10] == list(range(1, 11)) and len(chat.alive) == 11


async def test_exit_on_a_2800_message_chat_from_before_a_restart(fake, polling):
    chat = fake.chat(ALICE)
    for _ in range(2800):
        chat.add(False, text="earlier")
    _, text = await exit_and_read(fake)
    assert text == tg.EXIT_TEXT and [m.text for m in chat.alive.values()] == [tg.EXIT_TEXT]


async def test_exit_on_a_chat_longer_than_it_tries_says_so(fake, polling):
    chat = fake.chat(ALICE)
    for _ in range(tg.handlers.OLDER_TRIED + 50):
        chat.add(False, text="long ago")
    _, text = await exit_and_read(fake)
    assert text == tg.EXIT_OLDER_TEXT
    assert len(chat.alive) == 50 + 1, "the newest OLDER_TRIED and the /exit deleted, the 50 oldest left"


# ---------------------------------------------------------------------------------------------------------------
# The webhook


LIMITS = tg.WebhookLimits(header_timeout=1.0, body_timeout=1.0, idle_timeout=2.0, max_connections=20)


@pytest.fixture
async def webhook(fake, engine, stats):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    signpost, stop, task = await start_bot(
        fake, engine, stats, webhook=(url, "right-Secret_1", "127.0.0.1", port), limits=LIMITS
    )
    yield port
    stop.set()
    await asyncio.wait_for(task, 30)


def half_open(port, count, partial=b"POST /telegram/hook HTTP/1.1\r\nHost: x\r\n"):
    """`count` connections to 127.0.0.1 that send part of a request and then nothing."""
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(partial)
        sockets.append(s)
    return sockets


def closed(s):
    s.settimeout(0.01)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


async def test_half_open_connections_never_keep_a_real_update_out(fake, webhook):
    sockets = await asyncio.to_thread(half_open, webhook, 300)
    try:
        started = time.monotonic()
        sent = await fake.send_text(ALICE, CRISIS)  # POSTed with the secret, as Telegram would
        await fake.wait_for(lambda: "999" in fake.bot_text(ALICE, sent), timeout=10)
        assert time.monotonic() - started < 2
        await asyncio.sleep(LIMITS.header_timeout + 0.5)
        assert all(closed(s) for s in sockets), "each is closed: pushed out at the cap, or its headers timed out"
    finally:
        for s in sockets:
            s.close()


async def test_a_slow_body_is_cut_off_and_an_unreadable_update_is_skipped_with_200(fake, webhook, caplog):
    slow = await asyncio.to_thread(
        half_open,
        webhook,
        1,
        b"POST /telegram/hook HTTP/1.1\r\nContent-Length: 100\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: right-Secret_1\r\n\r\n{",
    )
    await asyncio.sleep(LIMITS.body_timeout + 0.5)
    assert closed(slow[0])
    slow[0].close()
    canary = f"canary-{uuid.uuid4().hex}"
    assert await fake.push_raw(old_poll(ALICE, canary)) == 200, "Telegram must not send it again"
    sent = await fake.send_text(BOB, CRISIS)
    await fake.wait_for(lambda: "999" in fake.bot_text(BOB, sent), timeout=10)
    assert canary[7:23] not in caplog.text and "Skipped update" in caplog.text


async def test_healthz_says_it_is_up_and_nothing_else(webhook):
    reader, writer = await asyncio.open_connection("127.0.0.1", webhook)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["ok"] is True
