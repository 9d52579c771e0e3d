"""The words the code says itself come from responses/channel.yml, filled from services.yml and the settings, so a
changed setting changes the words (bot/channel_texts.py). The checks of the words are in tests/test_responses.py."""

from datetime import timedelta

import pytest
import yaml

from bot import channel_texts, settings
from bot.channels import telegram as tg
from bot.channels.telegram import texts
from bot.replies import failure_reply
from bot.service_numbers import placeholders

FILE = yaml.safe_load(settings.CHANNEL_TEXTS_FILE.read_text(encoding="utf-8"))["channel_texts"]


def written(name: str) -> str:
    entry = FILE[name]
    return entry if isinstance(entry, str) else entry["text"]


@pytest.mark.parametrize(
    "span, words",
    [
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(hours=48), "2 days"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(hours=36), "36 hours"),
        (timedelta(seconds=45), "45 seconds"),
    ],
)
def test_a_duration_in_words(span, words):
    assert channel_texts.in_words(span) == words


def test_the_privacy_text_is_the_files_with_the_settings_durations():
    durations = {"conversation_kept": "30 minutes", "message_ids_kept": "2 days"}  # today's settings
    assert channel_texts.in_words(settings.CONVERSATION_KEPT) == durations["conversation_kept"]
    assert channel_texts.in_words(settings.MESSAGE_IDS_KEPT) == durations["message_ids_kept"]
    kept, more = texts.privacy()
    assert kept.text == written("telegram_privacy").format(**placeholders(), **durations)
    assert more.text == written("telegram_privacy_more").format(**placeholders())


def test_changing_a_setting_changes_the_privacy_text_and_what_is_kept(monkeypatch):
    monkeypatch.setattr(settings, "CONVERSATION_KEPT", timedelta(minutes=20))
    monkeypatch.setattr(settings, "MESSAGE_IDS_KEPT", timedelta(hours=24))
    text = texts.privacy()[0].text
    assert "forget it after 20 minutes." in text and "for up to 1 day," in text
    assert "30 minutes" not in text and "2 days" not in text
    assert tg.ChatMemory().window == 24 * 3600  # the memory /exit deletes from keeps what the text says


@pytest.mark.parametrize(
    "shown, name",
    [
        (texts.START_TEXT, "telegram_start"),
        (texts.EXIT_TEXT, "telegram_exit"),
        (texts.EXIT_OLDER_TEXT, "telegram_exit_older"),
        (texts.PICTURE_TEXT, "telegram_picture"),
        (texts.PICTURE_MENU.text, "telegram_picture_menu"),
        (texts.VOICE_TEXT, "telegram_voice"),
        (texts.PLACE_TEXT, "telegram_place"),
        (texts.USED_TEXT, "telegram_used_button"),
        (texts.LEAVE_TITLE, "telegram_leave_button"),
        (failure_reply().messages[0].text, "failure"),
    ],
)
def test_what_is_shown_is_the_files_text_with_the_services(shown, name):
    assert shown == written(name).format(**placeholders())
    assert "{" not in shown


def test_a_partial_exit_says_how_many_messages_are_left():
    assert texts.exit_partly_text(3) == written("telegram_exit_partly").format(count=3)
    assert "3 older messages" in texts.exit_partly_text(3)


def test_the_picture_menu_and_commands_are_the_files():
    assert [(b.title, b.payload) for b in texts.PICTURE_MENU.buttons] == [
        (b["title"], b["payload"]) for b in FILE["telegram_picture_menu"]["buttons"]
    ]
    assert [(c.command, c.description) for c in texts.COMMANDS] == list(FILE["telegram_commands"].items())


def test_a_text_gets_exactly_the_values_the_file_names():
    with pytest.raises(TypeError):
        channel_texts.text("telegram_exit_partly")  # would show "{count}"
    with pytest.raises(TypeError):
        channel_texts.text("telegram_start", count=3)  # the file and the code disagree
