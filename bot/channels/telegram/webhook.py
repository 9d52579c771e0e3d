"""The webhook: Telegram's update POSTs received on 127.0.0.1, behind a reverse proxy that holds the certificate.

Hand-built on asyncio streams, not python-telegram-bot's `run_webhook` (tornado), because of what
benchmarks/faults.py measured on the library's server (`--webhook-library`): it has no connection cap and keeps a
connection that never sends its headers for tornado's default hour, so half-open connections used up the
process's open files and a real update could not get in; and an update it can't read is answered 400, so Telegram
sends it again and again. Here:

- A connection must send its whole header block within `header_timeout` and its body within `body_timeout`,
  and may wait `idle_timeout` between requests; at most `max_connections` are open at once. When the cap is
  reached, the connection that has waited longest without sending a whole request is closed to make room:
  half-open connections can't keep a real update out, and never use up the process's open files.
- Only `POST <the URL's path>` with the right `X-Telegram-Bot-Api-Secret-Token` (compared in constant time) is
  read; anything else gets 403, 404, 405, 411 or 413 and is never processed. `GET /healthz` says whether the bot
  is serving and whether the statistics are being written, nothing else.
- An update that can't be read is answered 200 and skipped (logged as its type and id only), so Telegram moves on.
- Nothing is logged per request; no request line, header or body is ever logged.
"""

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple
from urllib.parse import urlsplit

from telegram.ext import Application

from bot.channels.telegram.updates import readable_update

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
}


@dataclass(frozen=True)
class WebhookLimits:
    """How long a connection may take and how many may be open (the defaults suit Telegram behind a proxy)."""

    header_timeout: float = 5.0
    body_timeout: float = 10.0
    idle_timeout: float = 30.0
    max_connections: int = 100
    max_header_bytes: int = 16 << 10
    max_body_bytes: int = 1 << 20  # an update is a few kB


class _Connection:
    __slots__ = ("writer", "waiting_since")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.waiting_since: Optional[float] = time.monotonic()  # None while a whole request is being handled


class WebhookServer:
    """Receives Telegram's update POSTs and puts them on the application's update queue."""

    def __init__(
        self,
        application: Application,
        url: str,
        secret: str,
        listen: str = "127.0.0.1",
        port: int = 8443,
        limits: WebhookLimits = WebhookLimits(),
        health: Optional[Callable[[], Awaitable[Dict[str, Any]]]] = None,
    ) -> None:
        self.application = application
        self.url = url
        self.path = urlsplit(url).path or "/"
        self.secret = secret.encode()
        self.listen = listen
        self.port = port
        self.limits = limits
        self.health = health
        self.open: Dict[int, _Connection] = {}
        self.evicted = 0
        self._server: Optional[asyncio.AbstractServer] = None

    async def start(self) -> int:
        """Start listening; returns the port (useful when `port` is 0)."""
        self._server = await asyncio.start_server(
            self._serve, self.listen, self.port, limit=self.limits.max_header_bytes, backlog=128
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
            for connection in list(self.open.values()):
                connection.writer.transport.abort()
            await self._server.wait_closed()
            self._server = None

    def _make_room(self) -> None:
        """At the cap: close the connection that has waited longest without sending a whole request."""
        while len(self.open) >= self.limits.max_connections:
            idle = [c for c in self.open.values() if c.waiting_since is not None]
            if not idle:
                return
            oldest = min(idle, key=lambda c: c.waiting_since)
            oldest.writer.transport.abort()
            self.open.pop(id(oldest), None)
            self.evicted += 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._make_room()
        if len(self.open) >= self.limits.max_connections:  # every open one is mid-request: refuse this one
            writer.transport.abort()
            return
        connection = _Connection(writer)
        self.open[id(connection)] = connection
        timeout = self.limits.header_timeout
        try:
            while True:
                connection.waiting_since = time.monotonic()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                status, body, keep_alive = await self._request(head, reader, connection)
                writer.write(_response(status, body, keep_alive))
                await asyncio.wait_for(writer.drain(), self.limits.body_timeout)
                if not keep_alive:
                    break
                timeout = self.limits.idle_timeout
        except (
            asyncio.TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass  # slow, half-open, oversized or gone: closed without an answer
        finally:
            self.open.pop(id(connection), None)
            writer.transport.abort()

    async def _request(
        self, head: bytes, reader: asyncio.StreamReader, connection: _Connection
    ) -> Tuple[int, bytes, bool]:
        """Read one request after its header block; (status, body, keep the connection open)."""
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers: Dict[str, str] = {}
        for line in lines[1:]:
            name, found, value = line.partition(":")
            if found:
                headers[name.strip().lower()] = value.strip()
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        path = urlsplit(target).path
        if method == "GET" and path == "/healthz":
            state = await self.health() if self.health else {}
            return 200, json.dumps({"ok": True, **state}).encode(), keep_alive
        if path != self.path:
            return 404, b"", False
        if method != "POST":
            return 405, b"", False
        if "transfer-encoding" in headers or "content-length" not in headers:
            return 411, b"", False
        length = int(headers["content-length"])
        if not 0 <= length <= self.limits.max_body_bytes:
            return 413, b"", False
        given = headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self.secret):
            return 403, b"", False  # the body is never read
        body = await asyncio.wait_for(reader.readexactly(length), self.limits.body_timeout)
        connection.waiting_since = None  # a whole request: not one to close to make room
        return await self._update(body), b"", keep_alive

    async def _update(self, body: bytes) -> int:
        """Queue one update for the application; an unreadable one is skipped (Telegram must not resend it)."""
        try:
            data = json.loads(body)
        except ValueError:
            log.warning("Skipped a webhook request whose body is not JSON.")
            return 200
        update = readable_update(data, self.application.bot)
        del body, data
        if update is not None:
            await self.application.update_queue.put(update)
        return 200


def _response(status: int, body: bytes, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: application/json\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode() + body
