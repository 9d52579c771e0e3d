"""A fake Telegram Bot API server for end-to-end tests: aiohttp on 127.0.0.1, an ephemeral port, real HTTP.

The real python-telegram-bot client is pointed at it with `base_url=fake.base_url`. It implements the methods
Signpost uses, the way Telegram does for a private chat (one message id sequence per chat, shared by both sides;
`deleteMessages` takes at most 100 ids; `getUpdates` long-polls and answers 409 while a webhook is set), and records
every call, including any method it does not implement, so a test can assert what was (and was never) called.

Test side: `await fake.send_text(user, "hi")`, `send_command`, `send_media(user, "photo")`, `press(user, message_id,
data)`, `edit_text(...)` make a young person's update (queued for getUpdates, or POSTed to the bot's webhook with the
secret it registered); `await fake.wait_for(lambda: ...)` waits for the bot to do something.
"""

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import aiohttp
from aiohttp import web

BOT_ID = 7000001
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Signpost",
    "username": "signpost_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_DELETE = 100

# Parameters python-telegram-bot sends JSON-encoded (strings are sent as they are).
JSON_PARAMETERS = frozenset(
    {
        "chat_id",
        "message_id",
        "message_ids",
        "reply_markup",
        "protect_content",
        "commands",
        "offset",
        "timeout",
        "limit",
        "allowed_updates",
        "drop_pending_updates",
        "show_alert",
        "link_preview_options",
        "max_connections",
        "cache_time",
    }
)

# What a young person's media message carries, by kind (file ids are made up; nothing is ever downloadable).
MEDIA = {
    "photo": lambda n: [{"file_id": f"photo-{n}", "file_unique_id": f"p{n}", "width": 90, "height": 90}],
    "video": lambda n: {"file_id": f"video-{n}", "file_unique_id": f"v{n}", "width": 90, "height": 90, "duration": 3},
    "video_note": lambda n: {"file_id": f"note-{n}", "file_unique_id": f"n{n}", "length": 90, "duration": 3},
    "animation": lambda n: {
        "file_id": f"anim-{n}",
        "file_unique_id": f"a{n}",
        "width": 90,
        "height": 90,
        "duration": 3,
    },
    "document": lambda n: {"file_id": f"doc-{n}", "file_unique_id": f"d{n}", "file_name": "file.pdf"},
    "voice": lambda n: {"file_id": f"voice-{n}", "file_unique_id": f"o{n}", "duration": 2},
    "audio": lambda n: {"file_id": f"audio-{n}", "file_unique_id": f"u{n}", "duration": 2},
    "sticker": lambda n: {
        "file_id": f"sticker-{n}",
        "file_unique_id": f"s{n}",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "\U0001f622",
    },
    "location": lambda n: {"latitude": 51.5, "longitude": -0.12},
    "contact": lambda n: {"phone_number": "+440000000000", "first_name": "Someone"},
}


@dataclass
class Call:
    """One request the bot made: the method name and its decoded parameters."""

    method: str
    params: Dict[str, Any]


