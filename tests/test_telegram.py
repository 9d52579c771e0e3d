"""End-to-end tests of the Telegram front end: the real python-telegram-bot client, real HTTP on 127.0.0.1, the fake
Bot API server in tests/fake_telegram.py, and the real engine on the trained model."""

import asyncio
import logging
import re
import socket
import time
from datetime import timedelta

import pytest
from fake_telegram import FakeTelegram
from helpers import InProcessEngine

from bot import settings
from bot.channels import telegram as tg
from bot.privacy import Pseudonymiser
from bot.stats import Stats

TOKEN = "4839574812:AAF-canary-token-never-logged_XyZ"
ALICE, BOB = 1001, 2002


@pytest.fixture
async def fake():
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def stats(tmp_path):
    with Stats(tmp_path / "stats.db") as db:
        yield db


class RecordingEngine(InProcessEngine):
    """The real engine (counting into `stats`), noting which conversation ids it was given (ids only, never text)."""

    def __init__(self, engine, stats=None):
        super().__init__(engine, stats)
        self.conversations = []

    async def reply(self, conversation_id, text):
        self.conversations.append(conversation_id)
        return await super().reply(conversation_id, text)

    async def forget(self, conversation_id):
        self.conversations.append(conversation_id)
        await super().forget(conversation_id)


async def start_bot(fake, engine, stats, webhook=None, pseudonyms=None, **limits):
    """Build and serve the bot against the fake server; returns (signpost, stop event, serving task). An engine
    without `count` (the session's in-process one) counts into `stats`, as the engine process would."""
    if not hasattr(engine, "count"):
        engine = InProcessEngine(engine, stats)
    signpost = tg.SignpostBot(engine, pseudonyms or Pseudonymiser())
    application = tg.build_application(TOKEN, signpost, base_url=fake.base_url, webhook=webhook is not None)
    if webhook is not None:
        webhook = tg.WebhookServer(application, *webhook, **limits)
    stop = asyncio.Event()
    task = asyncio.create_task(tg.serve(application, stop, webhook))
    ready = "getUpdates" if webhook is None else "setWebhook"
    await fake.wait_for(lambda: fake.calls_to(ready) or task.done())
    if task.done():
        task.result()
    return signpost, stop, task


@pytest.fixture
async def bot(fake, engine, stats):
    """The bot running with long polling against the fake server."""
    recording = RecordingEngine(engine, stats)
    signpost, stop, task = await start_bot(fake, recording, stats)
    signpost.recording = recording
    yield signpost
    stop.set()
    await asyncio.wait_for(task, 30)


def errors(caplog):
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_start_says_what_this_is_and_registers_commands(fake, bot, caplog):
    sent = await fake.send_command(ALICE, "/start")
    await fake.wait_for_replies(ALICE, sent, count=2)
    text = fake.bot_text(ALICE)
    assert "automatic helper" in text and "not a person" in text
    assert "Nothing you type" in text
    assert "/exit" in text and "Leave quickly" in text
    assert "0800 1111" in text
    commands = fake.calls_to("setMyCommands")[0].params["commands"]
    assert [c["command"] for c in commands] == ["start", "help", "privacy", "exit"]
    assert fake.calls_to("deleteWebhook"), "polling starts by clearing any webhook"
    # The greeting's menu is a keyboard, and every keyboard ends with Leave quickly.
    menu = fake.bot_messages(ALICE)[0]
    assert len(menu.keyboard_data()) >= 5
    assert menu.keyboard_titles()[-1] == "Leave quickly" and menu.keyboard_data()[-1] == "exit"
    assert all(m.protect_content for m in fake.bot_messages(ALICE))
    assert all(c.params.get("protect_content") is True for c in fake.calls_to("sendMessage"))
    assert not errors(caplog)


async def test_help_and_privacy(fake, bot):
    sent = await fake.send_command(ALICE, "/help")
    await fake.wait_for_replies(ALICE, sent)
    assert "999" in fake.bot_text(ALICE, sent) and "0800 1111" in fake.bot_text(ALICE, sent)
    sent = await fake.send_command(ALICE, "/privacy")
    await fake.wait_for_replies(ALICE, sent, count=2)  # what is kept, then the rest
    privacy = fake.bot_text(ALICE, sent)
    assert "Nothing you type" in privacy and "/exit" in privacy and "deleted straight away" in privacy
    # The file's words (responses/channel.yml) with the settings' durations.
    assert privacy == "\n".join(m.text for m in tg.privacy())
    assert "forget it after 30 minutes." in privacy and "for up to 2 days," in privacy


