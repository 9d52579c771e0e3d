"""The engine in a process of its own, so Rasa's work and Telegram's HTTP each get a core.

On one process the two take turns on one interpreter lock, and under load every chat waits for both
(benchmarks/README.md). Here the Telegram process writes each call as one JSON line to the engine process's stdin
without waiting, so the engine always has the next turn queued, and matches the answers (one JSON line each, in
the same order) to the callers by number. Message text crosses only this pipe, in memory; neither side keeps it.

    request:  [number, "reply", conversation_id, text]  or  [number, "forget", conversation_id]
    answer:   [number, reply_as_dict]                   or  [number, null]

The engine process answers one call at a time, in the order it gets them. If it dies, waiting callers get the
Childline failure reply and the next call starts a fresh engine (conversations in it are gone, as after /exit).
The engine process's own stdout is pointed at stderr, so nothing Rasa prints can corrupt the answers.
"""

import asyncio
import itertools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

from bot.replies import Reply, failure_reply

log = logging.getLogger(__name__)

READY = "ready"
MAX_LINE = 1 << 20  # one answer is a few kB; Telegram caps a message at 4,096 characters


class EngineStartError(RuntimeError):
    """No engine process could be started (no trained model, or it failed while loading)."""


class EngineProcess:
    """`await reply(conversation_id, text)` and `await forget(conversation_id)`, answered by a child process.

    Use as `async with EngineProcess(stats_db=...) as engine:`; `start()` returns once the model is loaded.
    """

    def __init__(self, model_path: Optional[Path] = None, stats_db: Optional[Path] = None,
                 start_timeout: float = 300.0) -> None:
        self.model_path = model_path
        self.stats_db = stats_db
        self.start_timeout = start_timeout
        self._process: Optional[asyncio.subprocess.Process] = None
        self._reader: Optional[asyncio.Task] = None
        self._waiting: Dict[int, asyncio.Future] = {}
        self._numbers = itertools.count()
        self._starting = asyncio.Lock()

    async def __aenter__(self) -> "EngineProcess":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start the engine process and wait until its model is loaded (or raise EngineStartError)."""
        async with self._starting:
            if self.running:
                return
            from bot.training import latest_model  # no Rasa: only the models folder

            try:
                model = self.model_path or latest_model()
            except FileNotFoundError as error:  # no trained model yet
                raise EngineStartError(str(error)) from None
            config = {"model": str(model),
                      "stats_db": str(self.stats_db) if self.stats_db else None}
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.engine_process", json.dumps(config),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=MAX_LINE,
            )
            try:
                line = await asyncio.wait_for(process.stdout.readline(), self.start_timeout)
            except asyncio.TimeoutError:
                line = b""
            if line.strip() != json.dumps(READY).encode():
                await _stop(process)
                raise EngineStartError(f"The engine process did not start (exit code {process.returncode}).")
            self._process = process
            self._reader = asyncio.create_task(self._read_answers(process))

    async def _read_answers(self, process: asyncio.subprocess.Process) -> None:
        """Hand each answer to its caller; when the process ends, every caller still waiting gets None."""
        try:
            while True:
                line = await process.stdout.readline()
                if not line:
                    break
                number, answer = json.loads(line)
                future = self._waiting.pop(number, None)
                if future is not None and not future.done():
                    future.set_result(answer)
        except (ValueError, asyncio.LimitOverrunError) as error:
            log.error("The engine process sent an unreadable answer (%s).", type(error).__name__)
        finally:
            if process.returncode is None:
                await _stop(process)
            if process is self._process:  # it stopped by itself, not through close()
                log.error("The engine process stopped (exit code %s).", process.returncode)
                self._fail_waiting()

    def _fail_waiting(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_result(None)

    async def _call(self, *request: Any) -> Optional[Any]:
        """Send one request and wait for its answer; None if the engine process died first."""
        if not self.running:
            await self.start()
        number = next(self._numbers)
        future = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        try:
            self._process.stdin.write(json.dumps([number, *request]).encode() + b"\n")
            await self._process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self._waiting.pop(number, None)
            return None
        return await future

    async def reply(self, conversation_id: str, text: str) -> Reply:
        """The engine's answer to one message; the Childline failure reply if the engine can't answer."""
        try:
            answer = await self._call("reply", conversation_id, text)
        except EngineStartError:
            log.error("No engine process: answered with the failure reply.")
            return failure_reply()
        return Reply.from_dict(answer) if answer else failure_reply()

    async def forget(self, conversation_id: str) -> None:
        """Drop everything the engine keeps about one conversation (quick exit)."""
        await self._call("forget", conversation_id)

    async def close(self) -> None:
        """Stop the engine process."""
        process, self._process = self._process, None
        if process is not None:
            await _stop(process)
        if self._reader is not None:
            await self._reader
            self._reader = None
        self._fail_waiting()


async def _stop(process: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """End the process: close its input (it exits at end of input), then terminate, then kill."""
    if process.returncode is None and process.stdin is not None and not process.stdin.is_closing():
        process.stdin.close()
    for action in (None, process.terminate, process.kill):
        if process.returncode is not None:
            return
        if action is not None:
            action()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except asyncio.TimeoutError:
            continue


# ---------------------------------------------------------------------------------------------------------------
# The engine process itself: `python -m bot.engine_process CONFIG_JSON`


def _requests(fd: int, idle: Callable[[], None]) -> Iterator[bytes]:
    """The request lines arriving on `fd`, until it closes; calls `idle()` each time none is waiting."""
    pending = b""
    while True:
        line, found, rest = pending.partition(b"\n")
        if found:
            pending = rest
            yield line
            continue
        idle()
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        pending += chunk


def _serve(config: Dict[str, Any]) -> None:
    """Load the engine, say ready, then answer requests from stdin until it closes."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever else prints goes to stderr, never to the answers
    sys.stdout = sys.stderr

    import warnings

    warnings.showwarning = lambda *args, **kwargs: None
    from bot.privacy import configure_logging

    configure_logging()
    from bot.engine import Engine
    from bot.stats import CountBatch, Stats

    # Counts are written together when no message is waiting (or every 100 under load), not once per turn.
    counts = CountBatch(Stats(Path(config["stats_db"]))) if config.get("stats_db") else None
    engine = Engine.load(Path(config["model"]), stats=counts)
    loop = asyncio.new_event_loop()

    def send(line: Any) -> None:
        answers.write(json.dumps(line).encode() + b"\n")
        answers.flush()

    send(READY)
    try:
        for line in _requests(sys.stdin.fileno(), counts.flush if counts else lambda: None):
            number, kind, conversation_id, *text = json.loads(line)
            if kind == "reply":
                send([number, loop.run_until_complete(engine.reply(conversation_id, text[0])).to_dict()])
            else:
                loop.run_until_complete(engine.forget(conversation_id))
                send([number, None])
    except BrokenPipeError:  # the Telegram process has gone
        pass
    finally:
        if counts is not None:
            counts.flush()
            counts.stats.close()
        loop.close()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
