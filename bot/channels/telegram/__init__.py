"""Signpost on Telegram: `app` (wiring and `signpost telegram`), `handlers`, `chat_memory`, `updates` (reading,
order, forgetting), `webhook`, `http` (Bot API calls over aiohttp) and `texts` (its own words)."""

from bot.channels.telegram.app import ALLOWED_UPDATES, build_application, main, run_until_signal, serve
from bot.channels.telegram.chat_memory import DELETE_WINDOW, ChatMemory
from bot.channels.telegram.handlers import CHANNEL, EXIT_DATA, MAX_DELETE_BATCH, SignpostBot
from bot.channels.telegram.texts import (
    COMMANDS,
    EXIT_OLDER_TEXT,
    EXIT_PARTLY_TEXT,
    EXIT_TEXT,
    PICTURE_TEXT,
    PLACE_TEXT,
    PRIVACY_TEXT,
    START_TEXT,
    USED_TEXT,
    VOICE_TEXT,
)
from bot.channels.telegram.updates import PerChatOrder, ReadingBot, forget_contents
from bot.channels.telegram.webhook import WebhookLimits, WebhookServer

__all__ = [
    "ALLOWED_UPDATES",
    "build_application",
    "main",
    "run_until_signal",
    "serve",
    "DELETE_WINDOW",
    "ChatMemory",
    "CHANNEL",
    "EXIT_DATA",
    "MAX_DELETE_BATCH",
    "SignpostBot",
    "COMMANDS",
    "EXIT_OLDER_TEXT",
    "EXIT_PARTLY_TEXT",
    "EXIT_TEXT",
    "PICTURE_TEXT",
    "PLACE_TEXT",
    "PRIVACY_TEXT",
    "START_TEXT",
    "USED_TEXT",
    "VOICE_TEXT",
    "PerChatOrder",
    "ReadingBot",
    "forget_contents",
    "WebhookLimits",
    "WebhookServer",
]
