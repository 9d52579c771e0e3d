"""End to end: many simulated young people at once, through the fake Telegram Bot API server or against stock Rasa.

Every simulated person plays resolved conversations (benchmarks/conversations.py) one after another, each as a new
chat: sends a message (or taps a button), waits until the whole answer has arrived, pauses (`think`), and goes on.
Two messages of a burst are sent together. A turn's latency runs from the moment its message is sent to the moment
the last bot message of that turn arrives (at the fake Telegram server, or in the REST response). Every answer is
compared with the in-process engine's answer to the same conversation: a turn whose messages never come is lost, one
whose messages come in another order is out of order, anything else different is a mismatch.

Only 127.0.0.1 is ever contacted. Every wait is bounded: a turn waits at most `turn_timeout` seconds, a whole run at
most `run_timeout` seconds.
"""

import asyncio
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import aiohttp

from benchmarks.conversations import Turn
from benchmarks.measure import latency_summary, now
from bot.settings import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from fake_telegram import FakeTelegram  # noqa: E402  (the Telegram tests' fake Bot API server)

TOKEN = "1000000001:benchmark-token-not-a-real-one"


class TimedFake(FakeTelegram):
    """The tests' fake Bot API server, also noting when each bot message arrives, and waking whoever waits for it."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__(token)
        self.arrivals: Dict[int, List[Tuple[str, float]]] = defaultdict(list)  # chat -> [(text, when)]
        self._waiters: Dict[int, Tuple[int, asyncio.Future]] = {}

    async def api_sendMessage(self, params: Dict[str, Any]) -> Dict[str, Any]:
        result = await super().api_sendMessage(params)
        chat_id = int(params["chat_id"])
        arrived = self.arrivals[chat_id]
        arrived.append((params.get("text") or "", now()))
        waiter = self._waiters.get(chat_id)
        if waiter is not None and len(arrived) >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)
        return result

    async def wait_count(self, chat_id: int, count: int, timeout: float) -> bool:
        """Wait until `count` bot messages have arrived in the chat; False if they didn't within `timeout`."""
        if len(self.arrivals[chat_id]) >= count:
            return True
        future = asyncio.get_running_loop().create_future()
        self._waiters[chat_id] = (count, future)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self._waiters.pop(chat_id, None)

    def latest_keyboard(self, chat_id: int) -> Optional[Any]:
        """The newest bot message in the chat that still has engine buttons (b0, b1, ...)."""
        for message_id in sorted(self.chat(chat_id).messages, reverse=True):
            message = self.chat(chat_id).messages[message_id]
            if message.from_bot and any((d or "").startswith("b") for d in message.keyboard_data()):
                return message
        return None

    async def quiet(self, chat_ids: Sequence[int], seconds: float, timeout: float) -> None:
        """Wait until no bot message has arrived in these chats for `seconds` (at most `timeout`).

        (The fake's own `settle` waits for no request at all, but the bot's long polling makes one every second.)
        """
        deadline = now() + timeout
        before = -1
        while now() < deadline:
            count = sum(len(self.arrivals[c]) for c in chat_ids)
            if count == before:
                return
            before = count
            await asyncio.sleep(seconds)


@dataclass
class Tally:
    """What happened in one run."""

    latencies: List[float] = field(default_factory=list)
    burst_latencies: List[float] = field(default_factory=list)  # turns sent together with another message
    lost_reasons: Counter = field(default_factory=Counter)
    turns_planned: int = 0
    turns_answered: int = 0
    lost: int = 0
    out_of_order: int = 0
    mismatched: int = 0
    silent: int = 0  # turns whose expected answer is empty (nothing to wait for)
    extra: int = 0  # bot messages nobody expected (counted once the chats are quiet)
    accounted: Dict[int, int] = field(default_factory=dict)  # chat -> bot messages matched to turns
    first_sent: Optional[float] = None
    last_answer: Optional[float] = None

    def sent(self, at: float) -> None:
        if self.first_sent is None or at < self.first_sent:
            self.first_sent = at

    def lose(self, reason: str) -> None:
        self.lost += 1
        self.lost_reasons[reason] += 1

    def answered(
        self, sent_at: float, arrived_at: float, expected: Sequence[str], got: Sequence[str], in_burst: bool = False
    ) -> None:
        self.turns_answered += 1
        self.latencies.append(arrived_at - sent_at)
        if in_burst:
            self.burst_latencies.append(arrived_at - sent_at)
        if self.last_answer is None or arrived_at > self.last_answer:
            self.last_answer = arrived_at
        if list(got) != list(expected):
            if sorted(got) == sorted(expected):
                self.out_of_order += 1
            else:
                self.mismatched += 1

    def summary(self, users: int) -> Dict[str, Any]:
        wall = (self.last_answer - self.first_sent) if self.turns_answered else 0.0
        return {
            "users": users,
            "turns_planned": self.turns_planned,
            "turns_answered": self.turns_answered,
            "lost": self.lost,
            "lost_reasons": dict(self.lost_reasons),
            "out_of_order": self.out_of_order,
            "mismatched": self.mismatched,
            "extra_messages": self.extra,
            "silent_turns": self.silent,
            "seconds": round(wall, 2),
            "turns_per_s": round(self.turns_answered / wall, 1) if wall else 0.0,
            "latency": latency_summary(self.latencies),
            "latency_of_burst_turns": latency_summary(self.burst_latencies),
        }


