"""The production kit in deploy/, tested: the systemd units pass `systemd-analyze verify` (and score well on its
security check), and the shipped nginx site, with a self-signed certificate, in front of the installed wheel's
`signpost telegram --webhook-url https://...` answers Telegram's updates (the fake Bot API plays Telegram), refuses a
wrong secret with 403, and serves /healthz without any data. Loopback only; every wait is bounded."""

import asyncio
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import uuid
from pathlib import Path

import aiohttp
import pytest
from fake_telegram import FakeTelegram

from bot.model_files import latest_model
from bot.settings import ROOT

DEPLOY = ROOT / "deploy"
UNITS = ("signpost.service", "signpost-dashboard.service")
TOKEN = "5550003334:AAH-deploy-canary-token_never-printed"
SECRET = "deploy-test-secret_" + uuid.uuid4().hex
ALICE = 4004
WEBHOOK_PATH = "/signpost/updates"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def needs(tool):
    """A tool .ci/run installs: in CI its absence is a failure; elsewhere the test is skipped, saying so."""
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing: .ci/run should have installed it")
        pytest.skip(f"{tool} is not installed (apt-get install {tool}; .ci/run does it)")


# ---------------------------------------------------------------------------------------------------------------
# systemd


def unit_here(name, tmp_path, signpost):
    """The unit as shipped, with its ExecStart pointing at a signpost that exists here (verify checks it does)."""
    text = (DEPLOY / name).read_text()
    assert "/opt/signpost/venv/bin/signpost" in text
    path = tmp_path / name
    path.write_text(text.replace("/opt/signpost/venv/bin/signpost", str(signpost)))
    return path


@pytest.mark.parametrize("name", UNITS)
def test_the_systemd_unit_verifies_cleanly_and_is_hardened(name, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = unit_here(name, tmp_path, Path(os.sys.executable).with_name("signpost"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 even for an unknown key, so any message at all is a failure.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    text = unit.read_text()
    for setting in (
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "StateDirectory=signpost",
        "LimitCORE=0",
        "UMask=0077",
    ):
        assert re.search(rf"^{re.escape(setting)}$", text, re.M), setting
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=60
    )
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout + security.stderr)
    if level:  # systemd 250 and later
        assert float(level[1]) <= 2.5, security.stdout[-3000:]


def test_the_bot_unit_reads_its_secrets_from_a_root_only_file_and_keeps_state_only_for_statistics():
    text = (DEPLOY / "signpost.service").read_text()
    assert "EnvironmentFile=/etc/signpost/signpost.env" in text
    assert "TELEGRAM_BOT_TOKEN" not in re.sub(r"^#.*$", "", text, flags=re.M)  # never in the unit itself
    assert "SIGNPOST_STATS_DB=/var/lib/signpost/stats.db" in text
    assert "--listen 127.0.0.1" in text
    example = (DEPLOY / "signpost.env.example").read_text()
    assert re.search(r"^TELEGRAM_BOT_TOKEN=$", example, re.M) and "install -m 600" in example


def test_a_broken_unit_is_reported(tmp_path):
    """The control: the check above would see a mistake."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = unit_here("signpost.service", tmp_path, Path(os.sys.executable).with_name("signpost"))
    unit.write_text(unit.read_text().replace("ProtectHome=yes", "ProtectHomee=yes"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert "ProtectHomee" in result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------------------------
# nginx + the installed bot + the fake Telegram


def site_for_test(tmp_path, https_port, http_port, bot_port, cert, key):
    """deploy/nginx/signpost.conf with only its addresses, ports and certificate changed (each change must apply)."""
    text = (DEPLOY / "nginx" / "signpost.conf").read_text()
    changes = [
        ("    listen [::]:80;\n", ""),
        ("    listen [::]:443 ssl;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("/etc/letsencrypt/live/bot.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/bot.example.org/privkey.pem", str(key)),
        ("http://127.0.0.1:8443", f"http://127.0.0.1:{bot_port}"),
        ("/var/www/html", str(tmp_path)),
        ("bot.example.org", "127.0.0.1"),
    ]
    for old, new in changes:
        assert old in text, f"deploy/nginx/signpost.conf no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


def start_nginx(tmp_path, site):
    folder = tmp_path / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(parents=True)
    (folder / "site.conf").write_text(site)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""")
    args = ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), folder


def self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


