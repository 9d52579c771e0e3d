"""bot/channels/telegram/http.py: python-telegram-bot's Bot API calls over aiohttp, against real HTTP servers on
127.0.0.1."""

import asyncio
import json
import socket
import time
import traceback

import pytest
from aiohttp import web
from fake_telegram import BOT_USER, FakeTelegram
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.channels.telegram.http import AiohttpRequest, with_aiohttp

TOKEN = "4839574812:AAF-canary-token-never-logged_XyZ"
MARKUP = InlineKeyboardMarkup([[InlineKeyboardButton("Leave quickly", callback_data="exit")]])


class Server:
    """A Bot API stand-in: records each request and answers from `answers` (default: ok, with getMe's user)."""

    def __init__(self):
        self.requests = []
        self.answers = {}
        self.port = 0

    async def handle(self, request):
        method = request.match_info["method"]
        received = {
            "method": method,
            "content_type": request.content_type,
            "user_agent": request.headers.get("User-Agent"),
            "fields": {},
        }
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                received["fields"][part.name] = (part.filename, part.headers.get("Content-Type"), await part.read())
        else:
            received["body"] = await request.read()
            received["fields"] = dict(await request.post())
        self.requests.append(received)
        answer = self.answers.get(method)
        if callable(answer):
            return await answer(request)
        status, payload = answer or (200, {"ok": True, "result": BOT_USER if method == "getMe" else True})
        return web.json_response(payload, status=status)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/bot"

    def bot(self, request=None, **kwargs):
        request = request or AiohttpRequest(**kwargs)
        return Bot(TOKEN, base_url=self.base_url, request=request, get_updates_request=AiohttpRequest(**kwargs))


@pytest.fixture
async def server():
    app = web.Application()
    fake = Server()
    app.router.add_route("*", "/bot{token}/{method}", fake.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)  # a held request ends with its client
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.port = site._server.sockets[0].getsockname()[1]
    yield fake
    await runner.cleanup()


