"""The Telegram handlers: what each kind of message gets, buttons, pictures deleted unseen, and the quick exit.

- The engine only ever sees a pseudonym of the chat id (bot.privacy.Pseudonymiser), never the chat or user id.
- Every bot message is sent with protect_content (defaults in app.py); its buttons become an inline keyboard, and
  every keyboard also gets "Leave quickly". A button's callback data is its index ("b0", "b1", ...): the payloads
  stay in memory (chat_memory.py), so any payload fits Telegram's 64-byte limit and a keyboard works once only.
- /exit and "Leave quickly" delete the whole chat within Telegram's 48 hours (both sides, newest first, in
  deleteMessages batches of at most 100), forget the conversation and send one short neutral message, which says
  honestly if Telegram refused to delete some of it. Ids older than the ones remembered (from before a restart,
  an earlier /exit's own message, or past the memory's 48 hours) are tried too, back to `OLDER_TRIED` ids: "Chat
  cleared" is said only when every id back to the chat's first was tried and none refused.
- Pictures (photo, video, video note, animation, document) are deleted at once and never downloaded. Stickers get
  the menu, like emoji. Voice notes get "I read typed messages only". Every text gets an answer: an empty one from
  the engine becomes the failure reply (999 and Childline).
- Counting ("count this", for quick exits and deleted pictures) is a step of its own after the answer is sent; the
  engine process is the one writer of statistics.
- Errors are logged as their type and where they happened only; the young person still gets Childline's number.
"""

import logging
import re
import traceback
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.channels.telegram import texts
from bot.channels.telegram.chat_memory import ChatMemory
from bot.replies import BotMessage, Button, failure_reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
PACKAGE_DIR = Path(__file__).resolve().parents[2]  # bot/
MAX_DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
# Ids below the remembered ones that /exit tries: more than a 48-hour chat holds (2,800 in issue 14's attack), in
# 30 calls; ids already gone are skipped.
OLDER_TRIED = 3_000
EXIT_DATA = "exit"
BUTTON_DATA = re.compile(r"^b(\d{1,3})$")

PRIVATE = filters.ChatType.PRIVATE
PICTURES = filters.PHOTO | filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION | filters.Document.ALL
SOUNDS = filters.VOICE | filters.AUDIO
PLACES = filters.LOCATION | filters.VENUE | filters.CONTACT


def _keyboard(buttons: Sequence[Button], leave: bool) -> Optional[InlineKeyboardMarkup]:
    """The engine's buttons as an inline keyboard (short titles two a row), plus Leave quickly."""
    keys = [InlineKeyboardButton(b.title, callback_data=f"b{i}") for i, b in enumerate(buttons)]
    width = 2 if keys and all(len(b.title) <= 14 for b in buttons) else 1
    rows = [keys[i : i + width] for i in range(0, len(keys), width)]
    if leave:
        rows.append([InlineKeyboardButton(texts.LEAVE_TITLE, callback_data=EXIT_DATA)])
    return InlineKeyboardMarkup(rows) if rows else None


