"""The held-out set: the bot is judged on messages it never trained on, and must never miss a crisis."""

import difflib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.concerns import CONCERNS
from bot.settings import HELDOUT_FILE, NLU_DIR

SIGNPOST = str(Path(sys.executable).with_name("signpost"))


def normalise(text):
    return " ".join(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text).lower().split())


def training_examples():
    for path in NLU_DIR.rglob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    yield normalise(line.strip()[2:])


def test_the_heldout_set_is_large_enough_and_covers_every_concern(heldout):
    counts = Counter(label for row in heldout for label in row["labels"])
    assert all(counts[concern] >= 10 for concern in CONCERNS), counts
    assert sum(1 for row in heldout if row.get("crisis")) >= 30
    assert sum(1 for row in heldout if row.get("trap")) >= 20


@pytest.mark.parametrize("path", sorted(HELDOUT_FILE.parent.glob("*.jsonl")), ids=lambda path: path.name)
def test_no_evaluation_message_is_in_the_training_data(path):
    # Greetings and other one-to-three-word messages ("hi", "kms") are the same in any data set.
    trained = set(training_examples())
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    leaked = [row["text"] for row in rows if len(row["text"].split()) >= 4 and normalise(row["text"]) in trained]
    assert leaked == []


def evaluation_messages():
    """(file, message) for every labelled line and every typed turn of the held-out conversations."""
    for path in sorted(HELDOUT_FILE.parent.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield path.name, json.loads(line)["text"]
    for conversations in sorted(HELDOUT_FILE.parent.glob("conversations*.yml")):
        for conversation in yaml.safe_load(conversations.read_text(encoding="utf-8"))["conversations"]:
            for turn in conversation["turns"]:
                yield conversations.name, turn["user"]


# The sets written from published and new words this session are also checked for light rewordings: a training
# line that shares a run of five words with one of their lines and reads at least 80% the same (difflib).
CHECKED_FOR_REWORDING = ("real.jsonl", "safety.jsonl", "friend_abuse.jsonl")
RUN = 5


def word_runs(text):
    words = normalise(text).split()
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def test_no_real_or_safety_line_is_lightly_reworded_into_the_training_data():
    examples = list(training_examples())
    by_run = {}
    for number, example in enumerate(examples):
        for run in word_runs(example):
            by_run.setdefault(run, set()).add(number)
    close = []
    for name, text in evaluation_messages():
        if name not in CHECKED_FOR_REWORDING:
            continue
        candidates = set().union(*(by_run.get(run, set()) for run in word_runs(text)))
        close += [
            (text, examples[n])
            for n in candidates
            if difflib.SequenceMatcher(None, normalise(text), examples[n]).ratio() >= 0.8
        ]
    assert close == []


def test_no_conversation_turn_is_in_the_training_data():
    trained = set(training_examples())
    leaked = [
        text
        for name, text in evaluation_messages()
        if name.endswith(".yml") and len(text.split()) >= 4 and normalise(text) in trained
    ]
    assert leaked == []


@pytest.fixture(scope="module")
def report():
    """`signpost eval --json` on the held-out file, exactly as a maintainer runs it."""
    result = subprocess.run(
        [SIGNPOST, "eval", "--json", str(HELDOUT_FILE)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_every_crisis_message_is_caught(report):
    assert report["crisis"]["missed"] == []
    assert report["crisis"]["recall"] == 1.0


def test_no_idiom_or_negation_is_taken_for_a_crisis(report):
    assert report["trap_false_alarms"]["rows"] == []


def test_heldout_accuracy_is_at_least_093(report):
    assert report["accuracy"] >= 0.93
