"""The canary test's last place: memory as an outside reader would see it (issue 14). The real `signpost telegram`
(polling; benchmarks/faults.py does the same over the webhook) and its engine process, against the fake Bot API:
canary chats, each forgotten with /exit, a few more turns, then every readable page of both processes, read
through /proc/PID/mem. No canary may be left in either, freed memory included (bot/privacy.py overwrites it).

The negative control: a canary both processes hold on purpose (in their environment) must be found by the same
read, so a read that finds nothing proves something.
"""

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from fake_telegram import FakeTelegram
from test_telegram import TOKEN

from benchmarks.faults import engine_pid, memory_canaries

SIGNPOST = Path(sys.executable).with_name("signpost")
CHATS = 10
LATER_TURNS = 20


def environment_of(pid):
    return dict(
        entry.split(b"=", 1) for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in entry
    )


@pytest.mark.slow  # starts `signpost telegram` and its engine process
async def test_no_typed_text_is_left_in_either_processs_memory_after_exit(tmp_path):
    held = uuid.uuid4().hex  # the control: kept in both processes' environment all along
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "SIGNPOST_STATS_DB": str(tmp_path / "stats.db"),
        "SIGNPOST_RUN_DIR": str(tmp_path / "run"),
        "SIGNPOST_TELEGRAM_RATE": "0",
        "SIGNPOST_CONTROL_CANARY": f"canary{held}",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **{name: os.environ[name] for name in ("PYTHONPATH",) if name in os.environ},  # the code under test
    }
    needles = []
    async with FakeTelegram(TOKEN) as fake:
        front = await asyncio.create_subprocess_exec(
            str(SIGNPOST),
            "telegram",
            "--api-url",
            fake.base_url,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for(lambda: fake.calls_to("getUpdates"), timeout=300)
            engine = await engine_pid(front.pid)
            for user in range(5000, 5000 + CHATS):
                word = uuid.uuid4().hex
                needles.append(word[:16].encode())
                sent = await fake.send_text(user, f"someone called canary{word} on snap wants nudes")
                await fake.wait_for_replies(user, sent)
                sent = await fake.send_command(user, "/exit")
                await fake.wait_for(lambda: fake.bot_text(user, sent))  # noqa: B023 (awaited here)
            for turn in range(LATER_TURNS):
                sent = await fake.send_text(9000 + turn % 5, "how do i block someone")
                await fake.wait_for_replies(9000 + turn % 5, sent)
            await fake.settle(0.5)
            for pid in (front.pid, engine):
                assert environment_of(pid).get(b"PYTHONMALLOC") == b"malloc", "started with freed memory overwritten"
                assert memory_canaries(pid, [held[:16].encode()]) == 1, "the control: the read finds what is held"
            left = {"front end": memory_canaries(front.pid, needles), "engine": memory_canaries(engine, needles)}
        finally:
            if front.returncode is None:
                front.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(front.communicate(), 60)
    assert front.returncode == 0, err.decode(errors="replace")[-2000:]
    assert left == {"front end": 0, "engine": 0}, f"canaries of {CHATS} forgotten chats still in memory: {left}"
