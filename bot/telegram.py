"""Signpost on Telegram (python-telegram-bot 22): safe on a shared or checked phone, and many chats at once.

- The engine only ever sees a pseudonym of the chat id (bot.privacy.Pseudonymiser), never the chat or user id.
- Every bot message is sent with protect_content (it can't be forwarded or saved); its buttons become an inline
  keyboard, and every keyboard also gets "Leave quickly". A button's callback data is its index ("b0", "b1", ...):
  the payloads stay in memory, keyed by the message, so any payload fits Telegram's 64-byte limit and a keyboard
  can be used once only (it is removed when pressed).
- /exit and "Leave quickly" delete every message of the chat the bot still can (both sides, newest first, in
  deleteMessages batches of at most 100, within Telegram's 48 hours), forget the conversation, and send one short
  neutral message. For this the bot keeps message ids (numbers, never text), in memory, for at most 48 hours.
- Pictures (photo, video, video note, animation, document) are deleted at once and never downloaded. Stickers are
  public pack images a young person picks, not pictures they took: they get the menu, like emoji. Voice notes get
  "I read typed messages only"; an edited message is answered like a new one (and deleted if it now holds media).
- Updates of different chats are handled concurrently; one chat's updates one at a time, in order (a per-chat
  asyncio.Lock). Telegram's flood control (RetryAfter) is waited out and the request retried.
- Errors are logged as their type and where they happened only; the young person still gets Childline's number.
"""

import asyncio
import hmac
import itertools
import logging
import re
import secrets
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Coroutine, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    TelegramObject,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.engine_process import EngineProcess, EngineStartError
from bot.replies import BotMessage, Button, failure_reply
from bot.services import placeholders
from bot.telegram_http import with_aiohttp

log = logging.getLogger(__name__)

CHANNEL = "telegram"
PACKAGE_DIR = Path(__file__).resolve().parent
DELETE_WINDOW = timedelta(hours=48)  # Telegram lets a bot delete messages in a private chat for 48 hours
MAX_DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
MAX_IDS_PER_CHAT = 2000
EXIT_DATA = "exit"
BUTTON_DATA = re.compile(r"^b(\d{1,3})$")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as a webhook secret
ALLOWED_UPDATES = (Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY)

LEAVE_TITLE = "Leave quickly"
COMMANDS = (
    BotCommand("start", "What this is and how to leave fast"),
    BotCommand("help", "In danger now, or talk to a person"),
    BotCommand("privacy", "What is kept and what isn't"),
    BotCommand("exit", "Leave quickly and delete this chat"),
)

# The bot's own Telegram words; {placeholders} come from responses/services.yml.
START_TEXT = (
    "To leave fast, send /exit or tap Leave quickly. I'll delete our messages in this chat.\n"
    "To talk to a real person, call Childline on {childline_phone}. It's free, any time."
)
PRIVACY_TEXT = (
    "What I keep:\n"
    "- Nothing you type. I only work out the topic, like blocking, and forget it after 30 minutes.\n"
    "- The numbers of the messages in this chat, not what they say, for up to 2 days. That's so /exit can "
    "delete them.\n"
    "- Counts of topics for the whole service, like how many people asked about blocking. Never who asked.\n"
    "I don't use your name or account. I use a made-up code that changes every day.\n"
    "Pictures sent here are deleted straight away. I never open or save them.\n"
    "Telegram keeps this chat on your phone until it's deleted. /exit deletes it."
)
EXIT_TEXT = (
    "Chat cleared. To remove it from your phone too, press and hold this chat in your chat list, then tap Delete. "
    "Notifications you already got may still show, so clear them too."
)
PICTURE_TEXT = (
    "I've deleted what you sent. I didn't open it or save it.\n"
    "You never need to show anyone a picture to get help. Tell me in words what's happening.\n"
    "If you want to keep proof, keep the chat and write down their username. You don't need the picture."
)
PICTURE_MENU_TEXT = PICTURE_TEXT + "\nIf it's about a picture of you, pick one below."
PICTURE_BUTTONS = (
    Button("A pic of me got shared", "/image_shared"),
    Button("Someone is threatening me", "/sextortion"),
    Button("I sent one and I'm worried", "/sent_nude_worried"),
    Button("Someone sent me a nude", "/received_nude"),
)
VOICE_TEXT = (
    "I can only read typed messages, so I can't listen to that. Please type what's happening in your own words.\n"
    "To talk to a real person, call Childline on {childline_phone}. It's free, any time."
)
PLACE_TEXT = (
    "I've deleted that. You never need to tell me where you are, or share anyone's number.\n"
    "If you're in danger now, call {emergency_phone}."
)
USED_TEXT = "That choice was already used. Type what's happening, or send /help."