def combined(tallies: Sequence[Tally], users: int) -> Dict[str, Any]:
    """One summary of several rounds of the same run: latencies pooled, counts added, turns/s over the rounds' own
    time (not the time between them, when the other system was measured), and each round's turns/s."""
    total = Tally()
    wall = 0.0
    for tally in tallies:
        total.latencies += tally.latencies
        total.burst_latencies += tally.burst_latencies
        total.lost_reasons += tally.lost_reasons
        for name in ("turns_planned", "turns_answered", "lost", "out_of_order", "mismatched", "silent", "extra"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        wall += (tally.last_answer - tally.first_sent) if tally.turns_answered else 0.0
    total.first_sent, total.last_answer = 0.0, wall
    summary = total.summary(users)
    summary["rounds"] = [tally.summary(users)["turns_per_s"] for tally in tallies]
    return summary


def groups(turns: Sequence[Turn]) -> List[List[Turn]]:
    """Turns sent together: a burst's messages form one group, every other turn is a group of one."""
    out: List[List[Turn]] = []
    current: List[Turn] = []
    for turn in turns:
        current.append(turn)
        if not turn.with_next:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Through Telegram (the fake Bot API server)


async def telegram_conversation(
    fake: TimedFake,
    chat_id: int,
    turns: Sequence[Turn],
    start_extras: Sequence[str],
    think: Tuple[float, float],
    rng: random.Random,
    tally: Tally,
    turn_timeout: float,
) -> None:
    """One young person's chat with the bot: each message sent as Telegram would deliver it, answers awaited."""
    tally.accounted[chat_id] = 0  # bot messages of this chat matched to turns so far
    for group in groups(turns):
        sent: List[Tuple[float, List[str]]] = []
        for turn in group:
            expected = list(turn.expected) + (list(start_extras) if turn.kind == "start" else [])
            if turn.kind == "press":
                message = fake.latest_keyboard(chat_id)
                data = f"b{turn.index}"
                if message is None or data not in message.keyboard_data():
                    tally.mismatched += 1  # the keyboard the engine offered isn't there: stop this chat
                    return
                titles = dict(zip(message.keyboard_data(), message.keyboard_titles()))
                if titles.get(data) != turn.title:
                    tally.mismatched += 1
                    return
                at = now()
                await fake.press(chat_id, message.message_id, data)
            else:
                at = now()
                if turn.kind == "start":
                    await fake.send_command(chat_id, "/start")
                else:
                    await fake.send_text(chat_id, turn.text)
            tally.sent(at)
            sent.append((at, expected))
        for at, expected in sent:
            if not expected:
                tally.silent += 1
                continue
            received = tally.accounted[chat_id]
            if not await fake.wait_count(chat_id, received + len(expected), turn_timeout):
                tally.lose("no answer in time")
                return
            got = fake.arrivals[chat_id][received : received + len(expected)]
            tally.accounted[chat_id] = received + len(expected)
            tally.answered(at, got[-1][1], expected, [text for text, _ in got], in_burst=len(group) > 1)
        await asyncio.sleep(rng.uniform(*think))


async def count_extra(fake: TimedFake, tally: Tally, timeout: float) -> None:
    """Once the run's chats are quiet: any bot message beyond those matched to turns is unexpected."""
    chats = list(tally.accounted)
    await fake.quiet(chats, 1.0, timeout)
    tally.extra = sum(len(fake.arrivals[c]) - tally.accounted[c] for c in chats)


async def learn_start_extras(fake: TimedFake, chat_id: int, greeting: Sequence[str], timeout: float) -> List[str]:
    """What the Telegram front end adds to /start after the engine's greeting (its own lines), from one /start."""
    await fake.send_command(chat_id, "/start")
    if not await fake.wait_count(chat_id, len(greeting), timeout):
        raise RuntimeError("the bot did not answer /start")
    await fake.quiet([chat_id], 1.0, timeout)
    texts = [text for text, _ in fake.arrivals[chat_id]]
    if texts[: len(greeting)] != list(greeting):
        raise RuntimeError("the bot's answer to /start does not begin with the engine's greeting")
    return texts[len(greeting) :]


# ---------------------------------------------------------------------------------------------------------------
# Against stock `rasa run` (REST channel)


async def rest_post(
    session: aiohttp.ClientSession, url: str, sender: str, text: str, timeout: float
) -> Tuple[Optional[List[str]], str]:
    """One message to Rasa's REST channel: the texts of its answer, or None and why there was none."""
    try:
        async with session.post(
            url, json={"sender": sender, "message": text}, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            if response.status != 200:
                return None, f"HTTP {response.status}"
            return [m.get("text") or "" for m in await response.json() if (m.get("text") or "").strip()], ""
    except asyncio.TimeoutError:
        return None, "no answer in time"
    except aiohttp.ClientError as error:
        return None, type(error).__name__


async def rest_conversation(
    session: aiohttp.ClientSession,
    url: str,
    sender: str,
    turns: Sequence[Turn],
    think: Tuple[float, float],
    rng: random.Random,
    tally: Tally,
    turn_timeout: float,
) -> None:
    """The same conversation with stock Rasa: a button press is sent as its payload, /start as the greeting."""
    for group in groups(turns):

        async def one(turn: Turn) -> bool:
            at = now()
            tally.sent(at)
            got, why = await rest_post(session, url, sender, turn.text, turn_timeout)
            arrived = now()
            if got is None:
                tally.lose(why)
                return False
            if not turn.expected:
                tally.silent += 1
                return True
            tally.answered(at, arrived, turn.expected, got, in_burst=len(group) > 1)  # noqa: B023 (called at once)
            return True

        # A burst's messages go out together, as two requests at once.
        results = await asyncio.gather(*(one(turn) for turn in group))
        if not all(results):
            return
        await asyncio.sleep(rng.uniform(*think))


async def wait_for_rest(url: str, deadline: float, process: Any) -> float:
    """Poll the REST webhook until it answers a greeting; returns when (CLOCK_MONOTONIC)."""
    async with aiohttp.ClientSession() as session:
        while now() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"rasa run exited with code {process.returncode}")
            got, _ = await rest_post(session, url, "benchmark-start", "hi", timeout=5)
            if got:
                return now()
            await asyncio.sleep(0.1)
    raise TimeoutError("stock rasa run did not answer in time")


# ---------------------------------------------------------------------------------------------------------------
# A whole run: `users` people at once


async def run_users(
    conversation: Any,
    users: int,
    per_user: int,
    conversations: Sequence[Sequence[Turn]],
    think: Tuple[float, float],
    seed: int,
    run_timeout: float,
) -> Tally:
    """`users` simulated people at once; person u plays conversations u*per_user ... (u+1)*per_user - 1.

    `conversation(number, turns, rng, tally)` plays one conversation. People start within the first pause, so the
    run begins as a burst, not in lock step.
    """
    if users * per_user > len(conversations):
        raise ValueError("not enough resolved conversations for this many users")
    tally = Tally()
    tally.turns_planned = sum(len(conversations[n]) for n in range(users * per_user))

    async def person(user: int) -> None:
        rng = random.Random(seed * 100_003 + user)
        await asyncio.sleep(rng.uniform(0, think[1]))
        for k in range(per_user):
            number = user * per_user + k
            await conversation(number, conversations[number], rng, tally)

    tasks = [asyncio.ensure_future(person(u)) for u in range(users)]
    done, pending = await asyncio.wait(tasks, timeout=run_timeout)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()
    if pending:
        await asyncio.wait(pending)
        for _ in pending:
            tally.lose("run time over")  # people still waiting when the run's time was up
    return tally
