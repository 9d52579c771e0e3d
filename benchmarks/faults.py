"""Fault benchmark (issue 14): the real `signpost telegram` (front end and engine process) against the tests' fake
Bot API server, one fault at a time. For each: the longest any young person waited for an answer (target: at most
the turn deadline plus 1 s), unanswered messages, and counts lost (target 0). Then what is left of typed text in
both processes' memory, read through /proc/PID/mem as an outside reader would, after those conversations were
forgotten (/exit) and more turns ran.

    .venv/bin/python -m benchmarks.faults                    # about two minutes; prints a table, writes JSON
    .venv/bin/python -m benchmarks.faults --webhook-library  # also python-telegram-bot's own webhook (tornado)

Only 127.0.0.1 is contacted; every wait is bounded; the processes started are stopped by their ids.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks.e2e import TOKEN
from benchmarks.measure import children, free_port, quiet_env
from bot.settings import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from fake_telegram import FakeTelegram  # noqa: E402

BIN = Path(sys.executable).parent
CRISIS = "i want to die"
ANSWERED = ("999", "0800 1111")
FAILURE = "something went wrong on my side"


class Run:
    def __init__(self, fake: FakeTelegram, db: Path, deadline: float) -> None:
        self.fake, self.db, self.deadline = fake, db, deadline
        self.users = iter(range(10_000, 10**6))
        self.photos = 0

    async def chats(self, people: int = 5, text: str = CRISIS, photo: bool = True) -> Dict[str, Any]:
        """`people` new chats at once: a photo (a count over the pipe), then the crisis; the longest wait."""

        async def one(user: int) -> Optional[float]:
            if photo:
                sent = await self.fake.send_media(user, "photo")
                self.photos += 1
                try:
                    await self.fake.wait_for_replies(user, sent, timeout=30)
                except asyncio.TimeoutError:
                    return None
            after = self.fake.last_id(user)
            started = time.monotonic()
            await self.fake.send_text(user, text)
            try:
                await self.fake.wait_for(lambda: any(w in self.fake.bot_text(user, after) for w in ANSWERED), 30)
            except asyncio.TimeoutError:
                return None
            return time.monotonic() - started

        users = [next(self.users) for _ in range(people)]
        waits = await asyncio.gather(*(one(u) for u in users))
        answered = [w for w in waits if w is not None]
        failures = sum(FAILURE in self.fake.bot_text(u) for u in users)
        return {
            "longest_wait_s": round(max(answered), 2) if answered else None,
            "unanswered": len(waits) - len(answered),
            "failure_replies": failures,
        }

    def counted(self) -> int:
        if not self.db.exists():
            return 0
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(
                "SELECT COALESCE(SUM(count), 0) FROM outcome_daily WHERE key = 'picture_deleted'"
            ).fetchone()[0]
        except sqlite3.Error:
            return 0
        finally:
            db.close()

    async def settled_counts(self, expected: int, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.counted() < expected:
            await asyncio.sleep(0.2)
        return self.counted()


async def engine_pid(front: int, old: Optional[int] = None, timeout: float = 300.0) -> int:
    """The engine process of the front end (a new one if `old` is given), once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [p for p in children(front) if p != old]
        if pids:
            return pids[0]
        await asyncio.sleep(0.2)
    raise RuntimeError("no engine process")


def memory_canaries(pid: int, needles: List[bytes]) -> int:
    """How many of the needles are anywhere in the process's readable memory (/proc/PID/mem)."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            for needle in needles:
                if needle not in found and needle in chunk:
                    found.add(needle)
    return len(found)


def half_open(port: int, count: int) -> List[socket.socket]:
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\n")
        sockets.append(s)
    return sockets


def still_open(sockets: List[socket.socket]) -> int:
    alive = 0
    for s in sockets:
        s.settimeout(0.01)
        try:
            alive += s.recv(1) != b""
        except TimeoutError:
            alive += 1
        except OSError:
            pass
    return alive


async def library_webhook(fake: FakeTelegram, half: int) -> Dict[str, Any]:
    """python-telegram-bot's own webhook server (tornado) under the same half-open connections."""
    from telegram.ext import ExtBot, Updater

    from bot.channels.telegram.http import AiohttpRequest

    port = free_port()
    bot = ExtBot(TOKEN, base_url=fake.base_url, request=AiohttpRequest(), get_updates_request=AiohttpRequest())
    updater = Updater(bot, asyncio.Queue())
    async with updater:
        await updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            secret_token="s3cret",
            webhook_url=f"http://127.0.0.1:{port}/hook",
        )
        sockets = await asyncio.to_thread(half_open, port, half)
        await asyncio.sleep(6)
        held = still_open(sockets)
        status = await fake.post_to_webhook(
            {"update_id": 1, "poll": {"id": "p", "question": "q", "options": [], "is_closed": True}}, "s3cret"
        )
        for s in sockets:
            s.close()
        await updater.stop()
    return {"half_open_still_held_after_6_s": held, "unreadable_update_status": status}


