"""The canary test: the project's proof that nothing a young person types is kept or logged anywhere.

Every message a test types carries a unique canary word (`canary-<uuid4 hex>`). Conversations go through the three
ways in: (a) the engine, (b) `signpost chat` as a real process, (c) the Telegram bot against the fake Bot API
server. Then everything is searched for any canary:

- files: every file of the project (except .venv and .git; models/, .rasa/, results/ and *.db included), read as
  bytes, and every file created or changed during the test in the temp directories, the home directory and the
  folders the run used (compressed files changed during the test are searched decompressed too);
- the statistics database: every table, every cell;
- output: stdout and stderr (file-descriptor level, or the process's own), every log record at DEBUG with the
  libraries' loggers as `configure_logging()` sets them, rendered the way the program renders them, and warnings;
- memory: the tracker store, the whole Rasa agent, every spaCy string store in the process, the Telegram
  application (bot_data, chat_data, user_data and the rest of it), the front end's own maps, and a sweep of the
  whole Python heap (every object the garbage collector knows and what it refers to).

A search that can't find anything proves nothing, so each way in also has a negative control: the same run with
things deliberately broken (text logged, printed, written to files and the database, kept by the tracker store, the
front end and a cache), which the same search must report, place by place.

Canaries are found by their first 16 hex digits, in either case, so a truncated copy is found too. The fake Telegram
server keeps what was typed (it plays Telegram), so its records of the chats and its own HTTP requests and responses
are the one thing left out of the heap sweep, with the running test's own frames and canaries.
"""

import asyncio
import functools
import gc
import gzip
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import types
import uuid
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web
from fake_telegram import FakeTelegram
from helpers import InProcessEngine, strings_in
from spacy.strings import StringStore
from test_telegram import TOKEN, start_bot

from bot.channels import telegram as tg
from bot.engine import Engine
from bot.privacy import LOG_FORMAT, ContentFreeFormatter, Pseudonymiser, configure_logging
from bot.rasa_ext import tracker_store
from bot.safety import _blank_nlp
from bot.settings import ROOT
from bot.stats import MEASURES, Stats

SIGNPOST = str(Path(sys.executable).with_name("signpost"))
ALICE, BOB = 1001, 2002
PRESS = object()  # in a script: press the newest button offered so far
NEEDLE = 16  # hex digits of a canary that count as finding it
CHUNK = 8 << 20


# ---------------------------------------------------------------------------------------------------------------
# Canaries and the search


class Canaries:
    """Unique canary words, each remembering which message it was typed in."""

    def __init__(self):
        self.typed_in = {}  # needle -> label

    def __call__(self, label):
        word = f"canary-{uuid.uuid4().hex}"
        self.typed_in[word[len("canary-") :][:NEEDLE]] = label
        return word

    def labels_in(self, text):
        """The labels of the canaries in a str or bytes (lower or upper case)."""
        if len(text) < NEEDLE:
            return []
        if isinstance(text, (bytes, bytearray)):
            return [
                label
                for needle, label in self.typed_in.items()
                if needle.encode() in text or needle.upper().encode() in text
            ]
        return [label for needle, label in self.typed_in.items() if needle in text or needle.upper() in text]