def where(error: BaseException) -> str:
    """Where an error happened: the innermost frame in Signpost's code (or the innermost at all). No values."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown"
    ours = [f for f in frames if f.filename.startswith(str(PACKAGE_DIR))]
    frame = (ours or frames)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"


class SignpostBot:
    """The Telegram handlers around one engine. Holds only numbers about open chats (see ChatMemory).

    `engine` answers `await reply(conversation_id, text)`, `await forget(conversation_id)` and
    `await count(outcomes=...)` ("count this", never waited on for long): an EngineProcess when running.
    """

    def __init__(self, engine: Any, pseudonyms: Any, memory: Optional[ChatMemory] = None) -> None:
        self.engine = engine
        self.pseudonyms = pseudonyms
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
        """The explicit counting step: "count this" to the engine process, the one writer of statistics."""
        try:
            await self.engine.count(outcomes=(outcome,))
        except Exception as error:  # a count must never cost an answer
            log.error("Could not pass on a count: %s in %s", type(error).__name__, where(error))

    async def _answer(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, after: Sequence[BotMessage] = ()
    ) -> None:
        """Ask the engine, then send its reply; a reply with nothing to say becomes the failure reply."""
        reply = await self.engine.reply(self._conversation(chat_id), text)
        messages = [m for m in reply.messages if m.text.strip()] or list(failure_reply().messages)
        await self._send(context, chat_id, [*messages, *after])

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

    async def _delete_batch(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, batch: List[int], stop_when_refused: bool = False
    ) -> int:
        """One deleteMessages call; if refused, the ids one by one (up to the first Telegram refuses, if
        `stop_when_refused`). Returns how many were refused (ids already gone are skipped by deleteMessages, and
        "not found" one by one is fine too)."""
        try:
            await context.bot.delete_messages(chat_id, batch)
            return 0
        except BadRequest as error:
            log.warning("A quick-exit batch was refused (%s); deleting one by one", type(error).__name__)
        refused = 0
        for message_id in batch:
            try:
                await context.bot.delete_message(chat_id, message_id)
            except BadRequest as one:
                refused += "not found" not in one.message.lower()
                if refused and stop_when_refused:
                    break
        return refused

    async def delete_all(self, context: ContextTypes.DEFAULT_TYPE, ids: List[int], chat_id: int) -> int:
        """Delete the ids newest first in batches of 100. Returns how many could not be deleted."""
        refused = 0
        for start in range(0, len(ids), MAX_DELETE_BATCH):
            refused += await self._delete_batch(context, chat_id, ids[start : start + MAX_DELETE_BATCH])
        return refused

    async def delete_older(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, below: int) -> bool:
        """Try the ids below the remembered ones, newest first, back to OLDER_TRIED of them. Returns True if some
        may be left: Telegram refused some (ids are in time order, so the older ones are past its 48 hours too:
        trying stops there), or the chat goes back further than was tried."""
        ids = list(range(below - 1, max(0, below - 1 - OLDER_TRIED), -1))
        for start in range(0, len(ids), MAX_DELETE_BATCH):
            batch = ids[start : start + MAX_DELETE_BATCH]
            if await self._delete_batch(context, chat_id, batch, stop_when_refused=True):
                return True
        return below - 1 > OLDER_TRIED

    async def quick_exit(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, newest: int) -> None:
        """Delete the whole chat, forget it, send one neutral line (honest if some could not be deleted).
        `newest` is the id of the /exit (or of the pressed message), the chat's newest the bot knows of."""
        self.memory.seen(chat_id, newest)
        ids = self.memory.take_all(chat_id)
        refused = await self.delete_all(context, ids, chat_id)
        older_left = await self.delete_older(context, chat_id, below=min(ids, default=newest))
        await self.engine.forget(self._conversation(chat_id))
        # Not remembered: after this nothing about the chat is kept (the next /exit tries this id as an older one).
        if older_left:
            text = texts.EXIT_OLDER_TEXT
        else:
            text = texts.exit_partly_text(refused) if refused else texts.EXIT_TEXT
        await context.bot.send_message(chat_id, text)
        await self._count("quick_exit")

    # -- handlers

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: the engine's greeting and menu, then how to leave fast and Childline."""
        chat_id = update.effective_chat.id
        self.memory.seen(chat_id, update.effective_message.message_id)
        await self._answer(context, chat_id, "/greet", after=[BotMessage(texts.START_TEXT)])

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: danger now (999) and talking to a person (Childline), from the engine's help answer."""
        chat_id = update.effective_chat.id
        self.memory.seen(chat_id, update.effective_message.message_id)
        await self._answer(context, chat_id, "/help")

    async def on_privacy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/privacy: what is and isn't kept, in plain words."""
        chat_id = update.effective_chat.id
        self.memory.seen(chat_id, update.effective_message.message_id)
        await self._send(context, chat_id, texts.privacy())

    async def on_exit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/exit: the quick exit, including the /exit message itself."""
        await self.quick_exit(context, update.effective_chat.id, update.effective_message.message_id)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: answered at once, its keyboard removed, its payload sent to the engine."""
        query = update.callback_query
        message = query.message
        if query.data == EXIT_DATA:
            await query.answer()
            await self.quick_exit(context, message.chat.id, message.message_id)
            return
        payloads = self.memory.take_buttons(message.chat.id, message.message_id)
        index = BUTTON_DATA.match(query.data or "")
        payload = payloads[int(index[1])] if payloads and index and int(index[1]) < len(payloads) else None
        await query.answer(None if payload else texts.USED_TEXT)
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
        deleted = await self._delete_now(context, chat_id, message.message_id)
        caption = message.caption if message.caption and message.caption.strip() else None
        if caption:
            # The words sent with it get their own answer; the picture note comes first, at once.
            await self._send(context, chat_id, [BotMessage(texts.PICTURE_TEXT)])
            await self._answer(context, chat_id, caption)
        else:
            await self._send(context, chat_id, [texts.PICTURE_MENU])
        if deleted:
            await self._count("picture_deleted")

    async def on_sound(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A voice note or audio: the bot reads text only."""
        message = update.effective_message
        self.memory.seen(message.chat.id, message.message_id)
        await self._send(context, message.chat.id, [BotMessage(texts.VOICE_TEXT)])

    async def on_place(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A location, venue or contact: deleted at once (it identifies someone), with 999 for danger."""
        message = update.effective_message
        await self._delete_now(context, message.chat.id, message.message_id)
        await self._send(context, message.chat.id, [BotMessage(texts.PLACE_TEXT)])

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text (new or edited), stickers, emoji and anything else: the engine answers (no words get the menu)."""
        message = update.effective_message
        self.memory.seen(message.chat.id, message.message_id)
        await self._answer(context, message.chat.id, message.text or "")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error's type and where only; forget the turn; give the young person Childline's number."""
        log.error("%s in %s", type(context.error).__name__, where(context.error))
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        try:
            # A turn that failed half-way may have left text in the tracker: drop the conversation.
            await self.engine.forget(self._conversation(chat.id))
            sent = await context.bot.send_message(chat.id, failure_reply().messages[0].text)
            self.memory.seen(chat.id, sent.message_id)
        except Exception as error:  # the fallback itself failed: nothing more to do but say so
            log.error("Fallback answer failed: %s in %s", type(error).__name__, where(error))