@dataclass
class Message:
    """A message in a fake chat (text only for tests to read; the bot's real memory never holds text)."""

    message_id: int
    from_bot: bool
    date: int
    text: Optional[str] = None
    kind: str = "text"
    reply_markup: Optional[Dict[str, Any]] = None
    protect_content: bool = False

    def keyboard_data(self) -> List[str]:
        """The callback data of every inline button, in order."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button.get("callback_data") for row in rows for button in row]

    def keyboard_titles(self) -> List[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button.get("text") for row in rows for button in row]


@dataclass
class Chat:
    """A private chat between the bot and one user: every message ever sent, and which are still there."""

    chat_id: int
    next_id: Callable[[], int] = field(default_factory=lambda: itertools.count(1).__next__)
    messages: Dict[int, Message] = field(default_factory=dict)
    alive: Dict[int, Message] = field(default_factory=dict)

    def add(self, from_bot: bool, **fields: Any) -> Message:
        message = Message(message_id=self.next_id(), from_bot=from_bot, date=int(time.time()), **fields)
        self.messages[message.message_id] = message
        self.alive[message.message_id] = message
        return message


class FakeTelegram:
    """The fake Bot API server. Use as `async with FakeTelegram(token) as fake:`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: List[Call] = []
        self.chats: Dict[int, Chat] = {}
        self.webhook: Optional[Dict[str, Any]] = None
        self._updates: List[Dict[str, Any]] = []
        self._queued = asyncio.Event()  # set when an update is queued: a held getUpdates answers at once
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._floods: Dict[str, List[int]] = {}
        self._failures: Dict[str, List[int]] = {}
        self._runner: Optional[web.AppRunner] = None
        self._closing = False
        self._in_flight = 0
        self.port = 0
        self.refuse_webhooks: Optional[str] = None  # setWebhook answers this error (Telegram's words) if set
        self.undeletable: set = set()  # (chat id, message id) Telegram refuses to delete (e.g. too old)
        self.raw_updates: List[Dict[str, Any]] = []  # every update pushed, as sent

    # ---------------------------------------------------------------- server life

    async def __aenter__(self) -> "FakeTelegram":
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._closing = True  # a held getUpdates returns at once
        self._queued.set()
        deadline = time.monotonic() + 5
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---------------------------------------------------------------- what the bot did

    def calls_to(self, method: str, chat_id: Optional[int] = None) -> List[Call]:
        return [c for c in self.calls if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)]

    def methods(self) -> set:
        return {c.method for c in self.calls}

    def chat(self, chat_id: int) -> Chat:
        if chat_id not in self.chats:
            self.chats[chat_id] = Chat(chat_id)
        return self.chats[chat_id]

    def bot_messages(self, chat_id: int) -> List[Message]:
        """Every message the bot sent to this chat (deleted ones too), oldest first."""
        return [m for m in self.chat(chat_id).messages.values() if m.from_bot]

    def bot_text(self, chat_id: int, after: int = 0) -> str:
        """The text of the bot's messages after message id `after`, joined."""
        return "\n".join(m.text or "" for m in self.bot_messages(chat_id) if m.message_id > after)

    def last_id(self, chat_id: int) -> int:
        return max(self.chat(chat_id).messages, default=0)

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until `condition()` is truthy (checked after every request); returns its value."""

        async def wait() -> Any:
            async with self._changed:
                while True:
                    value = condition()
                    if value:
                        return value
                    await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def wait_for_replies(self, chat_id: int, after: int, count: int = 1, timeout: float = 30.0) -> List[Message]:
        """Wait until the bot has sent at least `count` messages to the chat after message id `after`."""

        def replies() -> List[Message]:
            sent = [m for m in self.bot_messages(chat_id) if m.message_id > after]
            return sent if len(sent) >= count else []

        return await self.wait_for(replies, timeout)

    async def settle(self, quiet: float = 0.5, timeout: float = 30.0) -> None:
        """Wait until the bot has made no request for `quiet` seconds."""

        async def wait() -> None:
            while True:
                before = len(self.calls)
                await asyncio.sleep(quiet)
                if len(self.calls) == before:
                    return

        await asyncio.wait_for(wait(), timeout)

    def flood(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Make the next `times` calls to `method` fail with 429 Too Many Requests (flood control)."""
        self._floods.setdefault(method, []).extend([retry_after] * times)

    # ---------------------------------------------------------------- what the young person does

    def _user(self, user_id: int) -> Dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Young", "language_code": "en"}

    def _message_dict(self, chat_id: int, message: Message, user_id: Optional[int] = None) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": {"id": chat_id, "type": "private", "first_name": "Young"},
            "from": BOT_USER if message.from_bot else self._user(user_id or chat_id),
        }
        if message.text is not None:
            data["text"] = message.text
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.protect_content:
            data["has_protected_content"] = True
        return data

    async def push_raw(self, update: Dict[str, Any]) -> int:
        """Deliver any update body as it is given (an id is added): e.g. one in an older Bot API shape."""
        return await self._push(update)

    def fail(self, method: str, status: int = 500, times: int = 1) -> None:
        """Make the next `times` calls to `method` fail with this HTTP status (e.g. 500, as a broken server)."""
        self._failures.setdefault(method, []).extend([status] * times)

    async def _push(self, update: Dict[str, Any]) -> int:
        """Deliver one update: POST it to the webhook if one is set, else queue it for getUpdates."""
        update = {"update_id": next(self._update_ids), **update}
        self.raw_updates.append(update)
        if self.webhook and self.webhook.get("url"):
            return await self.post_to_webhook(update, self.webhook.get("secret_token"))
        self._updates.append(update)
        self._queued.set()
        return 200

    async def post_to_webhook(self, update: Dict[str, Any], secret: Optional[str]) -> int:
        """POST one update to the registered webhook URL, with `secret` in the secret-token header; the status."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with aiohttp.ClientSession() as session:
            async with session.post(self.webhook["url"], json=update, headers=headers) as response:
                return response.status

    async def send_text(self, user_id: int, text: str, command: bool = False) -> int:
        """The young person sends a text message; returns its message id."""
        message = self.chat(user_id).add(False, text=text)
        data = self._message_dict(user_id, message)
        if command:
            data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self._push({"message": data})
        return message.message_id

    async def send_command(self, user_id: int, command: str) -> int:
        return await self.send_text(user_id, command, command=True)

    async def send_media(self, user_id: int, kind: str, caption: Optional[str] = None) -> int:
        """The young person sends a photo, video, sticker, voice note, ...; returns its message id."""
        message = self.chat(user_id).add(False, kind=kind)
        data = self._message_dict(user_id, message)
        data[kind] = MEDIA[kind](message.message_id)
        if kind == "animation":  # Telegram sends an animation as a document too
            data["document"] = MEDIA["document"](message.message_id)
        if caption is not None:
            data["caption"] = caption
        await self._push({"message": data})
        return message.message_id

    async def edit_text(self, user_id: int, message_id: int, text: str) -> None:
        """The young person edits one of their text messages."""
        message = self.chat(user_id).messages[message_id]
        message.text = text
        data = self._message_dict(user_id, message)
        data["edit_date"] = int(time.time())
        await self._push({"edited_message": data})

    async def edit_to_photo(self, user_id: int, message_id: int) -> None:
        """The young person replaces one of their messages with a photo (an edited message carrying media)."""
        message = self.chat(user_id).messages[message_id]
        message.text, message.kind = None, "photo"
        data = self._message_dict(user_id, message)
        data["photo"] = MEDIA["photo"](message_id)
        data["edit_date"] = int(time.time())
        await self._push({"edited_message": data})

    async def press(self, user_id: int, message_id: int, data: str) -> str:
        """The young person presses an inline button of a bot message; returns the callback query id."""
        query_id = f"cq{next(self._callback_ids)}"
        message = self.chat(user_id).messages[message_id]
        await self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id),
                    "chat_instance": f"ci{user_id}",
                    "data": data,
                    "message": self._message_dict(user_id, message),
                }
            }
        )
        return query_id

    # ---------------------------------------------------------------- the Bot API

    async def _file(self, request: web.Request) -> web.Response:
        self.calls.append(Call("file_download", {"path": request.match_info["path"]}))
        return web.Response(status=404)

    async def _handle(self, request: web.Request) -> web.Response:
        self._in_flight += 1
        try:
            return await self._answer(request)
        finally:
            self._in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        async with self._changed:
            self.calls.append(Call(method, params))
            self._changed.notify_all()
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        failures = self._failures.get(method)
        if failures:
            return _error(failures.pop(0), "Internal Server Error")
        floods = self._floods.get(method)
        if floods:
            retry_after = floods.pop(0)
            return _error(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return _error(404, f"Not Found: method {method} is not implemented by the fake")
        try:
            result = await handler(params)
        except ApiError as error:
            return _error(400, error.description)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> Dict[str, Any]:
        # The header as sent: aiohttp's `content_type` parses it with the email package on every request.
        if request.headers.get("Content-Type", "").startswith("application/json"):
            raw = await request.json()
            return dict(raw) if isinstance(raw, dict) else {}
        form = await request.post()
        params: Dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):  # an uploaded file: record only that there was one
                params[key] = "<file>"
            elif key in JSON_PARAMETERS:
                params[key] = json.loads(value)
            else:
                params[key] = value
        return params

    async def api_getMe(self, params: Dict[str, Any]) -> Dict[str, Any]:
        return BOT_USER

    async def api_getUpdates(self, params: Dict[str, Any]) -> Any:
        if self.webhook and self.webhook.get("url"):
            raise ApiError("Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # Long polling, held at most 1 s so the bot and the server stop quickly.
        if not self._updates and not self._closing:
            self._queued.clear()
            try:
                await asyncio.wait_for(self._queued.wait(), min(float(params.get("timeout") or 0), 1.0))
            except asyncio.TimeoutError:
                pass
        return self._updates[: int(params.get("limit") or 100)]

    async def api_deleteWebhook(self, params: Dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def api_setWebhook(self, params: Dict[str, Any]) -> bool:
        if self.refuse_webhooks:
            raise ApiError(self.refuse_webhooks)
        self.webhook = dict(params)
        return True

    async def api_getWebhookInfo(self, params: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def api_setMyCommands(self, params: Dict[str, Any]) -> bool:
        return True

    async def api_sendMessage(self, params: Dict[str, Any]) -> Dict[str, Any]:
        chat_id = int(params["chat_id"])
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError("Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError("Bad Request: message is too long")
        markup = params.get("reply_markup")
        for data in Message(0, True, 0, reply_markup=markup).keyboard_data():
            if data is not None and len(data.encode()) > 64:
                raise ApiError("Bad Request: BUTTON_DATA_INVALID")
        message = self.chat(chat_id).add(
            True, text=text, reply_markup=markup, protect_content=bool(params.get("protect_content"))
        )
        return self._message_dict(chat_id, message)

    async def api_editMessageReplyMarkup(self, params: Dict[str, Any]) -> Dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = self.chat(chat_id).alive.get(int(params["message_id"]))
        if message is None:
            raise ApiError("Bad Request: message to edit not found")
        markup = params.get("reply_markup") or None
        if markup == message.reply_markup:
            raise ApiError("Bad Request: message is not modified")
        message.reply_markup = markup
        return self._message_dict(chat_id, message)

    async def api_answerCallbackQuery(self, params: Dict[str, Any]) -> bool:
        return True

    async def api_deleteMessage(self, params: Dict[str, Any]) -> bool:
        chat = self.chat(int(params["chat_id"]))
        if (chat.chat_id, int(params["message_id"])) in self.undeletable:
            raise ApiError("Bad Request: message can't be deleted")
        if chat.alive.pop(int(params["message_id"]), None) is None:
            raise ApiError("Bad Request: message to delete not found")
        return True

    async def api_deleteMessages(self, params: Dict[str, Any]) -> bool:
        ids = params.get("message_ids") or []
        if not 1 <= len(ids) <= MAX_DELETE:
            raise ApiError("Bad Request: too many message identifiers specified")
        chat = self.chat(int(params["chat_id"]))
        if any((chat.chat_id, int(m)) in self.undeletable for m in ids):
            raise ApiError("Bad Request: message can't be deleted")
        for message_id in ids:  # ids that are already gone are skipped, as Telegram does
            chat.alive.pop(int(message_id), None)
        return True

    async def api_getFile(self, params: Dict[str, Any]) -> Dict[str, Any]:
        # Recorded like every call (the tests assert it never happens); answered as Telegram would.
        return {"file_id": params.get("file_id"), "file_unique_id": "x", "file_path": "photos/file_0.jpg"}


class ApiError(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def _error(code: int, description: str, parameters: Optional[Dict[str, Any]] = None) -> web.Response:
    body: Dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    # Telegram answers errors with a JSON body and the same HTTP status.
    return web.json_response(body, status=code)
