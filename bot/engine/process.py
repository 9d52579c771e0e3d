"""The engine in a process of its own, so Rasa's work and Telegram's HTTP each get a core: the Telegram side.

On one process the two take turns on one interpreter lock, and under load every chat waits for both
(benchmarks/README.md). `EngineProcess` starts `python -m bot.engine.serve` and talks to it over the pipe
(bot/engine/protocol.py). This half imports no Rasa: the Telegram process uses it.

The engine process answers one call at a time, in the order it gets them. After sending a reply it counts the turn
(`Engine.count`, a step of its own), and it is the one writer of statistics: counts go to a `StatsWriter`, whose
thread writes them, so a slow or broken database never holds up an answer.

Every turn has a deadline (`SIGNPOST_TURN_DEADLINE`, default 5 s): past it the young person gets the failure reply
(999 and Childline) and a hung engine is killed and started afresh at once (its conversations are gone, as after
/exit); a dead one too. The engine process's stdout is pointed at stderr, so nothing Rasa prints can corrupt the
answers; it gets no Telegram token or webhook secret in its environment, can't dump core, and its freed memory
is overwritten (bot/privacy.py).
"""

import asyncio
import itertools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.engine.protocol import MAX_LINE, READY, encode
from bot.privacy import scrubbing_environment
from bot.replies import Reply, failure_reply
from bot.settings import SECRET_ENVIRONMENT, turn_deadline

log = logging.getLogger("bot.engine_process")  # the name its log lines have always had (docs/deploy.md's searches)
MAX_UNSENT_COUNTS = 10_000  # "count this" calls kept while no engine process is running


class EngineStartError(RuntimeError):
    """No engine process could be started (no trained model, or it failed while loading)."""