async def test_the_privacy_text_follows_the_settings(fake, bot, monkeypatch):
    monkeypatch.setattr(settings, "CONVERSATION_KEPT", timedelta(minutes=20))
    monkeypatch.setattr(settings, "MESSAGE_IDS_KEPT", timedelta(hours=24))
    sent = await fake.send_command(ALICE, "/privacy")
    await fake.wait_for_replies(ALICE, sent, count=2)  # what is kept, then the rest
    privacy = fake.bot_text(ALICE, sent)
    assert "forget it after 20 minutes." in privacy and "for up to 1 day," in privacy and "2 days" not in privacy


async def test_a_concern_naming_an_app_gets_that_apps_steps(fake, bot):
    sent = await fake.send_text(ALICE, "a guy on tiktok keeps asking for pics of me")
    await fake.wait_for(lambda: "Childline" in fake.bot_text(ALICE, sent))
    await fake.settle(0.3)
    text = fake.bot_text(ALICE, sent)
    assert "On TikTok" in text
    assert "say no" in text
    # The last message of a reply always offers Leave quickly.
    assert fake.bot_messages(ALICE)[-1].keyboard_data()[-1] == "exit"


async def test_a_button_press_is_answered_removed_and_routed(fake, bot, caplog):
    await fake.send_text(ALICE, "how do i block someone")
    menu = await fake.wait_for(
        lambda: next((m for m in fake.bot_messages(ALICE) if "Instagram" in m.keyboard_titles()), None)
    )
    await fake.settle(0.3)
    # Callback data is a short index, whatever the payload's length (Telegram's limit is 64 bytes).
    assert all(len(d.encode()) <= 64 for d in menu.keyboard_data())
    data = menu.keyboard_data()[menu.keyboard_titles().index("Instagram")]
    before = fake.last_id(ALICE)
    query = await fake.press(ALICE, menu.message_id, data)

    await fake.wait_for(lambda: "On Instagram" in fake.bot_text(ALICE, before))
    answered = [c.params["callback_query_id"] for c in fake.calls_to("answerCallbackQuery")]
    assert answered == [query]
    assert fake.chat(ALICE).alive[menu.message_id].reply_markup is None, "the pressed keyboard is removed"
    # The press is acknowledged and its keyboard removed before the engine's answer is sent.
    order = [
        c.method
        for c in fake.calls
        if c.method in ("answerCallbackQuery", "editMessageReplyMarkup")
        or (c.method == "sendMessage" and "On Instagram" in c.params.get("text", ""))
    ]
    assert order == ["answerCallbackQuery", "editMessageReplyMarkup", "sendMessage"]

    # The same (stale) button pressed again: answered, but not routed a second time.
    await fake.settle(0.3)
    count = len(fake.bot_messages(ALICE))
    second = await fake.press(ALICE, menu.message_id, data)
    await fake.wait_for(lambda: second in [c.params["callback_query_id"] for c in fake.calls_to("answerCallbackQuery")])
    await fake.settle(0.3)
    assert len(fake.bot_messages(ALICE)) == count
    assert fake.calls_to("answerCallbackQuery")[-1].params.get("text") == tg.USED_TEXT
    assert not errors(caplog)


@pytest.mark.parametrize("kind", ["photo", "video", "video_note", "animation", "document"])
async def test_a_picture_is_deleted_at_once_and_never_downloaded(fake, bot, stats, kind):
    sent = await fake.send_media(ALICE, kind)
    await fake.wait_for_replies(ALICE, sent)
    assert [c.params["message_id"] for c in fake.calls_to("deleteMessage", ALICE)] == [sent]
    assert sent not in fake.chat(ALICE).alive
    text = fake.bot_text(ALICE, sent)
    assert text == tg.PICTURE_MENU.text and "0800 1111" in text  # a whole answer: Childline too
    assert "never need to show anyone a picture" in text
    assert "username" in text  # what to keep as proof instead
    assert "A pic of me got shared" in fake.bot_messages(ALICE)[-1].keyboard_titles()
    assert "getFile" not in fake.methods() and "file_download" not in fake.methods()
    assert stats.daily("outcomes") and list(stats.daily("outcomes").values())[0] == {"picture_deleted": 1}


