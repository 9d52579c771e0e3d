"""What the Telegram front end keeps about open chats: message numbers and button payloads, in memory, never text.

In a private chat Telegram numbers the messages of both sides in one sequence (1, 2, 3, ...), so a chat's
messages are the range from the first id the bot saw to the newest: no list of ids is needed, and /exit can delete
a whole 48-hour chat however long it is. To know where the 48 hours start, the memory keeps one mark (an id and
when it was seen) per `MARK_EVERY` seconds in which the chat had messages. A chat costs a few hundred bytes,
at most `MAX_CHATS` chats are kept (the least recently active is forgotten first), and at most `MAX_KEYBOARDS`
live keyboards per chat (an older one, pressed, is answered as already used).
"""

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, List, Optional, Sequence, Tuple

from bot import settings

MARK_EVERY = 300.0  # seconds: /exit may miss at most this much of a chat at the 48-hour edge
MAX_CHATS = 50_000
MAX_KEYBOARDS = 20


@dataclass
class _OpenChat:
    marks: List[Tuple[int, float]] = field(default_factory=list)  # (lowest id seen from then on, when), oldest first
    newest: int = 0
    last_seen: float = 0.0
    buttons: "OrderedDict[int, Tuple[str, ...]]" = field(default_factory=OrderedDict)  # bot message id -> payloads


class ChatMemory:
    """For each open chat: the range of its message ids still within the delete window, and its live keyboards.

    `clock` returns seconds; tests inject their own.
    """

    def __init__(
        self,
        window: Optional[timedelta] = None,
        max_chats: int = MAX_CHATS,
        clock: Callable[[], float] = time.monotonic,
        mark_every: float = MARK_EVERY,
        max_keyboards: int = MAX_KEYBOARDS,
    ) -> None:
        # By default as long as the privacy text says (bot/settings.py: Telegram's 48-hour delete window).
        self.window = (settings.MESSAGE_IDS_KEPT if window is None else window).total_seconds()
        self.max_chats = max_chats
        self.mark_every = mark_every
        self.max_keyboards = max_keyboards
        self._clock = clock
        self._chats: "OrderedDict[int, _OpenChat]" = OrderedDict()
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._chats)

    def seen(self, chat_id: int, message_id: int) -> None:
        """Remember that a message (the young person's or the bot's) is in this chat."""
        now = self._clock()
        self._sweep(now)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _OpenChat()
            while len(self._chats) > self.max_chats:
                self._chats.popitem(last=False)  # the least recently active chat
        else:
            self._chats.move_to_end(chat_id)
        if not chat.marks or now - chat.marks[-1][1] >= self.mark_every:
            chat.marks.append((message_id, now))
        else:  # ids can arrive slightly out of order (a reply sent while the next message came in)
            first, when = chat.marks[-1]
            chat.marks[-1] = (min(first, message_id), when)
        chat.newest = max(chat.newest, message_id)
        chat.last_seen = now

    def add_buttons(self, chat_id: int, message_id: int, payloads: Sequence[str]) -> None:
        """Remember the payloads behind a bot message's keyboard."""
        self.seen(chat_id, message_id)
        buttons = self._chats[chat_id].buttons
        buttons[message_id] = tuple(payloads)
        while len(buttons) > self.max_keyboards:
            buttons.popitem(last=False)

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
        first = next((mark for mark, when in chat.marks if when > oldest), None)
        return [] if first is None else list(range(chat.newest, first - 1, -1))

    def _sweep(self, now: float) -> None:
        """Drop marks past the delete window, and chats with nothing left (at most once a minute)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        oldest = now - self.window
        for chat_id in list(self._chats):
            chat = self._chats[chat_id]
            if chat.last_seen <= oldest:
                del self._chats[chat_id]
                continue
            while chat.marks and chat.marks[0][1] <= oldest:
                chat.marks.pop(0)
