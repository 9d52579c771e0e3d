"""How updates reach the handlers: unreadable ones skipped, each chat's in order, and their text blanked after.

- `ReadingBot` is python-telegram-bot's ExtBot, but an update in a shape the library can't read (a poll in an
  older Bot API shape, as an older self-hosted Bot API server sends) no longer fails the whole batch. The library
  would log the batch at CRITICAL, text and names included, and fetch the same batch again at once, forever, so
  no other chat would ever be answered. Here that one update is replaced by an empty one with its id (so polling
  moves past it), and logged as one line with its type and id only.
- `PerChatOrder` handles different chats concurrently and one chat's updates one at a time, in arrival order.
- `forget_contents` blanks the words and names of a handled update.
"""

import asyncio
import logging
from typing import Any, Coroutine, Dict, List, Optional, Sequence

from telegram import TelegramObject, Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor, ExtBot
from telegram.request import BaseRequest

log = logging.getLogger(__name__)


def update_kind(data: Any) -> str:
    """What kind of update a raw one is ("message", "poll", ...), from its keys; never its contents."""
    if not isinstance(data, dict):
        return type(data).__name__
    kinds = sorted(key for key in data if key != "update_id" and isinstance(key, str))
    return "+".join(kinds)[:60] or "empty"


def update_id(data: Any) -> Optional[int]:
    value = data.get("update_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def readable_update(data: Any, bot: Any) -> Optional[Update]:
    """The update, or None (logged as its type and id, nothing else) if python-telegram-bot can't read it."""
    try:
        return Update.de_json(data, bot)
    except Exception as error:  # any shape the library trips on: KeyError, TypeError, ValueError, ...
        log.warning(
            "Skipped update %s (%s): it could not be read (%s).",
            update_id(data),
            update_kind(data),
            type(error).__name__,
        )
        return None


class ReadingBot(ExtBot):
    """ExtBot that skips updates it can't read instead of failing their batch, and closes its HTTP sessions when
    it fails to start (no "Unclosed client session" after a rejected token)."""

    def __init__(self, token: str, requests: Sequence[BaseRequest], **kwargs: Any) -> None:
        super().__init__(token, request=requests[0], get_updates_request=requests[1], **kwargs)
        with self._unfrozen():
            self._own_requests = tuple(requests)

    async def initialize(self) -> None:
        try:
            await super().initialize()
        except BaseException:
            await asyncio.gather(*(request.shutdown() for request in self._own_requests), return_exceptions=True)
            raise

    async def _post(self, endpoint: str, data: Optional[Dict[str, Any]] = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint != "getUpdates":
            return result
        if not isinstance(result, list):  # a TelegramError: the polling loop backs off (1 s, growing to 30 s)
            raise TelegramError("getUpdates answered with something that is not a list of updates")
        return [self._checked(item) for item in result]

    def _checked(self, item: Any) -> Any:
        if readable_update(item, self) is not None:
            return item
        number = update_id(item)
        if number is None:
            raise TelegramError("getUpdates answered with an update without an id")
        return {"update_id": number}  # an empty update: no handler takes it, and polling moves past it


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
            try:
                await coroutine
            finally:
                forget_contents(update)
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


__all__: List[str] = ["ReadingBot", "PerChatOrder", "forget_contents", "readable_update"]