async def test_a_pictures_caption_gets_its_own_answer(fake, bot):
    sent = await fake.send_media(ALICE, "photo", caption="someone on instagram is threatening to share my pics")
    await fake.wait_for(lambda: "On Instagram" in fake.bot_text(ALICE, sent))
    assert sent not in fake.chat(ALICE).alive
    first = fake.bot_messages(ALICE)[0]
    assert "never need to show anyone a picture" in first.text
    assert "getFile" not in fake.methods()


async def test_an_edited_message_turned_into_a_photo_is_deleted(fake, bot):
    sent = await fake.send_text(ALICE, "hi")
    await fake.wait_for_replies(ALICE, sent)
    await fake.settle(0.3)
    await fake.edit_to_photo(ALICE, sent)
    await fake.wait_for(lambda: sent not in fake.chat(ALICE).alive)
    await fake.wait_for(lambda: "never need to show anyone a picture" in fake.bot_text(ALICE))


async def test_voice_stickers_emoji_and_edits_are_handled(fake, bot, caplog):
    sent = await fake.send_media(ALICE, "voice")
    await fake.wait_for_replies(ALICE, sent)
    assert "only read typed messages" in fake.bot_text(ALICE, sent)
    assert sent in fake.chat(ALICE).alive

    sent = await fake.send_media(ALICE, "sticker")
    await fake.wait_for_replies(ALICE, sent)
    assert "Pick the one closest" in fake.bot_text(ALICE, sent)
    assert sent in fake.chat(ALICE).alive, "stickers come from public packs: not deleted"

    sent = await fake.send_text(ALICE, "\U0001f622\U0001f622")
    await fake.wait_for_replies(ALICE, sent)
    # Not understood twice in a row: the menu again with Childline, without repeating "I'm not sure I understood".
    assert "closest" in fake.bot_text(ALICE, sent) and "Childline" in fake.bot_text(ALICE, sent)

    edited_before = fake.last_id(ALICE)
    await fake.edit_text(ALICE, sent, "a guy on tiktok keeps asking for pics of me")
    await fake.wait_for(lambda: "Childline" in fake.bot_text(ALICE, edited_before))
    assert "On TikTok" in fake.bot_text(ALICE, edited_before)

    sent = await fake.send_media(ALICE, "location")
    await fake.wait_for_replies(ALICE, sent)
    assert sent not in fake.chat(ALICE).alive
    assert fake.bot_text(ALICE, sent) == tg.PLACE_TEXT
    assert "999" in tg.PLACE_TEXT and "0800 1111" in tg.PLACE_TEXT
    await fake.settle(0.3)
    assert not errors(caplog)
    assert "getFile" not in fake.methods()


async def test_exit_deletes_the_conversation_and_forgets_it(fake, bot, stats, engine):
    for text in ("hi", "a guy on tiktok keeps asking for pics of me"):
        sent = await fake.send_text(ALICE, text)
        await fake.wait_for_replies(ALICE, sent)
        await fake.settle(0.3)
    conversation = bot.recording.conversations[-1]
    assert await engine.tracker_store.retrieve(conversation) is not None
    everything = sorted(fake.chat(ALICE).alive)
    assert len(everything) >= 6

    exit_id = await fake.send_command(ALICE, "/exit")
    await fake.wait_for_replies(ALICE, exit_id)
    deleted = [i for c in fake.calls_to("deleteMessages", ALICE) for i in c.params["message_ids"]]
    assert deleted == sorted(everything + [exit_id], reverse=True), "both sides, newest first"
    alive = list(fake.chat(ALICE).alive.values())
    assert len(alive) == 1 and alive[0].text == tg.EXIT_TEXT and not alive[0].reply_markup
    assert await engine.tracker_store.retrieve(conversation) is None
    assert list(stats.daily("outcomes").values())[0]["quick_exit"] == 1
    assert len(bot.memory) == 0, "nothing about the chat is kept after a quick exit"


