"""The words the Telegram front end says itself (everything else comes from the engine), and its commands."""

from telegram import BotCommand

from bot.replies import Button
from bot.service_numbers import placeholders

LEAVE_TITLE = "Leave quickly"
# The commands Telegram shows in its menu: (command, what it does).
COMMANDS = tuple(
    BotCommand(command, description)
    for command, description in (
        ("start", "What this is and how to leave fast"),
        ("help", "In danger now, or talk to a person"),
        ("privacy", "What is kept and what isn't"),
        ("exit", "Leave quickly and delete this chat"),
    )
)

# {placeholders} come from responses/services.yml.
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
# When Telegram refused to delete some messages: said honestly, never "cleared".
EXIT_PARTLY_TEXT = (
    "I deleted what I could, but {count} older messages here could not be deleted by me. To remove the whole chat, "
    "press and hold this chat in your chat list, then tap Delete. Notifications you already got may still show, "
    "so clear them too."
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


def words(template: str, **values: object) -> str:
    """A text with its {placeholders} filled from responses/services.yml (and `values`)."""
    return template.format(**placeholders(), **values)


# When older messages may still be there (from before the bot's memory of the chat, or past Telegram's 2 days).
EXIT_OLDER_TEXT = (
    "I deleted what I could. Some older messages may still be here, and I can't delete those. To remove the whole "
    "chat, press and hold this chat in your chat list, then tap Delete. Notifications you already got may still "
    "show, so clear them too."
)