class Search:
    """Looks for the canaries everywhere it is pointed at; `leaks` lists (where, which message) for each find."""

    def __init__(self, canaries, since):
        self.canaries = canaries
        self.since = since
        self.leaks = []
        self._files_seen = set()

    def _found(self, where, labels):
        self.leaks.extend((where, label) for label in labels)

    def places(self):
        """Where leaks were found, as kinds ("log", "stderr", "temp file", ...)."""
        return {where.split(": ")[0] for where, _ in self.leaks}

    def report(self):
        return "the canary was found:\n" + "\n".join(f"  {where}  <- {label}" for where, label in self.leaks)

    # -- output

    def text(self, where, text):
        self._found(where, self.canaries.labels_in(text or ""))

    def logs(self, records):
        """Log records: their message, and the line the program's own formatter makes of them."""
        formatter = ContentFreeFormatter(LOG_FORMAT)
        for record in records:
            labels = set(self.canaries.labels_in(record.getMessage()))
            labels.update(self.canaries.labels_in(formatter.format(record)))
            self._found(f"log: {record.name} {record.levelname}", sorted(labels))

    def warnings(self, recorded):
        for warning in recorded:
            self.text(f"warning: {warning.category.__name__}", f"{warning.message} {warning.filename}")

    # -- files

    def files(self, root, changed_only, skip=()):
        """Every regular file under `root` (only those changed during the test if `changed_only`)."""
        root = Path(root)
        if not root.is_dir():
            return
        skip = {str(path) for path in skip}
        for folder, folders, names in os.walk(root):
            folders[:] = [name for name in folders if os.path.join(folder, name) not in skip]
            for name in names:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                changed = max(info.st_mtime, info.st_ctime) >= self.since
                if not stat.S_ISREG(info.st_mode) or (changed_only and not changed) or path in self._files_seen:
                    continue
                self._files_seen.add(path)
                self._file(path, changed)

    def _file(self, path, changed):
        kind = _kind_of(path)
        try:
            with open(path, "rb") as f:
                self._stream(f"{kind}: {path}", f)
                if not changed:  # a file older than the canaries can only hold them as plain bytes
                    return
                f.seek(0)
                magic = f.read(4)
            if magic[:2] == b"\x1f\x8b":
                with gzip.open(path, "rb") as f:
                    self._stream(f"{kind}: {path} (gunzipped)", f)
            elif magic == b"PK\x03\x04":
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        with archive.open(member) as f:
                            self._stream(f"{kind}: {path}!{member}", f)
        except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile):
            pass  # vanished while being read (another process's temp file), or not really compressed

    def _stream(self, where, f):
        tail = b""
        labels = set()
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            labels.update(self.canaries.labels_in(tail + chunk))
            tail = chunk[-64:]
        self._found(where, sorted(labels))

    def everywhere_on_disk(self, *run_dirs):
        """The project, the folders the run used, and what changed in the temp and home directories."""
        self.files(ROOT, changed_only=False, skip=[ROOT / ".venv", ROOT / ".git"])
        for folder in run_dirs:
            self.files(folder, changed_only=False)
        for folder in {tempfile.gettempdir(), "/var/tmp", "/dev/shm"}:
            self.files(folder, changed_only=True)
        self.files(Path.home(), changed_only=True, skip=[ROOT])

    # -- the statistics database

    def database(self, path):
        """Every table and every cell (and the schema), read through SQLite."""
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for name, sql in db.execute("SELECT name, sql FROM sqlite_master"):
                self.text(f"stats database: schema of {name}", f"{name} {sql}")
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in db.execute(f"SELECT * FROM [{table}]"):
                    for cell in row:
                        if isinstance(cell, (str, bytes)):
                            self._found(f"stats database: table {table}", self.canaries.labels_in(cell))
        finally:
            db.close()

    # -- memory

    def memory(self, where, root):
        """Every string reachable from `root` (tests/helpers.py `strings_in`)."""
        labels = set()
        for string in strings_in(root):
            labels.update(self.canaries.labels_in(string))
        self._found(where, sorted(labels))

    def spacy(self):
        """Every spaCy string store in the process (spaCy keeps each new token's text there, in C++ memory)."""
        gc.collect()
        for store in [obj for obj in gc.get_objects() if isinstance(obj, StringStore)]:
            labels = set()
            for string in store:
                labels.update(self.canaries.labels_in(string))
            self._found(f"spacy vocabulary: StringStore of {len(store)} strings", sorted(labels))

    def heap(self, *test_owned):
        """Every object the garbage collector tracks, and the strings it refers to (directly, or through untracked
        dicts and tuples, which the collector doesn't list). Left out: the running test's own frames, and whatever
        is reachable from `test_owned` (the canaries, the fake Telegram server's record of the chats)."""
        gc.collect()
        skip = _reachable(test_owned)
        frame = sys._getframe()
        while frame is not None:
            skip.add(id(frame))
            frame = frame.f_back
        objects = [obj for obj in gc.get_objects() if id(obj) not in skip]
        # First one search over every string any of them refers to: the common case (nothing) stays fast.
        refs = gc.get_referents(*objects)
        texts = [ref for ref in refs if type(ref) in _TEXTS]
        for ref in refs:
            if type(ref) in _CONTAINERS and not gc.is_tracked(ref) and id(ref) not in skip:
                texts.extend(_texts_in_untracked(ref))
        del refs
        if not (
            self.canaries.labels_in("\0".join(t for t in texts if type(t) is str))
            or self.canaries.labels_in(b"\0".join(bytes(t) for t in texts if type(t) is not str))
        ):
            return
        del texts
        # Found: now say which objects hold it.
        found = []
        for obj in objects:
            labels = set()
            for ref in gc.get_referents(obj):
                if type(ref) in _TEXTS:
                    labels.update(self.canaries.labels_in(ref))
                elif type(ref) in _CONTAINERS and not gc.is_tracked(ref) and id(ref) not in skip:
                    for text in _texts_in_untracked(ref):
                        labels.update(self.canaries.labels_in(text))
            if labels:
                found.append((obj, sorted(labels)))
        del objects
        skip.add(id(found))
        for obj, labels in found:
            self._found(f"python heap: {_describe(obj)}{_held_by(obj, skip)}", labels)