class EngineProcess:
    """`await reply(conversation_id, text)` and `await forget(conversation_id)`, answered by a child process.

    Use as `async with EngineProcess(stats_db=...) as engine:`; `start()` returns once the model is loaded.
    """

    def __init__(
        self,
        model_path: Optional[Path] = None,
        stats_db: Optional[Path] = None,
        start_timeout: float = 300.0,
        deadline: Optional[float] = None,
    ) -> None:
        self.model_path = model_path
        self.stats_db = stats_db
        self.start_timeout = start_timeout
        self.deadline = turn_deadline() if deadline is None else deadline
        self._process: Optional[asyncio.subprocess.Process] = None
        self._reader: Optional[asyncio.Task] = None
        self._waiting: Dict[int, asyncio.Future] = {}
        self._numbers = itertools.count()
        self._starting: Optional[asyncio.Task] = None
        self._unsent: List[Dict[str, Any]] = []
        # "count this" calls written but not yet known to be handled: number -> counts. An answer to a later call
        # means they were (the engine handles calls in order). When a hung engine is killed, these are sent again
        # to the next one, so none is lost; one is counted twice only if the engine had handled it and written it
        # in its last moments without answering anything after it.
        self._counts_in_flight: Dict[int, Dict[str, Any]] = {}
        self.restarts = 0  # hung engines killed

    async def __aenter__(self) -> "EngineProcess":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self.running else None

    async def start(self) -> None:
        """Start the engine process and wait until its model is loaded (or raise EngineStartError). The start goes
        on in the background if the caller stops waiting (a turn past its deadline), so the next one finds it."""
        if self.running:
            return
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._start())
            self._starting.add_done_callback(lambda task: task.cancelled() or task.exception())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        from bot.model_files import latest_model  # no Rasa: only the models folder

        try:
            model = self.model_path or latest_model()
        except FileNotFoundError as error:  # no trained model yet
            raise EngineStartError(str(error)) from None
        config = {"model": str(model), "stats_db": str(self.stats_db) if self.stats_db else None}
        environment = {name: value for name, value in os.environ.items() if name not in SECRET_ENVIRONMENT}
        environment = scrubbing_environment(environment)  # its freed memory overwritten (bot/privacy.py)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.engine.serve",
            json.dumps(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=MAX_LINE,
            env=environment,
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
        unsent, self._unsent = self._unsent, []
        for counts in unsent:
            self._write(["count", counts])

    async def _read_answers(self, process: asyncio.subprocess.Process) -> None:
        """Hand each answer to its caller; when the process ends, every caller still waiting gets None."""
        try:
            while True:
                line = await process.stdout.readline()
                if not line:
                    break
                number, answer = json.loads(line)
                for handled in [n for n in self._counts_in_flight if n < number]:
                    del self._counts_in_flight[handled]
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

    def _write(self, request: List[Any]) -> int:
        number = next(self._numbers)
        self._process.stdin.write(encode([number, *request]))
        return number

    async def _call(self, *request: Any, within: Optional[float] = None, kill: bool = True) -> Optional[Any]:
        """Send one request and wait for its answer, within the turn deadline. None if the engine process died
        first; raises asyncio.TimeoutError past the deadline, after killing a hung engine (and starting anew)."""
        loop = asyncio.get_running_loop()
        within = self.deadline if within is None else within
        deadline = loop.time() + within
        await asyncio.wait_for(self.start(), within)  # a start that takes longer goes on in the background
        process = self._process
        future = loop.create_future()
        try:
            number = self._write(list(request))
        except (BrokenPipeError, ConnectionResetError):
            return None
        self._waiting[number] = future
        try:
            await asyncio.wait_for(process.stdin.drain(), max(0.0, deadline - loop.time()))
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
        except (BrokenPipeError, ConnectionResetError):
            return None
        except asyncio.TimeoutError:
            if kill:
                self._hung(process)
            raise
        finally:
            self._waiting.pop(number, None)

    def _hung(self, process: asyncio.subprocess.Process) -> None:
        """A turn passed its deadline: kill the engine process (every turn waiting on it gets the failure reply at
        once) and start a fresh one in the background."""
        if process is not self._process or process.returncode is not None:
            return  # another turn already did
        log.error("The engine process did not answer within %.1f s: killed, and a new one is starting.", self.deadline)
        self.restarts += 1
        self._process = None
        process.kill()
        in_flight, self._counts_in_flight = self._counts_in_flight, {}
        self._unsent.extend(counts for _, counts in sorted(in_flight.items()))
        self._fail_waiting()
        self._starting = asyncio.ensure_future(self._restart(process, self._reader))
        self._starting.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _restart(self, process: asyncio.subprocess.Process, reader: Optional[asyncio.Task]) -> None:
        await process.wait()
        if reader is not None:
            await reader
        await self._start()

    async def reply(self, conversation_id: str, text: str) -> Reply:
        """The engine's answer to one message; the failure reply (999 and Childline) if the engine can't answer
        within the turn deadline."""
        try:
            answer = await self._call("reply", conversation_id, text)
        except EngineStartError:
            log.error("No engine process: answered with the failure reply.")
            return failure_reply()
        except asyncio.TimeoutError:
            return failure_reply()
        return Reply.from_dict(answer) if answer else failure_reply()

    async def forget(self, conversation_id: str) -> None:
        """Drop everything the engine keeps about one conversation (quick exit). Past the deadline the engine was
        killed, which forgets every conversation."""
        try:
            await self._call("forget", conversation_id)
        except (EngineStartError, asyncio.TimeoutError):
            pass

    async def count(self, **counts: Any) -> None:
        """ "Count this" (Stats.record's keywords): written to the engine process without waiting for it; kept
        here, in numbers only, while no engine process runs."""
        if self.running:
            try:
                number = self._write(["count", counts])
                if len(self._counts_in_flight) < MAX_UNSENT_COUNTS:
                    self._counts_in_flight[number] = counts
                return
            except (BrokenPipeError, ConnectionResetError):
                pass
        if len(self._unsent) < MAX_UNSENT_COUNTS:
            self._unsent.append(counts)
        else:
            log.error("A count was lost: %d are already waiting for the engine process.", len(self._unsent))

    async def health(self) -> Dict[str, Any]:
        """The engine's and the statistics' state, for /healthz: no data."""
        if not self.running:
            return {"engine": "starting"}
        try:
            state = await self._call("health", within=1.0, kill=False)
        except (asyncio.TimeoutError, EngineStartError):
            return {"engine": "busy or not answering"}
        return {"engine": "ok", **(state or {})}

    async def close(self) -> None:
        """Stop the engine process."""
        if self._starting is not None and not self._starting.done():
            try:
                await self._starting
            except EngineStartError:
                pass
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