def text_of(error):
    """Everything a log line with this exception's traceback would show, chained exceptions included."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def assert_no_token(error):
    assert TOKEN not in text_of(error) and TOKEN.split(":")[1] not in text_of(error)


async def send(server, request_class):
    """Send a message with a keyboard through `request_class`; the form the server received."""
    async with server.bot(request_class()) as bot:
        await bot.send_message(1, "hi \u00e9 & =", reply_markup=MARKUP)
    received = server.requests[-1]
    assert received["method"] == "sendMessage"
    return received


async def test_parameters_arrive_form_encoded_exactly_as_with_httpx(server):
    received = await send(server, AiohttpRequest)
    assert received["content_type"] == "application/x-www-form-urlencoded"
    form = received["fields"]
    assert form["chat_id"] == "1" and form["text"] == "hi \u00e9 & ="
    assert json.loads(form["reply_markup"]) == MARKUP.to_dict()
    assert "python-telegram-bot" in received["user_agent"]
    assert received == await send(server, HTTPXRequest)


async def test_get_me_and_a_bot_method_return_telegram_objects(server):
    async with server.bot() as bot:
        me = await bot.get_me()
        assert me.id == BOT_USER["id"] and me.username == BOT_USER["username"]
        assert await bot.set_my_commands([("start", "Start")]) is True


async def files_received(server, request_class):
    async with server.bot(request_class()) as bot:
        await bot.send_document(1, b"%PDF-1 data", filename="leaflet.pdf", caption="c")
    received = server.requests[-1]
    assert received["method"] == "sendDocument" and received["content_type"] == "multipart/form-data"
    return received["fields"]


async def test_files_are_sent_multipart_as_with_httpx(server):
    fields = await files_received(server, AiohttpRequest)
    assert fields["document"] == ("leaflet.pdf", "application/pdf", b"%PDF-1 data")
    assert fields["chat_id"][2] == b"1" and fields["caption"][2] == b"c"
    # Only difference: aiohttp labels the text parts "text/plain; charset=utf-8" (multipart's default anyway).
    with_httpx = await files_received(server, HTTPXRequest)
    assert fields.pop("document") == with_httpx.pop("document")
    assert {name: (filename, value) for name, (filename, _, value) in fields.items()} == {
        name: (filename, value) for name, (filename, _, value) in with_httpx.items()
    }


async def test_an_api_error_raises_bad_request(server):
    server.answers["sendMessage"] = (400, {"ok": False, "error_code": 400, "description": "Bad Request: x"})
    async with server.bot() as bot:
        with pytest.raises(BadRequest, match="^X$") as raised:
            await bot.send_message(1, "hi")
    assert_no_token(raised.value)


async def test_flood_control_raises_retry_after(server):
    server.answers["sendMessage"] = (
        429,
        {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 3}},
    )
    async with server.bot() as bot:
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(1, "hi")
    assert "Retry in 3 seconds" in raised.value.message


async def never_answer(request):
    await asyncio.sleep(30)


@pytest.mark.parametrize("default, given", [(0.3, None), (5.0, 0.3)], ids=["default", "per-call"])
async def test_no_answer_within_the_read_timeout_raises_timed_out(server, default, given):
    server.answers["sendMessage"] = never_answer
    async with server.bot(read_timeout=default) as bot:
        start = time.monotonic()
        with pytest.raises(TimedOut) as raised:
            if given is None:
                await bot.send_message(1, "hi")
            else:
                await bot.send_message(1, "hi", read_timeout=given)
    assert time.monotonic() - start < 2
    assert_no_token(raised.value)


async def test_long_polling_waits_longer_than_the_read_timeout(server):
    async def poll(request):
        await asyncio.sleep(0.8)
        return web.json_response({"ok": True, "result": []})

    server.answers["getUpdates"] = poll
    async with server.bot(read_timeout=0.3) as bot:
        assert await bot.get_updates(timeout=1) == ()


async def test_a_full_pool_times_out_without_sending(server):
    server.answers["sendMessage"] = never_answer
    async with server.bot(connection_pool_size=1, connect_timeout=0.1, pool_timeout=0.1) as bot:
        held = asyncio.create_task(bot.send_message(1, "hold the only connection"))
        await asyncio.sleep(0.2)
        start = time.monotonic()
        with pytest.raises(TimedOut) as raised:
            await bot.get_me()
        assert time.monotonic() - start < 1
        held.cancel()
    assert [r["method"] for r in server.requests].count("getMe") == 1, "only the one bot.initialize() made"
    assert_no_token(raised.value)


async def test_a_closed_port_raises_network_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = AiohttpRequest()
    async with request:
        with pytest.raises(NetworkError) as raised:
            await Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request).get_me()
    assert not isinstance(raised.value, TimedOut)
    assert "aiohttp.ClientConnectorError" in str(raised.value)
    assert_no_token(raised.value)


async def test_initialize_is_idempotent_and_shutdown_always_safe(server):
    request = AiohttpRequest()
    await request.shutdown()  # never initialised
    await request.initialize()
    session = request._session
    await request.initialize()
    assert request._session is session
    await request.shutdown()
    await request.shutdown()
    assert session.closed
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{server.base_url}{TOKEN}/getMe")
    async with request:  # and it can be used again, as HTTPXRequest can
        assert (await request.post(f"{server.base_url}{TOKEN}/getMe"))["id"] == BOT_USER["id"]


async def test_a_real_exchange_with_the_fake_telegram_server():
    async with FakeTelegram(TOKEN) as fake:
        builder = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).job_queue(None)
        application = with_aiohttp(builder).build()

        async def echo(update, context):
            await update.message.reply_text(f"you said {update.message.text}", reply_markup=MARKUP)

        application.add_handler(MessageHandler(filters.TEXT, echo))
        async with application:
            await application.updater.start_polling(timeout=1)
            await application.start()
            sent = await fake.send_text(1001, "hello")
            [reply] = await fake.wait_for_replies(1001, sent, timeout=10)
            await application.updater.stop()
            await application.stop()
    assert reply.text == "you said hello" and reply.keyboard_data() == ["exit"]
    assert {"getMe", "getUpdates", "sendMessage"} <= fake.methods()
