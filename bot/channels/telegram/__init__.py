"""Signpost on Telegram: `app` (wiring and `signpost telegram`), `handlers`, `chat_memory`, `updates` (reading,
order, forgetting), `webhook`, `http` (Bot API calls over aiohttp) and `texts` (its own words, read from
responses/channel.yml)."""

from bot.channels.telegram.app import ALLOWED_UPDATES, build_application, main, run_until_signal, serve
from bot.channels.telegram.chat_memory import ChatMemory
from bot.channels.telegram.handlers import CHANNEL, EXIT_DATA, MAX_DELETE_BATCH, SignpostBot
from bot.channels.telegram.texts import (
    COMMANDS,
    EXIT_OLDER_TEXT,
    EXIT_TEXT,
    PICTURE_MENU,
    PICTURE_TEXT,
    PLACE_TEXT,
    START_TEXT,
    USED_TEXT,
    VOICE_TEXT,
    exit_partly_text,
    privacy,
)
from bot.channels.telegram.updates import PerChatOrder, ReadingBot, forget_contents
from bot.channels.telegram.webhook import WebhookLimits, WebhookServer

__all__ = [
    "ALLOWED_UPDATES",
    "build_application",
    "main",
    "run_until_signal",
    "serve",
    "ChatMemory",
    "CHANNEL",
    "EXIT_DATA",
    "MAX_DELETE_BATCH",
    "SignpostBot",
    "COMMANDS",
    "EXIT_OLDER_TEXT",
    "EXIT_TEXT",
    "PICTURE_MENU",
    "PICTURE_TEXT",
    "PLACE_TEXT",
    "START_TEXT",
    "USED_TEXT",
    "VOICE_TEXT",
    "exit_partly_text",
    "privacy",
    "PerChatOrder",
    "ReadingBot",
    "forget_contents",
    "WebhookLimits",
    "WebhookServer",
]