PRIVATE = filters.ChatType.PRIVATE
PICTURES = filters.PHOTO | filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION | filters.Document.ALL
SOUNDS = filters.VOICE | filters.AUDIO
PLACES = filters.LOCATION | filters.VENUE | filters.CONTACT


def words(template: str) -> str:
    """A text with its {placeholders} filled from responses/services.yml."""
    return template.format(**placeholders())


# ---------------------------------------------------------------------------------------------------------------
# What the bot keeps about open conversations: numbers only, in memory only


@dataclass
class _OpenChat:
    seen: Dict[int, float] = field(default_factory=dict)  # message id -> when it was sent (clock seconds)
    buttons: Dict[int, Tuple[str, ...]] = field(default_factory=dict)  # bot message id -> its buttons' payloads


class ChatMemory:
    """For each open chat: its message ids (both sides) and the payloads of its live keyboards. Never any text.

    Ids older than Telegram's 48-hour delete window are dropped (they can't be deleted any more), and a chat
    with none left is forgotten. `clock` returns seconds; tests inject their own.
    """

    def __init__(self, window: timedelta = DELETE_WINDOW, max_ids: int = MAX_IDS_PER_CHAT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window.total_seconds()
        self.max_ids = max_ids
        self._clock = clock
        self._chats: Dict[int, _OpenChat] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._chats)

    def seen(self, chat_id: int, message_id: int) -> None:
        """Remember that a message (the young person's or the bot's) is in this chat."""
        now = self._clock()
        self._sweep(now)
        chat = self._chats.setdefault(chat_id, _OpenChat())
        chat.seen[message_id] = now
        while len(chat.seen) > self.max_ids:
            oldest = min(chat.seen)
            del chat.seen[oldest]
            chat.buttons.pop(oldest, None)

    def add_buttons(self, chat_id: int, message_id: int, payloads: Sequence[str]) -> None:
        """Remember the payloads behind a bot message's keyboard."""
        self.seen(chat_id, message_id)
        self._chats[chat_id].buttons[message_id] = tuple(payloads)

    def take_buttons(self, chat_id: int, message_id: int) -> Optional[Tuple[str, ...]]:
        """The payloads of a message's keyboard, which can't be taken again; None if used or expired."""
        chat = self._chats.get(chat_id)
        return chat.buttons.pop(message_id, None) if chat else None

    def take_all(self, chat_id: int) -> List[int]:
        """Every message id of the chat still within the delete window, newest first; forgets the chat."""
        chat = self._chats.pop(chat_id, None)
        if chat is None:
            return []
        oldest = self._clock() - self.window
        return sorted((m for m, when in chat.seen.items() if when > oldest), reverse=True)

    def _sweep(self, now: float) -> None:
        """Drop ids past the delete window (at most once a minute, across all chats)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        oldest = now - self.window
        for chat_id in list(self._chats):
            chat = self._chats[chat_id]
            for message_id in [m for m, when in chat.seen.items() if when <= oldest]:
                del chat.seen[message_id]
                chat.buttons.pop(message_id, None)
            if not chat.seen:
                del self._chats[chat_id]


# ---------------------------------------------------------------------------------------------------------------
# Order within a chat, concurrency across chats, and flood control


# Fields of a handled update that hold what a young person typed or who they are.
PRIVATE_FIELDS = ("text", "caption", "first_name", "last_name", "username", "title")


def forget_contents(obj: object, seen: Optional[set] = None) -> None:
    """Blank the words and names in a handled update, in place.

    python-telegram-bot keeps the latest update it fetched in memory until the next one arrives; once we have
    answered, it must hold no text. Its objects are frozen, so this uses the library's own `_unfrozen()`.
    """
    seen = set() if seen is None else seen
    if not isinstance(obj, TelegramObject) or id(obj) in seen:
        return
    seen.add(id(obj))
    stored = set(obj._get_attrs_names(include_private=False))  # real fields, not read-only properties
    with obj._unfrozen():
        for name in PRIVATE_FIELDS:
            if name in stored and isinstance(getattr(obj, name, None), str):
                setattr(obj, name, None)
    for name, value in obj._get_attrs(include_private=True).items():
        if name == "_bot":  # the bot's own account, not the young person's
            continue
        for item in value if isinstance(value, (tuple, list)) else (value,):
            forget_contents(item, seen)


class PerChatOrder(BaseUpdateProcessor):
    """Handles different chats' updates concurrently, and each chat's updates one at a time, in arrival order."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: Dict[int, asyncio.Lock] = {}
        self._users: Dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run the update's handling while holding its chat's lock (asyncio locks are first come, first served)."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] = self._users.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            forget_contents(update)
            self._users[chat.id] -= 1
            if not self._users[chat.id]:
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _seconds(retry_after: Any) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


