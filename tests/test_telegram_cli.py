"""`signpost telegram` as people run it: missing or rejected token, and a real process that answers and stops on
SIGTERM, all against the fake Bot API server (tests/fake_telegram.py)."""

import asyncio
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner
from fake_telegram import FakeTelegram

from bot.channels import telegram as tg
from bot.channels.telegram import app as telegram_app
from bot.cli import main

TOKEN = "5550001112:AAH-cli-canary-token_never-printed"
SECRET_PART = TOKEN.split(":")[1]
ALICE = 1001


def test_missing_token_is_one_clear_line_and_a_failure(monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["telegram"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0]


def test_a_webhook_secret_telegram_would_refuse_is_caught_before_starting(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "has spaces and !")
    result = CliRunner().invoke(main, ["telegram", "--webhook-url", "https://example.org/hook"])
    assert result.exit_code != 0 and "TELEGRAM_WEBHOOK_SECRET" in result.output
    assert SECRET_PART not in result.output


@contextmanager
def fake_on_a_thread(token):
    """The fake server on its own thread, for code that runs its own event loop (`asyncio.run`)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeTelegram(token)
    asyncio.run_coroutine_threadsafe(fake.__aenter__(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


class InProcess:
    """Stands in for the engine process: never started (the token is refused first)."""

    def __init__(self, **options):
        self.started = False

    async def start(self):
        self.started = True

    async def close(self):
        pass

    async def health(self):
        return {}


def test_a_rejected_token_is_reported_without_printing_it(engine, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SIGNPOST_STATS_DB", str(tmp_path / "stats.db"))
    monkeypatch.setattr(telegram_app, "EngineProcess", InProcess)
    with fake_on_a_thread("1234:the-token-the-server-expects") as fake:
        status = tg.main(api_url=fake.base_url)
        assert [c.method for c in fake.calls] == ["getMe"]
    out, err = capsys.readouterr()
    assert status == 1
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in err
    assert SECRET_PART not in out + err


async def test_signpost_telegram_answers_and_stops_cleanly_on_sigterm(tmp_path):
    signpost = Path(sys.executable).parent / "signpost"
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "SIGNPOST_STATS_DB": str(tmp_path / "stats.db"),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    async with FakeTelegram(TOKEN) as fake:
        process = await asyncio.create_subprocess_exec(
            str(signpost),
            "telegram",
            "--api-url",
            fake.base_url,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for(lambda: fake.calls_to("getUpdates"), timeout=180)
            sent = await fake.send_command(ALICE, "/start")
            await fake.wait_for_replies(ALICE, sent, count=2, timeout=60)
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert "automatic helper" in fake.bot_text(ALICE)
    assert [c["command"] for c in fake.calls_to("setMyCommands")[0].params["commands"]][-1] == "exit"
    assert SECRET_PART.encode() not in out + err
    assert b"Traceback" not in err


def test_the_telegram_process_does_not_load_rasa():
    code = "import sys, bot.channels.telegram, bot.privacy; print('rasa' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_telegrams_reason_is_named_and_no_session_is_left_open_on_a_failed_start(monkeypatch, tmp_path, capsys, caplog):
    import gc
    import socket

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(telegram_app, "EngineProcess", InProcess)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with fake_on_a_thread(TOKEN) as fake:
        fake.refuse_webhooks = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        status = tg.main(webhook_url=f"http://127.0.0.1:{port}/hook", port=port, api_url=fake.base_url)
    gc.collect()
    out, err = capsys.readouterr()
    assert status == 1
    # python-telegram-bot keeps Telegram's words, with its own capitals ("Bad webhook: an https url must be ...").
    assert "an https url must be provided for webhook" in err.lower() and "BadRequest" in err
    assert SECRET_PART not in out + err
    assert "Unclosed" not in caplog.text + err


def test_a_rejected_token_leaves_no_session_open(monkeypatch, capsys, caplog):
    import gc

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(telegram_app, "EngineProcess", InProcess)
    with fake_on_a_thread("1234:the-token-the-server-expects") as fake:
        assert tg.main(api_url=fake.base_url) == 1
    gc.collect()
    assert "Unclosed" not in caplog.text + capsys.readouterr().err