_TEXTS = (str, bytes, bytearray)
_CONTAINERS = (dict, tuple, list, set, frozenset)


def _texts_in_untracked(container, depth=0):
    """The long strings in a container the garbage collector doesn't track (it holds no tracked objects)."""
    items = [*container.keys(), *container.values()] if type(container) is dict else container
    for item in items:
        kind = type(item)
        if kind is str or kind is bytes:
            yield item
        elif kind in _CONTAINERS and depth < 3 and not gc.is_tracked(item):
            yield from _texts_in_untracked(item, depth + 1)


def _kind_of(path):
    if Path(path).is_relative_to(ROOT):
        return "project file"
    if Path(path).is_relative_to(Path.home()):
        return "home file"
    return "temp file"


def _reachable(roots):
    """The ids of every object reachable from `roots` through containers and attributes (as `strings_in` walks),
    without going into the event loop (shared by the fake server and the bot)."""
    seen, stack = set(), list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (int, float, bool, str, bytes)):
            continue
        if isinstance(obj, asyncio.AbstractEventLoop):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
    return seen


def _held_by(obj, skip):
    """For a plain container, what holds it (a dict alone says little)."""
    if type(obj) not in (dict, list, tuple, set):
        return ""
    holders = [_describe(ref) for ref in gc.get_referrers(obj) if id(ref) not in skip and not isinstance(ref, list)]
    return f" held by {', '.join(sorted(set(holders)))}" if holders else ""


def _describe(obj):
    if isinstance(obj, types.FrameType):
        return f"a frame of {obj.f_code.co_name} ({obj.f_code.co_filename}:{obj.f_lineno})"
    if isinstance(obj, types.CoroutineType):
        return f"a coroutine {obj.cr_code.co_qualname if hasattr(obj.cr_code, 'co_qualname') else obj.__qualname__}"
    kind = type(obj)
    return f"a {kind.__module__}.{kind.__qualname__}"


@pytest.fixture
def canaries():
    return Canaries()


@pytest.fixture
def search(canaries):
    return Search(canaries, since=time.time() - 1)


@pytest.fixture
def logs(caplog):
    """Logging as the program sets it up, every record captured from DEBUG up (the libraries' loggers stay at the
    levels `configure_logging` gives them; the root, and so Signpost's own loggers, go down to DEBUG)."""
    configure_logging()
    caplog.set_level(logging.DEBUG)
    return caplog


def search_output(search, logs, capfd, recwarn):
    out, err = capfd.readouterr()
    search.text("stdout", out)
    search.text("stderr", err)
    search.logs(logs.records)
    search.warnings(recwarn.list)


# ---------------------------------------------------------------------------------------------------------------
# (a) the engine


def engine_script(c):
    """A conversation covering several concerns, a crisis, a button press, app names, and text meant to trick."""
    return [
        f"hi im {c('greeting')}",
        f"someone called {c('asked for nudes, with an app')} on snap keeps asking me for nudes",
        f"how do i block {c('block and report')} on here",
        PRESS,
        f"{c('sextortion')} says he will post my pics everywhere unless i pay him",
        f"a pic of me got shared in the group chat by {c('image shared')}",
        f"i want to kill myself {c('crisis: self-harm')}",
        f"he is outside my house right now {c('crisis: danger')}",
        f"its on insta, his name is {c('app name')}",
        f"it was on {c('an app not on the list')}gram",
        c("a message that is only the canary"),
        f'/inform_platform{{"platform":"{c("a forged button payload")}"}}',
        f"/{c('a made-up command')}",
        f"can i talk to a real person about {c('talk to someone')}",
    ]


