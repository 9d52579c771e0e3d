"""The Telegram front end's own words (everything else comes from the engine) and its commands: wiring only, the
words are in responses/channel.yml (bot/channel_texts.py), read once when the Telegram process starts."""

from typing import Tuple

from telegram import BotCommand

from bot import channel_texts
from bot.replies import BotMessage, Button

LEAVE_TITLE = channel_texts.text("telegram_leave_button")
# The commands Telegram shows in its menu, in the file's order.
COMMANDS = tuple(BotCommand(command, words) for command, words in channel_texts.group("telegram_commands").items())

START_TEXT = channel_texts.text("telegram_start")
EXIT_TEXT = channel_texts.text("telegram_exit")
PICTURE_TEXT = channel_texts.text("telegram_picture")
PICTURE_MENU = BotMessage(
    channel_texts.text("telegram_picture_menu"),
    tuple(Button(title, payload) for title, payload in channel_texts.buttons("telegram_picture_menu")),
)
VOICE_TEXT = channel_texts.text("telegram_voice")
PLACE_TEXT = channel_texts.text("telegram_place")
USED_TEXT = channel_texts.text("telegram_used_button")
# When older messages may still be there (from before the bot's memory of the chat, or past Telegram's 2 days).
EXIT_OLDER_TEXT = channel_texts.text("telegram_exit_older")


def privacy() -> Tuple[BotMessage, BotMessage]:
    """/privacy's two bubbles: what is kept, with the durations the settings hold (filled each time, so they follow
    the setting), then the rest."""
    return BotMessage(channel_texts.text("telegram_privacy")), BotMessage(channel_texts.text("telegram_privacy_more"))


def exit_partly_text(refused: int) -> str:
    """After a quick exit Telegram partly refused: how many messages are left, never "cleared"."""
    return channel_texts.text("telegram_exit_partly", count=refused)