async def main(args: argparse.Namespace) -> Dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="signpost-faults-"))
    data = tmp / "data"
    data.mkdir()
    db = data / "stats.db"
    results: Dict[str, Any] = {"deadline_s": args.deadline, "faults": {}}
    async with FakeTelegram(TOKEN) as fake:
        port = free_port()
        env = quiet_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            SIGNPOST_STATS_DB=str(db),
            SIGNPOST_TELEGRAM_RATE="0",
            SIGNPOST_TURN_DEADLINE=str(args.deadline),
        )
        command = [
            str(BIN / "signpost"),
            "telegram",
            "--api-url",
            fake.base_url,
            "--webhook-url",
            f"http://127.0.0.1:{port}/hook",
            "--port",
            str(port),
        ]
        log = open(tmp / "telegram.log", "wb")
        front = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=str(tmp), stdout=log, stderr=log, start_new_session=True
        )
        run = Run(fake, db, args.deadline)
        try:
            await fake.wait_for(lambda: fake.calls_to("setWebhook"), timeout=300)
            engine = await engine_pid(front.pid)
            faults = results["faults"]

            async def measure(name: str, people: int = 5, **kwargs: Any) -> Dict[str, Any]:
                faults[name] = await run.chats(people, **kwargs)
                faults[name]["pictures_sent_so_far"] = run.photos
                await asyncio.sleep(0.5)
                faults[name]["pictures_in_the_database_after"] = run.counted()
                return faults[name]

            async def ready(timeout: float = 300.0) -> None:
                """Until a chat gets a real answer again (a new engine loads in seconds)."""
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if not (await run.chats(1, text="/help", photo=False))["failure_replies"]:
                        return
                    await asyncio.sleep(0.5)

            await measure("none")
            await fake.push_raw(
                {
                    "message": {
                        "message_id": 9,
                        "date": int(time.time()),
                        "chat": {"id": 1, "type": "private"},
                        "poll": {"id": "p"},
                    }
                }
            )
            await measure("unreadable update")

            os.kill(engine, signal.SIGSTOP)
            photos_before = run.photos
            await measure("frozen engine")
            faults["frozen engine"]["photo_counts_sent_to_the_frozen_engine"] = run.photos - photos_before
            engine = await engine_pid(front.pid, old=engine)
            await measure("while the new engine loads")
            await ready()
            locker = sqlite3.connect(str(db), isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")
            await measure("statistics locked by another process")
            await asyncio.sleep(2)
            locker.execute("ROLLBACK")
            locker.close()

            # Removing the folder deletes the counts written so far: read them first.
            before_removal = await run.settled_counts(run.photos, timeout=40)
            shutil.rmtree(data)
            await measure("statistics folder removed")
            await asyncio.sleep(1)
            data.mkdir()

            sockets = await asyncio.to_thread(half_open, port, args.half_open)
            await measure("300 half-open webhook connections")
            await asyncio.sleep(6)
            faults["300 half-open webhook connections"]["half_open_still_held_after_6_s"] = still_open(sockets)
            for s in sockets:
                s.close()

            # Memory: canary conversations, forgotten with /exit, then more turns; then /proc/PID/mem of both.
            needles = []
            for _ in range(args.canaries):
                word = uuid.uuid4().hex
                needles.append(word[:16].encode())
                user = next(run.users)
                sent = await fake.send_text(user, f"someone called canary{word} on snap wants nudes")
                await fake.wait_for_replies(user, sent, timeout=30)
                await fake.settle(0.05)
                sent = await fake.send_command(user, "/exit")
                await fake.wait_for(lambda: fake.bot_text(user, sent), timeout=30)  # noqa: B023 (awaited here)
            later = [await run.chats(5, text="how do i block someone", photo=False) for _ in range(args.after // 5)]
            results["later_turns_failure_replies"] = sum(r["failure_replies"] for r in later)
            await asyncio.sleep(1)
            engine = await engine_pid(front.pid)
            results["memory_canaries"] = {
                "typed": len(needles),
                "engine_process": memory_canaries(engine, needles),
                "front_end": memory_canaries(front.pid, needles),
                "later_turns": args.after,
            }
            if args.webhook_library:
                results["library_webhook"] = await library_webhook(fake, args.half_open)
        finally:
            if front.returncode is None:
                front.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(front.wait(), 60)
                except asyncio.TimeoutError:
                    front.kill()
                    await front.wait()
            log.close()
        # Counts: every deleted picture once (the first file's read before it was removed; the rest once the bot
        # has stopped, which writes what was still waiting: a recovered database is retried within 30 s).
        after_removal = run.counted()
        results["picture_counts"] = {
            "sent": run.photos,
            "written": before_removal + after_removal,
            "lost": run.photos - before_removal - after_removal,
        }
    results["log_lines"] = [
        line
        for line in (tmp / "telegram.log").read_text(errors="replace").splitlines()
        if re.match(r"(WARNING|ERROR|CRITICAL) ", line)
    ]
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def report(results: Dict[str, Any]) -> str:
    lines = [
        f"turn deadline {results['deadline_s']} s (target: longest wait at most {results['deadline_s'] + 1} s)",
        f"{'fault':40} {'longest wait':>12} {'unanswered':>10} {'failure replies':>15}",
    ]
    for name, figures in results["faults"].items():
        lines.append(
            f"{name:40} {figures['longest_wait_s']!s:>12} {figures['unanswered']:>10} {figures['failure_replies']:>15}"
        )
    lines.append(f"picture counts: {results['picture_counts']}")
    lines.append(f"canaries in memory after /exit: {results['memory_canaries']}")
    if "library_webhook" in results:
        lines.append(f"python-telegram-bot's own webhook: {results['library_webhook']}")
    lines.extend(["log:", *("  " + line for line in results["log_lines"])])
    return "\n".join(lines)


def cli() -> None:
    from bot.privacy import configure_logging

    configure_logging()  # the library's own webhook logs an unreadable update whole: not here
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deadline", type=float, default=2.0, help="SIGNPOST_TURN_DEADLINE for the run")
    parser.add_argument("--half-open", type=int, default=300)
    parser.add_argument("--canaries", type=int, default=20)
    parser.add_argument("--after", type=int, default=100, help="turns after the canary chats were forgotten")
    parser.add_argument("--webhook-library", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "faults.json"))
    args = parser.parse_args()
    results = asyncio.run(asyncio.wait_for(main(args), 900))
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


if __name__ == "__main__":
    cli()
