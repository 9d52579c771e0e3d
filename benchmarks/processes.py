"""The benchmark's child processes: started in their own session, stopped by their id, and read for reports."""

import asyncio
import signal
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Sequence

from benchmarks.measure import now, parse_report
from bot.settings import ROOT

BIN = Path(sys.executable).parent  # the venv's commands


@asynccontextmanager
async def child(
    command: Sequence[str], log: Path, env: Dict[str, str], reports: bool = False, stop_timeout: float = 30.0
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start a child process (its own session; output to `log`, or reports on a pipe) and stop it by its id after."""
    with open(log, "ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(ROOT),
            env=env,
            start_new_session=True,
            stdout=asyncio.subprocess.PIPE if reports else log_file,
            stderr=log_file,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), stop_timeout)
                except asyncio.TimeoutError:
                    process.kill()
                    await process.wait()


async def next_report(process: asyncio.subprocess.Process, event: str, timeout: float, log: Path) -> Dict[str, Any]:
    """Read the child's report lines until the one for `event`."""

    async def read() -> Dict[str, Any]:
        while True:
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError(f"{log.name}: the process ended before reporting {event!r}:\n{tail(log)}")
            data = parse_report(line.decode("utf-8", "replace"))
            if data and data.get("event") == event:
                return data

    return await asyncio.wait_for(read(), timeout)


def errors_logged(log: Path) -> int:
    """How many error lines a child process logged (the lines themselves never hold message text)."""
    try:
        return sum(" ERROR " in f" {line} " for line in log.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return 0


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def until(condition: Any, process: asyncio.subprocess.Process, timeout: float, what: str, log: Path) -> float:
    """Poll `condition()` every 50 ms until true; returns when. Fails if the process exits or time runs out."""
    deadline = now() + timeout
    while now() < deadline:
        if condition():
            return now()
        if process.returncode is not None:
            raise RuntimeError(f"{what}: the process exited with code {process.returncode}:\n{tail(log)}")
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s:\n{tail(log)}")