class WaitOutFloods(BaseRateLimiter):
    """On Telegram's flood control (RetryAfter) waits the time it asks for, then retries the same request."""

    def __init__(self, max_retries: int = 5) -> None:
        self.max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[override]
        """Make the request; on RetryAfter sleep and retry (the chat's lock is held, so its order is kept)."""
        for attempt in itertools.count():
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= self.max_retries:
                    raise
                wait = _seconds(error.retry_after)
                log.warning("Telegram flood control on %s: waiting %.0f s", endpoint, wait)
                await asyncio.sleep(wait)


# ---------------------------------------------------------------------------------------------------------------
# The handlers


def _keyboard(buttons: Sequence[Button], leave: bool) -> Optional[InlineKeyboardMarkup]:
    """The engine's buttons as an inline keyboard (short titles two a row), plus Leave quickly."""
    keys = [InlineKeyboardButton(b.title, callback_data=f"b{i}") for i, b in enumerate(buttons)]
    width = 2 if keys and all(len(b.title) <= 14 for b in buttons) else 1
    rows = [keys[i:i + width] for i in range(0, len(keys), width)]
    if leave:
        rows.append([InlineKeyboardButton(LEAVE_TITLE, callback_data=EXIT_DATA)])
    return InlineKeyboardMarkup(rows) if rows else None