async def test_leave_quickly_button_deletes_in_batches_of_at_most_100(fake, bot):
    # 250 earlier messages (both sides) the bot remembers; then one real reply with its keyboard.
    for _ in range(250):
        message = fake.chat(ALICE).add(False, text="earlier")
        bot.memory.seen(ALICE, message.message_id)
    sent = await fake.send_text(ALICE, "hi")
    await fake.wait_for_replies(ALICE, sent)
    last = fake.bot_messages(ALICE)[-1]
    await fake.press(ALICE, last.message_id, "exit")
    await fake.wait_for(lambda: tg.EXIT_TEXT in fake.bot_text(ALICE, last.message_id))
    batches = [c.params["message_ids"] for c in fake.calls_to("deleteMessages", ALICE)]
    assert [len(b) for b in batches] == [100, 100, 52]
    flat = [i for b in batches for i in b]
    assert flat == sorted(flat, reverse=True) and len(set(flat)) == 252
    assert [m.text for m in fake.chat(ALICE).alive.values()] == [tg.EXIT_TEXT]


async def test_two_users_at_once_get_independent_conversations(fake, bot):
    a, b = await asyncio.gather(
        fake.send_text(ALICE, "a guy on tiktok keeps asking for pics of me"),
        fake.send_text(BOB, "someone on instagram is threatening to share my pics"),
    )
    await fake.wait_for(lambda: "Childline" in fake.bot_text(ALICE, a) and "Childline" in fake.bot_text(BOB, b))
    await fake.settle(0.3)
    assert "On TikTok" in fake.bot_text(ALICE) and "Instagram" not in fake.bot_text(ALICE)
    assert "On Instagram" in fake.bot_text(BOB) and "TikTok" not in fake.bot_text(BOB)
    # The engine saw two different pseudonyms, neither of them the chat id.
    conversations = set(bot.recording.conversations)
    assert len(conversations) == 2
    assert not any(str(chat) in c for c in conversations for chat in (ALICE, BOB))
    assert all(re.fullmatch(r"[0-9a-f]{32}", c) for c in conversations)

    # Bob's quick exit leaves Alice's conversation alone.
    exit_id = await fake.send_command(BOB, "/exit")
    await fake.wait_for_replies(BOB, exit_id)
    assert not fake.calls_to("deleteMessages", ALICE)
    assert len(fake.chat(ALICE).alive) >= 4


async def test_flood_control_is_waited_out_and_one_chats_replies_keep_their_order(fake, bot, caplog):
    fake.flood("sendMessage", retry_after=1, times=2)
    started = time.monotonic()
    first = await fake.send_text(ALICE, "a guy on tiktok keeps asking for pics of me")
    await fake.send_text(ALICE, "someone on instagram is threatening to share my pics")
    await fake.wait_for(lambda: fake.bot_text(ALICE, first).count("Childline") >= 2, timeout=60)
    assert time.monotonic() - started >= 2.0
    texts = [m.text for m in fake.bot_messages(ALICE)]
    # The first message's whole answer, then the second's: never mixed, though the first was held up.
    tiktok = [i for i, t in enumerate(texts) if "TikTok" in t]
    instagram = [i for i, t in enumerate(texts) if "Instagram" in t]
    assert texts[0].startswith("You can always say no")
    assert tiktok and instagram and max(tiktok) < min(instagram)
    closing = [i for i, t in enumerate(texts) if t.startswith("Talk to a real person at Childline")]
    assert closing and closing[0] < min(instagram) and texts[-1].startswith("Talk to a real person")
    assert not errors(caplog)


async def test_an_internal_error_is_logged_bare_and_the_young_person_gets_childline(fake, engine, stats, caplog):
    class BrokenEngine(RecordingEngine):
        async def reply(self, conversation_id, text):
            raise RuntimeError(f"broken while reading {text}")

    signpost, stop, task = await start_bot(fake, BrokenEngine(engine), stats)
    try:
        sent = await fake.send_text(ALICE, "secret canary words 4471")
        await fake.wait_for_replies(ALICE, sent)
        assert "0800 1111" in fake.bot_text(ALICE, sent)
        [record] = errors(caplog)
        assert re.fullmatch(r"RuntimeError in handlers\.py:\d+ \w+", record.getMessage())
        assert record.exc_info is None and "4471" not in caplog.text and str(ALICE) not in caplog.text
    finally:
        stop.set()
        await task


