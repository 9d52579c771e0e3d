"""Conversations through the engine, turn by turn: tests/data/conversations.yml (written 1 December as held out,
used as a development set from 2 December), tests/data/conversations_dev2.yml (a second development set, written 2
December), tests/data/conversations_dev3.yml (a third, written 2 December in a later session) and
tests/data/conversations_fresh.yml (held out, written 2 December).

Each turn lists facts the answer must hold (``must_say``; an entry that is a list passes on any one of its
strings) and words it must not hold (``must_not_say``), compared case-insensitively with curly apostrophes made
straight. Each conversation is played in a fresh chat. The set was written from the guidance only, by a writer
who never saw the training data or the bot's answers; see tests/data/README.md.
"""

import uuid

import pytest
import yaml

from bot.settings import HELDOUT_FILE

DEV = HELDOUT_FILE.parent / "conversations.yml"
DEV2 = HELDOUT_FILE.parent / "conversations_dev2.yml"
DEV3 = HELDOUT_FILE.parent / "conversations_dev3.yml"
FRESH = HELDOUT_FILE.parent / "conversations_fresh.yml"
# Issue 13's target is 0.95 of turns; each set's guard is the level it has reached, less a small margin.
# conversations.yml: first run 0.417, 0.809 after the conversation work (untuned), 0.843 with follow-ups weighted in
# context; since 2 December a development set (its failures were read and their causes fixed): 0.987 after that,
# 1.000 (235 of 235) after conv3's follow-ups.
# conversations_fresh.yml (held out): first run (untuned, 2 December, before this session's changes) 165 of 223 (0.740);
# 182 (0.816) at the start of conv3's work; 186 (0.834) after it (general follow-ups and context, never tuned on it);
# 187 (0.839) with conv3 landed again on main (conv4).
# conversations_dev2.yml (development, written 2 December from the guidance only): first run, untuned, on main's
# model: 229 of 272 (0.842); its failures read and their causes fixed in general ways (conv3): 254 of 272 (0.934).
# conversations_dev3.yml (development, written 2 December from the guidance only, by a writer who read no nlu/, bot/
# or responses/): first run, untuned, on main as it was mid-session (after b541242): 189 of 213 (0.887); 190 once
# one of its checks was made fair; 202 (0.948) after that session's safety, data and conv4 work (failures read).
PASS_RATE = {DEV: 0.97, DEV2: 0.91, DEV3: 0.92, FRESH: 0.80}


def load_conversations(path=DEV):
    return yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]


def _plain(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


def turn_problems(turn, answer: str):
    """What a turn's answer lacks or wrongly holds (empty when it passes)."""
    said = _plain(answer)
    problems = []
    for entry in turn.get("must_say") or []:
        options = [entry] if isinstance(entry, str) else entry
        if not any(_plain(option) in said for option in options):
            problems.append(f"missing {options}")
    problems += [f"holds {word!r}" for word in turn.get("must_not_say") or [] if _plain(word) in said]
    return problems


async def play(engine, conversation):
    """(user line, answer, problems) for every turn of one conversation, in a fresh chat."""
    chat = uuid.uuid4().hex
    results = []
    for turn in conversation["turns"]:
        reply = await engine.reply(chat, turn["user"])
        answer = "\n".join(m.text for m in reply.messages)
        results.append((turn["user"], answer, turn_problems(turn, answer)))
    await engine.forget(chat)
    return results


def test_the_checks_pass_and_fail_as_the_set_describes():
    turn = {"must_say": ["0800 1111", ["don't pay", "do not pay"]], "must_not_say": ["Sorry, I can't help"]}
    assert turn_problems(turn, "Don\u2019t pay. Childline: 0800 1111") == []
    assert turn_problems(turn, "Do not pay. Childline 0800 1111") == []
    assert turn_problems(turn, "Childline: 0800 1111") == ["missing [\"don't pay\", 'do not pay']"]
    assert turn_problems(turn, "Sorry, I can\u2019t help. Don't pay. 0800 1111") == ['holds "Sorry, I can\'t help"']


@pytest.mark.parametrize("path", [DEV, DEV2, DEV3, FRESH], ids=["dev", "dev2", "dev3", "fresh"])
def test_the_set_is_large_enough(path):
    conversations = load_conversations(path)
    assert len(conversations) >= 40
    assert all(3 <= len(c["turns"]) <= 6 for c in conversations)
    assert all("Sorry, I can't help" in t["must_not_say"] for c in conversations for t in c["turns"])


@pytest.mark.parametrize("path", [DEV, DEV2, DEV3, FRESH], ids=["dev", "dev2", "dev3", "fresh"])
async def test_conversation_turns_pass_at_least_the_guarded_rate(engine, path):
    played = [(c["name"], await play(engine, c)) for c in load_conversations(path)]
    turns = [(name, user, answer, problems) for name, results in played for user, answer, problems in results]
    failed = [t for t in turns if t[3]]
    rate = 1 - len(failed) / len(turns)
    # The held-out set's misses stay unread (tests/data/README.md): only the development set's are shown.
    report = "\n".join(f"[{name}] {user!r}: {'; '.join(problems)}" for name, user, _, problems in failed)
    report = report if path != FRESH else f"{len(failed)} turns failed (held out: not shown)"
    print(f"\n{path.name} turns passed: {len(turns) - len(failed)} of {len(turns)} ({rate:.3f})\n{report}")
    assert rate >= PASS_RATE[path], report