async def talk(engine, conversation, script):
    """Send each line; PRESS sends the payload of the newest button offered so far. Returns the replies."""
    replies, buttons = [], []
    for line in script:
        if line is PRESS:
            assert buttons, "the script presses a button, but none was offered"
            line = buttons[0].payload
        reply = await engine.reply(conversation, line)
        await engine.count(conversation)
        replies.append(reply)
        buttons = [b for m in reply.messages for b in m.buttons] or buttons
    return replies


@pytest.fixture
def stats(tmp_path):
    with Stats(tmp_path / "stats.db") as db:
        yield db


async def run_engine_conversations(engine, stats, canaries):
    """Two conversations on the real engine with statistics: one ends with a quick exit, one stays open."""
    counted = Engine(engine.agent, stats)
    leaving, staying = uuid.uuid4().hex, uuid.uuid4().hex
    replies = await talk(counted, leaving, engine_script(canaries))
    await counted.forget(leaving)  # the quick exit
    replies += await talk(
        counted,
        staying,
        [
            f"someone on tiktok called {canaries('an open conversation')} keeps sending me nudes",
            f"its on discord now {canaries('an open conversation, app name')}",
        ],
    )
    return replies, staying


def search_after_engine_run(search, engine, canaries, logs, capfd, recwarn, tmp_path):
    """Every place an engine run could leave text: its memory, spaCy, the heap, output, the database and disk."""
    search.memory("tracker store", engine.tracker_store)
    search.memory("rasa agent", engine.agent)
    search.spacy()
    search.heap(canaries)
    search_output(search, logs, capfd, recwarn)
    search.database(tmp_path / "stats.db")
    search.everywhere_on_disk(tmp_path)


async def test_the_engine_keeps_no_text(engine, stats, canaries, search, logs, capfd, recwarn, tmp_path):
    replies, staying = await run_engine_conversations(engine, stats, canaries)

    # The run was real: answers, the crisis answer, counts, and an open conversation whose tracker is kept.
    assert all(r.messages for r in replies) and not [r for r in replies if r.by == "error"]
    assert "crisis_answer_shown" in {o for day in stats.daily("outcomes").values() for o in day}
    assert stats.daily("concerns")
    tracker = await engine.tracker_store.retrieve(staying)
    assert tracker is not None and [e.intent_name for e in tracker.events if e.type_name == "user"]

    search_after_engine_run(search, engine, canaries, logs, capfd, recwarn, tmp_path)
    assert not search.leaks, search.report()