class TelegramOverTLS(FakeTelegram):
    """The fake Bot API, posting updates to the webhook over HTTPS as Telegram does (trusting the test's CA)."""

    def __init__(self, token, cafile):
        super().__init__(token)
        self.tls = ssl.create_default_context(cafile=str(cafile))

    async def post_to_webhook(self, update, secret):
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with aiohttp.ClientSession() as session:
            async with session.post(self.webhook["url"], json=update, headers=headers, ssl=self.tls) as response:
                return response.status


async def stop(process, timeout=60):
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


@pytest.mark.slow
async def test_nginx_with_tls_in_front_of_the_installed_bot(installed, tmp_path):
    needs("nginx")
    needs("openssl")
    cert, key = self_signed(tmp_path)
    https_port, http_port, bot_port = free_port(), free_port(), free_port()
    nginx, nginx_folder = start_nginx(tmp_path, site_for_test(tmp_path, https_port, http_port, bot_port, cert, key))
    base = f"https://127.0.0.1:{https_port}"
    url = base + WEBHOOK_PATH
    tls = ssl.create_default_context(cafile=str(cert))
    env = installed.env(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET, SIGNPOST_STATS_DB=str(tmp_path / "stats.db")
    )
    bot = None
    try:
        async with TelegramOverTLS(TOKEN, cert) as fake:
            bot = await asyncio.create_subprocess_exec(
                str(installed.bin / "signpost"),
                "telegram",
                "--model",
                str(latest_model()),
                "--webhook-url",
                url,
                "--listen",
                "127.0.0.1",
                "--port",
                str(bot_port),
                "--api-url",
                fake.base_url,
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            waiting = asyncio.ensure_future(bot.wait())
            registered = asyncio.ensure_future(fake.wait_for(lambda: fake.calls_to("setWebhook"), timeout=300))
            await asyncio.wait({waiting, registered}, return_when=asyncio.FIRST_COMPLETED)
            assert registered.done() and not waiting.done(), (await bot.stderr.read()).decode(errors="replace")
            (call,) = registered.result()
            assert call.params["url"] == url and call.params["secret_token"] == SECRET

            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                # The webhook server may take a moment after registering: /healthz through nginx says when.
                for _ in range(100):
                    async with session.get(base + "/healthz", ssl=tls) as response:
                        health, health_body = response.status, await response.read()
                    if health == 200:
                        break
                    await asyncio.sleep(0.2)
                assert health == 200
                assert (
                    len(health_body) < 200 and TOKEN.encode() not in health_body and SECRET.encode() not in health_body
                )

                sent = await fake.send_command(ALICE, "/start")
                await fake.wait_for_replies(ALICE, sent, count=2, timeout=60)
                sent = await fake.send_text(ALICE, "someone on snap keeps asking me for nudes")
                await fake.wait_for_replies(ALICE, sent, count=1, timeout=60)
                assert "automatic helper" in fake.bot_text(ALICE) and "0800 1111" in fake.bot_text(ALICE)

                # A wrong secret, and none at all, are refused through the proxy and never answered.
                await fake.settle(quiet=1.0)  # the whole answer sent
                before = len(fake.bot_messages(ALICE))
                update = {
                    "update_id": 999_001,
                    "message": fake._message_dict(
                        ALICE, fake.chat(ALICE).add(False, text="an update without the secret")
                    ),
                }
                assert await fake.post_to_webhook(update, "not-the-secret") == 403
                assert await fake.post_to_webhook(update, None) == 403
                # Anything but POST on the webhook path, and any other path, gets nothing from the bot.
                async with session.get(url, ssl=tls) as response:
                    assert response.status in (403, 405)
                async with session.get(base + "/", ssl=tls) as response:
                    assert response.status == 404
                # Plain HTTP is only a redirect to HTTPS.
                async with session.get(f"http://127.0.0.1:{http_port}{WEBHOOK_PATH}", allow_redirects=False) as r:
                    assert r.status == 301 and r.headers["Location"].startswith("https://")
                await fake.settle(quiet=1.0)
                assert len(fake.bot_messages(ALICE)) == before

            await stop(bot)
            out, err = await bot.stdout.read(), await bot.stderr.read()
            assert bot.returncode == 0, err.decode(errors="replace")[-3000:]
            assert TOKEN.split(":")[1].encode() not in out + err and SECRET.encode() not in out + err
            assert b"Traceback" not in err
    finally:
        if bot is not None:
            await stop(bot)
        nginx.terminate()
        try:
            nginx.wait(30)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()
    log = (nginx_folder / "error.log").read_text(errors="replace")
    assert "asking me for nudes" not in log and "[emerg]" not in log, log[-2000:]