async def test_the_token_never_appears_in_logs_or_output(fake, engine, stats, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    signpost, stop, task = await start_bot(fake, engine, stats)
    try:
        fake.flood("sendMessage", retry_after=1)
        sent = await fake.send_command(ALICE, "/start")
        await fake.wait_for_replies(ALICE, sent, count=2)
        photo = await fake.send_media(ALICE, "photo")
        await fake.wait_for_replies(ALICE, photo)
        exit_id = await fake.send_command(ALICE, "/exit")
        await fake.wait_for_replies(ALICE, exit_id)
    finally:
        stop.set()
        await task
    out, err = capsys.readouterr()
    assert fake.calls, "the bot did talk to the fake server"
    secret_part = TOKEN.split(":")[1]
    for captured in (caplog.text, out, err):
        assert secret_part not in captured


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_refuses_a_wrong_secret_and_accepts_the_right_one(fake, engine, stats):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    signpost, stop, task = await start_bot(fake, engine, stats, webhook=(url, "right-Secret_1", "127.0.0.1", port))
    try:
        registered = fake.calls_to("setWebhook")[0].params
        assert registered["url"] == url and registered["secret_token"] == "right-Secret_1"
        update = {
            "update_id": 99,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "text": "hi",
                "chat": {"id": ALICE, "type": "private"},
                "from": {"id": ALICE, "is_bot": False, "first_name": "Y"},
            },
        }
        assert await fake.post_to_webhook(update, "wrong-secret") == 403
        assert await fake.post_to_webhook(update, None) == 403
        await asyncio.sleep(0.3)
        assert not fake.calls_to("sendMessage"), "a refused request is never processed"

        sent = await fake.send_text(ALICE, "a guy on tiktok keeps asking for pics of me")  # POSTed with the secret
        await fake.wait_for(lambda: "On TikTok" in fake.bot_text(ALICE, sent))
        assert not fake.calls_to("getUpdates")
    finally:
        stop.set()
        await task


def test_chat_memory_keeps_numbers_within_48_hours_only():
    now = [0.0]
    memory = tg.ChatMemory(clock=lambda: now[0])
    memory.seen(ALICE, 1)
    memory.add_buttons(ALICE, 2, ["/greet", '/inform_platform{"platform":"playstation"}'])
    now[0] += timedelta(hours=47).total_seconds()
    memory.seen(ALICE, 3)
    assert memory.take_buttons(ALICE, 2) == ("/greet", '/inform_platform{"platform":"playstation"}')
    assert memory.take_buttons(ALICE, 2) is None, "a keyboard can be used once"
    now[0] += timedelta(hours=2).total_seconds()
    assert memory.take_all(ALICE) == [3], "ids past 48 hours can't be deleted and aren't kept"
    assert memory.take_all(ALICE) == []

    memory.seen(BOB, 5)
    now[0] += timedelta(hours=49).total_seconds()
    memory.seen(ALICE, 6)  # the sweep drops Bob's expired chat entirely
    assert len(memory) == 1


def test_chat_memory_keeps_a_range_not_every_id_and_forgets_the_least_recent_chat_first():
    memory = tg.ChatMemory(max_chats=2)
    for message_id in range(1, 2801):
        memory.seen(ALICE, message_id)
    memory.seen(BOB, 7)
    assert len(memory._chats[ALICE].marks) == 1, "one mark per few minutes, not one entry per message"
    memory.seen(ALICE, 2801)  # Alice is now the most recent: a third chat pushes Bob out
    memory.seen(3003, 1)
    assert set(memory._chats) == {ALICE, 3003}
    assert memory.take_all(ALICE) == list(range(2801, 0, -1))
    assert memory.take_all(BOB) == []


def test_chat_memory_keeps_at_most_a_few_live_keyboards_per_chat():
    memory = tg.ChatMemory(max_keyboards=2)
    for message_id in (1, 2, 3):
        memory.add_buttons(ALICE, message_id, ["/greet"])
    assert memory.take_buttons(ALICE, 1) is None and memory.take_buttons(ALICE, 3) == ("/greet",)