async def test_negative_control_the_engine_search_finds_every_kind_of_leak(
    engine, stats, canaries, search, logs, capfd, recwarn, tmp_path, monkeypatch
):
    """The same search, with text deliberately logged, printed, warned, written to files and the database, kept by
    the tracker store, by a cache and by spaCy: each place must be reported."""
    control_files = [
        Path(tempfile.gettempdir()) / f"signpost-canary-control-{uuid.uuid4().hex}.txt",
        ROOT / ".pytest_cache" / f"canary-control-{uuid.uuid4().hex}.txt",
    ]
    reply = Engine.reply

    @functools.cache
    def remembered(text):
        return len(text)

    async def leaky_reply(self, conversation_id, text):
        logging.getLogger("bot.engine").debug("read: %s", text)
        print(text, file=sys.stderr)
        warnings.warn(f"about {text}")  # noqa: B028 (where it points is not the point)
        for path in control_files:
            path.parent.mkdir(exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(text)
        self.stats.db["leaked"].insert({"text": text})
        remembered(text)
        _blank_nlp().vocab.strings.add(text)
        return await reply(self, conversation_id, text)

    monkeypatch.setattr(Engine, "reply", leaky_reply)
    monkeypatch.setattr(tracker_store, "redact_event", lambda event, slots: None)  # a store that keeps text
    conversation = uuid.uuid4().hex
    try:
        counted = Engine(engine.agent, stats)
        await talk(counted, conversation, [f"someone called {canaries('control')} on snap wants nudes"])

        search_after_engine_run(search, engine, canaries, logs, capfd, recwarn, tmp_path)
    finally:
        await engine.forget(conversation)
        for path in control_files:
            path.unlink(missing_ok=True)
    assert {
        "tracker store",
        "rasa agent",
        "spacy vocabulary",
        "python heap",
        "log",
        "stderr",
        "warning",
        "stats database",
        "temp file",
        "project file",
    } <= search.places(), search.report()
    heap = [where for where, _ in search.leaks if where.startswith("python heap")]
    assert any("lru_cache" in where for where in heap), heap  # a cache no store check would look at


# ---------------------------------------------------------------------------------------------------------------
# (b) the terminal chat, as a real process


def run_chat(tmp_path, lines, code=None):
    """`signpost chat` (or `python -c code`) in its own working folder, statistics and temp folders."""
    folders = SimpleNamespace(cwd=tmp_path / "cwd", data=tmp_path / "data", tmp=tmp_path / "tmp")
    for folder in vars(folders).values():
        folder.mkdir()
    env = dict(os.environ, SIGNPOST_STATS_DB=str(folders.data / "stats.db"), TMPDIR=str(folders.tmp))
    command = [SIGNPOST, "chat"] if code is None else [sys.executable, "-c", code]
    result = subprocess.run(
        command,
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=folders.cwd,
        env=env,
        timeout=300,
    )
    return result, folders


def chat_script(c):
    return [
        "hi",
        f"someone called {c('asked for nudes, with an app')} on snap keeps asking me for nudes",
        f"how do i block {c('block and report')} on here",
        "1",  # a button, picked by its number
        f"{c('sextortion')} says he will post my pics unless i pay him",
        f"i want to kill myself {c('crisis: self-harm')}",
        f"its on insta, his name is {c('app name')}",
        c("a message that is only the canary"),
        "/exit",
    ]


def assert_counts_only(path):
    """The statistics database holds the three count tables (and the migrations' own record), keys from the
    closed lists, days, and counts: nothing else."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        daily = {table: keys for table, keys, _ in MEASURES.values()}
        assert tables - set(daily) == {"_sqlite_migrations"}, tables
        for table, keys in daily.items():
            for day, key, count in db.execute(f"SELECT day, key, count FROM [{table}]"):
                assert len(day) == 10 and key in keys and isinstance(count, int), (table, day, key, count)
    finally:
        db.close()


def test_the_terminal_chat_keeps_no_text(canaries, search, tmp_path):
    script = chat_script(canaries)
    result, folders = run_chat(tmp_path, script)

    assert result.returncode == 0, result.stderr[-2000:]
    assert "0800 1111" in result.stdout and "  1) " in result.stdout, "the chat answered and offered choices"
    stats = Stats(folders.data / "stats.db")
    try:
        assert stats.daily("concerns")
        assert "crisis_answer_shown" in {o for day in stats.daily("outcomes").values() for o in day}
    finally:
        stats.close()
    assert_counts_only(folders.data / "stats.db")

    # Piped in, the chat echoes each typed line once as `you: ...`, so a scripted conversation reads as a transcript
    # (the young person's own words, on their own output). Exactly those lines, in order; anywhere else in the
    # output, and anywhere in stderr, a canary is a leak.
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("you: ")] == [f"you: {line}" for line in script]
    search.text("stdout", "\n".join(line for line in lines if not line.startswith("you: ")))
    search.text("stderr", result.stderr)
    search.database(folders.data / "stats.db")
    search.everywhere_on_disk(tmp_path)
    assert not search.leaks, search.report()


LEAKY_CHAT = """
import logging, sys, tempfile
from pathlib import Path
from types import SimpleNamespace
import bot.engine
from bot.settings import stats_db
from bot.stats import Stats

class LeakyEngine:
    stats = Stats(stats_db())
    async def reply(self, conversation_id, text):
        logging.getLogger("bot.engine").warning("read: %s", text)
        print("you said", text)
        Path("leak.txt").write_text(text)
        Path(tempfile.gettempdir(), "leak.txt").write_text(text)
        self.stats.db["leaked"].insert({"text": text})
        return SimpleNamespace(messages=())
    async def forget(self, conversation_id):
        pass
    async def count(self, conversation_id):
        pass

bot.engine.Engine.load = classmethod(lambda cls, **options: LeakyEngine())
from bot.cli import main
main(["chat"])
"""


def test_negative_control_the_terminal_chat_search_finds_a_leaking_process(canaries, search, tmp_path):
    """`signpost chat` with an engine (stubbed: no model to load) that logs, prints, writes files in its working
    and temp folders and puts text in the statistics database: each must be reported."""
    result, folders = run_chat(tmp_path, [f"help {canaries('control')}"], code=LEAKY_CHAT)
    assert result.returncode == 0, result.stderr[-2000:]
    search.text("stdout", result.stdout)
    search.text("stderr", result.stderr)
    search.database(folders.data / "stats.db")
    search.everywhere_on_disk(tmp_path)
    wheres = {where for where, _ in search.leaks}
    assert {
        "stdout",
        "stderr",
        "stats database: table leaked",
        f"temp file: {folders.cwd / 'leak.txt'}",
        f"temp file: {folders.tmp / 'leak.txt'}",
    } <= wheres, search.report()


# ---------------------------------------------------------------------------------------------------------------
# (c) Telegram, against the fake Bot API server


@pytest.fixture
async def fake(canaries):
    """The fake server; its young people have canary names (first name, last name, username)."""
    async with FakeTelegram(TOKEN) as server:
        names = {
            user: {
                "first_name": canaries(f"user {user}'s first name"),
                "last_name": canaries(f"user {user}'s last name"),
                "username": canaries(f"user {user}'s username"),
            }
            for user in (ALICE, BOB)
        }
        server.names = names
        server._user = lambda user_id: {"id": user_id, "is_bot": False, "language_code": "en", **names[user_id]}
        yield server


@pytest.fixture
async def telegram(fake, engine, stats, monkeypatch):
    """The real bot (real engine, statistics) polling the fake server (tests/test_telegram.py `start_bot`).

    Yields its front end (`signpost`), python-telegram-bot's `application`, the `pseudonyms` and `stop()`.
    """
    applications = []
    build = tg.build_application

    def keep(*args, **kwargs):
        applications.append(build(*args, **kwargs))
        return applications[-1]

    monkeypatch.setattr(tg, "build_application", keep)
    pseudonyms = Pseudonymiser()
    signpost, stopping, task = await start_bot(fake, InProcessEngine(engine, stats), stats, pseudonyms=pseudonyms)

    async def stop():
        if not stopping.is_set():
            stopping.set()
            await asyncio.wait_for(task, 30)

    try:
        yield SimpleNamespace(signpost=signpost, application=applications[0], pseudonyms=pseudonyms, stop=stop)
    finally:
        await stop()


async def say(fake, user, text, replies=1):
    sent = await fake.send_text(user, text)
    await fake.wait_for_replies(user, sent, count=replies)
    await fake.settle(0.3)
    return sent


async def run_telegram_conversations(fake, c):
    """Alice: concerns, a button press (and a forged one), a crisis, app names, a photo with a caption, an edited
    message, then /exit. Bob: one message, and his conversation stays open."""
    await fake.send_command(ALICE, "/start")
    await fake.wait_for_replies(ALICE, 0, count=2)
    await say(fake, ALICE, f"someone called {c('asked for nudes, with an app')} on snap keeps asking me for nudes")
    await say(fake, ALICE, f"how do i block {c('block and report')} on here")
    menu = next(m for m in reversed(fake.bot_messages(ALICE)) if set(m.keyboard_data()) - {tg.EXIT_DATA})
    before = fake.last_id(ALICE)
    await fake.press(ALICE, menu.message_id, menu.keyboard_data()[0])
    await fake.wait_for_replies(ALICE, before)
    await fake.settle(0.3)
    forged = await fake.press(ALICE, menu.message_id, c("forged button data"))
    await fake.wait_for(
        lambda: forged in [call.params["callback_query_id"] for call in fake.calls_to("answerCallbackQuery")]
    )
    await say(fake, ALICE, f"{c('sextortion')} says he will post my pics unless i pay him")
    await say(fake, ALICE, f"i want to kill myself {c('crisis: self-harm')}")
    await say(fake, ALICE, f"its on tiktok, his name is {c('app name')}")
    photo = await fake.send_media(ALICE, "photo", caption=f"{c('a photo caption')} is threatening to share this")
    await fake.wait_for_replies(ALICE, photo, count=2)
    await fake.settle(0.3)
    first = await say(fake, ALICE, f"hi {c('a message later edited')}")
    before = fake.last_id(ALICE)
    await fake.edit_text(ALICE, first, f"he says he will share my nudes unless i pay {c('the edited message')}")
    await fake.wait_for_replies(ALICE, before)
    await fake.settle(0.3)
    sent = await fake.send_command(ALICE, "/exit")
    await fake.wait_for(lambda: tg.EXIT_TEXT in fake.bot_text(ALICE, sent))
    await say(fake, BOB, f"someone on insta called {c('an open conversation')} keeps messaging me")


def fake_server_http():
    """The fake server's own HTTP requests and responses still in memory (its latest getUpdates answer holds what
    was typed, as Telegram's would). The bot polls with httpx and serves no webhook here, so all are the fake's."""
    return [obj for obj in gc.get_objects() if isinstance(obj, (web.BaseRequest, web.StreamResponse))]


def telegram_memory(search, bot):
    search.memory("telegram bot_data", bot.application.bot_data)
    search.memory("telegram chat_data", bot.application.chat_data)
    search.memory("telegram user_data", bot.application.user_data)
    search.memory("telegram application", bot.application)
    search.memory("front end", bot.signpost)  # its chat memory, pseudonyms and engine thread


async def test_the_telegram_bot_keeps_no_text(
    fake, telegram, engine, stats, canaries, search, logs, capfd, recwarn, tmp_path
):
    await run_telegram_conversations(fake, canaries)

    # The run was real: answered, the crisis answer and the picture counted, Alice forgotten, Bob's tracker kept.
    assert "0800 1111" in fake.bot_text(ALICE) and "getFile" not in fake.methods()
    outcomes = {o for day in stats.daily("outcomes").values() for o in day}
    assert {"crisis_answer_shown", "picture_deleted", "quick_exit"} <= outcomes
    assert await engine.tracker_store.retrieve(telegram.pseudonyms.pseudonym(tg.CHANNEL, ALICE)) is None
    bob = await engine.tracker_store.retrieve(telegram.pseudonyms.pseudonym(tg.CHANNEL, BOB))
    assert bob is not None and [e.intent_name for e in bob.events if e.type_name == "user"]
    assert len(telegram.signpost.memory) == 1, "only Bob's chat is open"

    # Memory, while the bot is still running and Bob's conversation is open.
    telegram_memory(search, telegram)
    search.memory("tracker store", engine.tracker_store)
    search.memory("rasa agent", engine.agent)
    search.spacy()
    search.heap(canaries, fake.names, fake.chats, fake.calls, fake._updates, fake.raw_updates, *fake_server_http())

    # Output, the database and files once it has stopped.
    await telegram.stop()
    search_output(search, logs, capfd, recwarn)
    search.database(tmp_path / "stats.db")
    search.everywhere_on_disk(tmp_path)
    assert not search.leaks, search.report()


@pytest.fixture
def leaky_front_end(monkeypatch):
    """A front end that keeps text in python-telegram-bot's bot_data, chat_data and user_data and in its own chat
    memory, and logs it (patched before the bot starts: the handlers are bound then)."""
    on_message = tg.SignpostBot.on_message

    async def leaky_on_message(self, update, context):
        text = update.effective_message.text
        context.bot_data["last"] = context.chat_data["last"] = context.user_data["last"] = text
        self.memory.last_text = text
        logging.getLogger("bot.telegram").info("got %s", text)
        await on_message(self, update, context)

    monkeypatch.setattr(tg.SignpostBot, "on_message", leaky_on_message)


async def test_negative_control_the_telegram_search_finds_text_kept_by_the_front_end(
    leaky_front_end, fake, telegram, canaries, search, logs
):
    """The leaky front end above: each place it keeps text must be reported."""
    await say(fake, ALICE, f"someone on snap called {canaries('control')} wants nudes")
    telegram_memory(search, telegram)
    search.logs(logs.records)
    assert {
        "telegram bot_data",
        "telegram chat_data",
        "telegram user_data",
        "telegram application",
        "front end",
        "log",
    } <= search.places(), search.report()
