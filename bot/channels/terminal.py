"""The terminal conversation: the same engine as Telegram, with buttons shown as numbered choices.

Works with a keyboard or with lines piped in (it reads until the end of input), so a chat can be scripted.
"""

import secrets
from typing import Iterable, List, TextIO

from bot import channel_texts
from bot.engine import Engine
from bot.replies import Button

QUIT_WORDS = frozenset({"quit", "exit", "bye!", "/exit", "/quit"})


def render(messages, out: TextIO) -> List[Button]:
    """Print the bot's messages and number their buttons; returns the buttons in that order."""
    choices: List[Button] = []
    for message in messages:
        out.write(f"bot: {message.text}\n")
        for button in message.buttons:
            choices.append(button)
            out.write(f"  {len(choices)}) {button.title}\n")
    out.flush()
    return choices


async def run_chat(engine: Engine, lines: Iterable[str], out: TextIO, prompt: bool, echo: bool = False) -> None:
    """Hold one conversation until 'quit' or the end of input. `echo` writes each line read as `you: ...` (for
    piped input, so a scripted conversation reads as a transcript; a terminal already shows what was typed)."""
    # A fresh random id each run: it is the conversation's only name, and it is never written anywhere.
    conversation = secrets.token_hex(16)
    out.write(channel_texts.text("terminal_intro") + "\n")
    choices: List[Button] = []
    lines = iter(lines)
    while True:
        if prompt:
            out.write("you: ")
            out.flush()
        line = next(lines, None)
        if echo and line is not None:
            typed = line.rstrip("\r\n")
            out.write(f"you: {typed}\n")
        if line is None or line.strip().lower() in QUIT_WORDS:
            break
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(choices):
            text = choices[int(text) - 1].payload
        reply = await engine.reply(conversation, text)
        choices = render(reply.messages, out)
        await engine.count(conversation)  # counting: a step of its own, after the answer is shown
    await engine.forget(conversation)
    out.write(f"bot: {channel_texts.text('terminal_goodbye')}\n")