def _where(error: BaseException) -> str:
    """Where an error happened: the innermost frame in Signpost's code (or the innermost at all). No values."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown"
    ours = [f for f in frames if f.filename.startswith(str(PACKAGE_DIR))]
    frame = (ours or frames)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"


class SignpostBot:
    """The Telegram handlers around one engine. Holds only numbers about open chats (see ChatMemory).

    `engine` answers `await reply(conversation_id, text)` and `await forget(conversation_id)`: an EngineProcess
    when running, so Rasa's work never holds up this event loop.
    """

    def __init__(self, engine: Any, pseudonyms: Any, stats: Any = None,
                 memory: Optional[ChatMemory] = None) -> None:
        self.engine = engine
        self.pseudonyms = pseudonyms
        self.stats = stats
        self.memory = memory or ChatMemory()

    def register(self, application: Application) -> None:
        """Add the handlers (private chats only) and the error handler."""
        application.add_handler(CommandHandler("start", self.on_start, filters=PRIVATE))
        application.add_handler(CommandHandler("help", self.on_help, filters=PRIVATE))
        application.add_handler(CommandHandler("privacy", self.on_privacy, filters=PRIVATE))
        application.add_handler(CommandHandler("exit", self.on_exit, filters=PRIVATE))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(PRIVATE & PICTURES, self.on_picture))
        application.add_handler(MessageHandler(PRIVATE & SOUNDS, self.on_sound))
        application.add_handler(MessageHandler(PRIVATE & PLACES, self.on_place))
        application.add_handler(MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, self.on_message))
        application.add_error_handler(self.on_error)

    # -- helpers

    def _conversation(self, chat_id: int) -> str:
        return self.pseudonyms.pseudonym(CHANNEL, chat_id)

    async def _count(self, outcome: str) -> None:
        if self.stats is not None:  # off the loop: a busy database must not hold up other chats
            await asyncio.to_thread(self.stats.record, outcomes=(outcome,))

    async def _answer(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str) -> None:
        """Ask the engine, then send its reply."""
        reply = await self.engine.reply(self._conversation(chat_id), text)
        await self._send(context, chat_id, reply.messages)

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, messages: Iterable[BotMessage]) -> None:
        """Send messages in order; keyboards get Leave quickly, and so does the last message."""
        messages = [m for m in messages if m.text.strip()]
        for index, message in enumerate(messages):
            last = index == len(messages) - 1
            markup = _keyboard(message.buttons, leave=bool(message.buttons) or last)
            sent = await context.bot.send_message(chat_id, message.text, reply_markup=markup)
            if message.buttons:
                self.memory.add_buttons(chat_id, sent.message_id, [b.payload for b in message.buttons])
            else:
                self.memory.seen(chat_id, sent.message_id)

    async def _delete_now(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int) -> bool:
        """Delete one incoming message; if Telegram refuses, keep its id so /exit can try again."""
        try:
            await context.bot.delete_message(chat_id, message_id)
            return True
        except BadRequest as error:
            log.warning("Could not delete an incoming message (%s)", type(error).__name__)
            self.memory.seen(chat_id, message_id)
            return False

    async def quick_exit(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """Delete the chat's messages newest first in batches of 100, forget it, send one neutral line."""
        ids = self.memory.take_all(chat_id)
        for start in range(0, len(ids), MAX_DELETE_BATCH):
            batch = ids[start:start + MAX_DELETE_BATCH]
            try:
                await context.bot.delete_messages(chat_id, batch)
            except BadRequest as error:
                log.warning("A quick-exit batch was refused (%s); deleting one by one", type(error).__name__)
                for message_id in batch:
                    try:
                        await context.bot.delete_message(chat_id, message_id)
                    except BadRequest:
                        pass  # already gone or too old: nothing more can be done
        await self.engine.forget(self._conversation(chat_id))
        await self._count("quick_exit")
        # Not remembered: after this nothing about the chat is kept.
        await context.bot.send_message(chat_id, EXIT_TEXT)

    # -- handlers

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: the engine's greeting and menu, then how to leave fast and Childline."""
        chat_id = update.effective_chat.id
        self.memory.seen(chat_id, update.effective_message.message_id)
        reply = await self.engine.reply(self._conversation(chat_id), "/greet")
        await self._send(context, chat_id, reply.messages + (BotMessage(words(START_TEXT)),))

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: danger now (999) and talking to a person (Childline), from the engine's help answer."""
        chat_id = update.effective_chat.id
        self.memory.seen(chat_id, update.effective_message.message_id)
        await self._answer(context, chat_id, "/help")

    async def on_privacy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/privacy: what is and isn't kept, in plain words."""
        chat_id = update.effective_chat.id
        self.memory.seen(chat_id, update.effective_message.message_id)
        await self._send(context, chat_id, [BotMessage(PRIVACY_TEXT)])

    async def on_exit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/exit: the quick exit, including the /exit message itself."""
        chat_id = update.effective_chat.id
        self.memory.seen(chat_id, update.effective_message.message_id)
        await self.quick_exit(context, chat_id)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: answered at once, its keyboard removed, its payload sent to the engine."""
        query = update.callback_query
        message = query.message
        if query.data == EXIT_DATA:
            await query.answer()
            await self.quick_exit(context, message.chat.id)
            return
        payloads = self.memory.take_buttons(message.chat.id, message.message_id)
        index = BUTTON_DATA.match(query.data or "")
        payload = payloads[int(index[1])] if payloads and index and int(index[1]) < len(payloads) else None
        await query.answer(None if payload else USED_TEXT)
        try:
            await context.bot.edit_message_reply_markup(message.chat.id, message.message_id, reply_markup=None)
        except BadRequest:
            pass  # already removed (a second press, or the message is gone)
        if payload:
            await self._answer(context, message.chat.id, payload)

    async def on_picture(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, video, video note, animation or document: deleted unseen, then why, and advice."""
        message = update.effective_message
        chat_id = message.chat.id
        if await self._delete_now(context, chat_id, message.message_id):
            await self._count("picture_deleted")
        if message.caption and message.caption.strip():
            # The words sent with it get their own answer; the picture note comes first.
            await self._send(context, chat_id, [BotMessage(PICTURE_TEXT)])
            await self._answer(context, chat_id, message.caption)
        else:
            await self._send(context, chat_id, [BotMessage(PICTURE_MENU_TEXT, PICTURE_BUTTONS)])

    async def on_sound(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A voice note or audio: the bot reads text only."""
        message = update.effective_message
        self.memory.seen(message.chat.id, message.message_id)
        await self._send(context, message.chat.id, [BotMessage(words(VOICE_TEXT))])

    async def on_place(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A location, venue or contact: deleted at once (it identifies someone), with 999 for danger."""
        message = update.effective_message
        await self._delete_now(context, message.chat.id, message.message_id)
        await self._send(context, message.chat.id, [BotMessage(words(PLACE_TEXT))])

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text (new or edited), stickers, emoji and anything else: the engine answers (no words get the menu)."""
        message = update.effective_message
        self.memory.seen(message.chat.id, message.message_id)
        await self._answer(context, message.chat.id, message.text or "")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error's type and where only; forget the turn; give the young person Childline's number."""
        log.error("%s in %s", type(context.error).__name__, _where(context.error))
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        try:
            # A turn that failed half-way may have left text in the tracker: drop the conversation.
            await self.engine.forget(self._conversation(chat.id))
            sent = await context.bot.send_message(chat.id, failure_reply().messages[0].text)
            self.memory.seen(chat.id, sent.message_id)
        except Exception as error:  # the fallback itself failed: nothing more to do but say so
            log.error("Fallback answer failed: %s in %s", type(error).__name__, _where(error))


# ---------------------------------------------------------------------------------------------------------------
# Running: long polling or a webhook


class WebhookServer:
    """Receives Telegram's update POSTs (aiohttp). Requests without the right secret token get 403."""

    def __init__(self, application: Application, url: str, secret: str, listen: str = "127.0.0.1",
                 port: int = 8443) -> None:
        self.application = application
        self.url = url
        self.secret = secret
        self.listen = listen
        self.port = port
        self._runner: Optional[web.AppRunner] = None

    async def start(self) -> int:
        """Start listening on the URL's path; returns the port (useful when `port` is 0)."""
        app = web.Application()
        app.router.add_post(urlsplit(self.url).path or "/", self.receive)
        # For the reverse proxy and monitoring: the process is up and listening. No data, no state.
        app.router.add_get("/healthz", self.healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        """Up and listening: "ok", nothing else."""
        return web.Response(text="ok\n")

    async def receive(self, request: web.Request) -> web.Response:
        """One update from Telegram: checked against the secret, then queued for the application."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret.encode()):
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return web.Response(status=400)
        await self.application.update_queue.put(update)
        return web.Response(status=200)


def build_application(token: str, signpost: SignpostBot, base_url: Optional[str] = None,
                      webhook: bool = False) -> Application:
    """The python-telegram-bot application: protected messages, per-chat order, flood control waited out."""
    builder = (
        with_aiohttp(ApplicationBuilder())
        .token(token)
        .defaults(Defaults(protect_content=True, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(PerChatOrder())
        .rate_limiter(WaitOutFloods())
        .job_queue(None)
    )
    if base_url:
        builder = builder.base_url(base_url)
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    signpost.register(application)
    return application


async def serve(application: Application, stop: asyncio.Event, webhook: Optional[WebhookServer] = None) -> None:
    """Run until `stop` is set: register the commands, then poll for updates or receive them on the webhook."""
    async with application:
        await application.bot.set_my_commands(COMMANDS)
        if webhook is None:
            await application.bot.delete_webhook()
            await application.updater.start_polling(
                allowed_updates=list(ALLOWED_UPDATES),
                error_callback=lambda error: application.create_task(application.process_error(None, error)),
            )
        else:
            await webhook.start()
            await application.bot.set_webhook(webhook.url, secret_token=webhook.secret,
                                               allowed_updates=list(ALLOWED_UPDATES))
        await application.start()
        try:
            await stop.wait()
        finally:
            if webhook is None:
                await application.updater.stop()
            else:
                await webhook.stop()
            await application.stop()


async def run_until_signal(application: Application, webhook: Optional[WebhookServer] = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(application, stop, webhook)


def main(webhook_url: Optional[str] = None, listen: str = "127.0.0.1", port: int = 8443,
         api_url: Optional[str] = None) -> int:
    """`signpost telegram`: check the settings, load the model, run until stopped. Returns the exit status."""
    from bot.settings import stats_db, telegram_token, webhook_secret
    from bot.stats import Stats

    token = telegram_token()
    if not token:
        print("TELEGRAM_BOT_TOKEN is not set: put your bot's token from @BotFather in it (see docs/telegram.md).",
              file=sys.stderr)
        return 2
    secret = webhook_secret() or secrets.token_urlsafe(32)
    if webhook_url and not SECRET_TOKEN.match(secret):
        print("TELEGRAM_WEBHOOK_SECRET may only use A-Z, a-z, 0-9, _ and - (1 to 256 characters).", file=sys.stderr)
        return 2
    stats = Stats(stats_db())
    try:
        asyncio.run(_serve_with_engine(token, stats, webhook_url and (webhook_url, secret, listen, port), api_url))
    except InvalidToken:  # its message would contain the token: never print it
        print("Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather.", file=sys.stderr)
        return 1
    except TelegramError as error:
        print(f"Could not start the Telegram bot ({type(error).__name__}).", file=sys.stderr)
        return 1
    except EngineStartError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        stats.close()
    return 0


async def _serve_with_engine(token: str, stats: Any, webhook: Optional[Tuple[str, str, str, int]],
                             api_url: Optional[str]) -> None:
    """Start the engine process (it loads the model), then serve Telegram until stopped; stop the engine last."""
    from bot.privacy import Pseudonymiser

    async with EngineProcess(stats_db=stats.path) as engine:
        signpost = SignpostBot(engine, Pseudonymiser(), stats)
        application = build_application(token, signpost, base_url=api_url, webhook=webhook is not None)
        server = WebhookServer(application, *webhook) if webhook else None
        await run_until_signal(application, server)
