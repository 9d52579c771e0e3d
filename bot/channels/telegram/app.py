"""Signpost on Telegram (python-telegram-bot 22): the wiring, and `signpost telegram`.

Polling runs on the library's own `run_polling`, with its `post_init` / `post_shutdown` hooks starting and stopping
the engine process and registering the commands, and its signal handling (SIGINT, SIGTERM: a clean stop, exit
status 0). Flood control is the library's `AIORateLimiter`: it waits out Telegram's "retry after" and throttles
ahead of Telegram's limit for a bot (`SIGNPOST_TELEGRAM_RATE` messages a second, default 30; 0 for none). The
webhook is Signpost's own server (webhook.py says why). Handlers: handlers.py; what is kept about chats:
chat_memory.py; Bot API calls over aiohttp: http.py.
"""

import asyncio
import secrets
import signal
import sys
from typing import Any, Awaitable, Callable, Optional

from telegram import LinkPreviewOptions, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.channels.telegram.handlers import SignpostBot
from bot.channels.telegram.http import AiohttpRequest
from bot.channels.telegram.texts import COMMANDS
from bot.channels.telegram.updates import PerChatOrder, ReadingBot
from bot.channels.telegram.webhook import WebhookServer
from bot.engine.process import EngineProcess, EngineStartError

ALLOWED_UPDATES = (Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY)
SECRET_TOKEN_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
TELEGRAM_WEBHOOK_CONNECTIONS = 40  # how many connections Telegram may open to the webhook (its default)

Hook = Callable[[], Awaitable[Any]]


def build_application(
    token: str,
    signpost: SignpostBot,
    base_url: Optional[str] = None,
    webhook: bool = False,
    rate: Optional[float] = None,
    on_start: Optional[Hook] = None,
    on_stop: Optional[Hook] = None,
) -> Application:
    """The application: protected messages, per-chat order, flood control, unreadable updates skipped.

    `on_start` runs once the token is checked and before any update is fetched (the engine loads then);
    `on_stop` after the last update was handled.
    """
    from bot.settings import telegram_rate

    rate = telegram_rate() if rate is None else rate
    requests = (AiohttpRequest(), AiohttpRequest(connection_pool_size=1))  # sized as python-telegram-bot's own
    bot = ReadingBot(
        token,
        requests,
        **({"base_url": base_url} if base_url else {}),
        defaults=Defaults(protect_content=True, link_preview_options=LinkPreviewOptions(is_disabled=True)),
        rate_limiter=AIORateLimiter(overall_max_rate=rate, overall_time_period=1, group_max_rate=0, max_retries=5),
    )

    async def started(application: Application) -> None:
        if on_start is not None:
            await on_start()
        await application.bot.set_my_commands(COMMANDS)

    async def stopped(application: Application) -> None:
        if on_stop is not None:
            await on_stop()

    builder = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerChatOrder())
        .job_queue(None)
        .post_init(started)
        .post_shutdown(stopped)
    )
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    signpost.register(application)
    return application


async def serve(application: Application, stop: asyncio.Event, webhook: Optional[WebhookServer] = None) -> None:
    """Run until `stop` is set, in the running event loop, with the same hooks and steps as `run_polling`: polling,
    or Signpost's webhook server registered with Telegram."""
    try:
        async with application:
            await application.post_init(application)
            try:
                if webhook is None:
                    await application.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
                else:
                    await webhook.start()
                    await application.bot.set_webhook(
                        webhook.url,
                        secret_token=webhook.secret.decode(),
                        allowed_updates=list(ALLOWED_UPDATES),
                        max_connections=TELEGRAM_WEBHOOK_CONNECTIONS,
                    )
                await application.start()
                try:
                    await stop.wait()
                finally:
                    await application.stop()
            finally:
                if webhook is None:
                    if application.updater.running:
                        await application.updater.stop()
                else:
                    await webhook.stop()
    finally:
        await application.post_shutdown(application)


async def run_until_signal(application: Application, webhook: Optional[WebhookServer] = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(application, stop, webhook)


def telegram_said(error: TelegramError, token: str) -> str:
    """Telegram's reason for refusing, in its words (the token is never repeated)."""
    return str(error.message).replace(token, "<token>").replace(token.partition(":")[2] or token, "<token>")


def main(
    webhook_url: Optional[str] = None, listen: str = "127.0.0.1", port: int = 8443, api_url: Optional[str] = None
) -> int:
    """`signpost telegram`: check the settings, start the engine, run until stopped. Returns the exit status."""
    from bot.privacy import Pseudonymiser, no_core_dumps
    from bot.settings import stats_db, telegram_token, webhook_secret
    from bot.stats.location import StatsLocationError, checked_path

    no_core_dumps()
    token = telegram_token()
    if not token:
        print(
            "TELEGRAM_BOT_TOKEN is not set: put your bot's token from @BotFather in it (see docs/telegram.md).",
            file=sys.stderr,
        )
        return 2
    secret = webhook_secret() or secrets.token_urlsafe(32)
    if webhook_url and not (1 <= len(secret) <= 256 and set(secret) <= SECRET_TOKEN_CHARS):
        print("TELEGRAM_WEBHOOK_SECRET may only use A-Z, a-z, 0-9, _ and - (1 to 256 characters).", file=sys.stderr)
        return 2
    try:
        database = checked_path(stats_db(), create=True)  # the bot's own run may start a new, empty database
    except StatsLocationError as error:
        print(error, file=sys.stderr)
        return 2
    engine = EngineProcess(stats_db=database)  # the one writer of statistics; it gets no token
    signpost = SignpostBot(engine, Pseudonymiser())
    application = build_application(
        token, signpost, base_url=api_url, webhook=bool(webhook_url), on_start=engine.start, on_stop=engine.close
    )
    try:
        if webhook_url:
            server = WebhookServer(application, webhook_url, secret, listen, port, health=engine.health)
            asyncio.run(run_until_signal(application, server))
        else:
            application.run_polling(allowed_updates=list(ALLOWED_UPDATES), stop_signals=(signal.SIGINT, signal.SIGTERM))
    except InvalidToken:  # its message would contain the token: never print it
        print("Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather.", file=sys.stderr)
        return 1
    except TelegramError as error:
        print(
            f'Could not start the Telegram bot: Telegram said "{telegram_said(error, token)}" '
            f"({type(error).__name__}).",
            file=sys.stderr,
        )
        return 1
    except EngineStartError as error:
        print(error, file=sys.stderr)
        return 1
    return 0
