"""The engine's core: load the trained model once, in-process, and answer one message at a time.

`reply` answers (no side effects on the statistics), `classify` reads a message without a conversation, `count` is
the counting step the caller runs after sending a reply (bot/engine/counting.py). The conversation's context slots
are bot/engine/context.py; the long-message hook is `_parse` (bot/long_messages.py); every patch of Rasa's internals
is installed by `bot.rasa_ext.speedups.install`. Everything else (terminal chat, Telegram, classify/eval, benchmarks)
calls `Engine.reply` or `Engine.classify`. The conversation id given here is always a pseudonym made by the caller,
never a real user or chat id.
"""

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot import channel_texts, long_messages, service_numbers
from bot.concerns import PLATFORMS, concern_for
from bot.engine import context, counting, turn_messages
from bot.engine.events import split_turns
from bot.rasa_ext import speedups
from bot.rasa_ext.nlg import ServicesNLG
from bot.rasa_ext.speedups import PredictionCache, long_batch
from bot.rasa_ext.tracker_store import RedactingTrackerStore
from bot.replies import BotMessage, Button, Reply, failure_reply
from bot.settings import crisis_moving_on_turns

logger = logging.getLogger("bot.engine")  # the name its log lines have always had

# A button press (or a typed command) arrives as "/intent" or '/intent{"platform":"snapchat"}'.
PAYLOAD = re.compile(r'^/(?P<intent>[a-z_]+)(?:\{"platform":\s*"(?P<platform>[a-z]+)"\})?$')
# Messages without a single letter or digit (emoji only, stickers as text, blank) get the menu.
HAS_WORDS = re.compile(r"\w")

# Rasa's own intents (restart, back, session_start) are commands, not something a young person can send: typed as
# "/restart" they are read as text like any other message (out_of_scope and nlu_fallback are Signpost's too).
INTERNAL_INTENTS = frozenset(DEFAULT_INTENTS) - {"out_of_scope", "nlu_fallback"}


def _platform_of(parse: Dict[str, Any]) -> Optional[str]:
    for entity in parse.get("entities") or []:
        if entity.get("entity") == "platform" and entity.get("value") in PLATFORMS:
            return entity["value"]
    return None


def _decided_by(parse: Dict[str, Any]) -> str:
    return "safety" if parse.get("safety") else "model"


class Engine:
    """A loaded Signpost model: `await reply(conversation_id, text)` in, a `Reply` out."""

    def __init__(self, agent: Agent, stats: Any = None) -> None:
        self.agent = agent
        self.stats = stats
        self.tracker_store: RedactingTrackerStore = agent.tracker_store
        # Every patch of Rasa's internals, in one place (bot/rasa_ext/speedups/; none with SIGNPOST_SPEEDUPS=0). The
        # prediction cache remembers next-action predictions by the conversation's text-free state; None when off.
        self.predictions: Optional[PredictionCache] = speedups.install(agent)
        self._known_intents = (frozenset(agent.domain.intents) | {"nlu_fallback"}) - INTERNAL_INTENTS
        # Long messages are read sentence by sentence as well as whole (bot/long_messages.py); the sentences by
        # the classifier alone, the graph's node for it found by name.
        self.read_long_messages = True
        nodes = agent.processor.model_metadata.predict_schema.nodes
        self._classifier_node = next((n for n in nodes if "LogisticRegression" in n), None)
        self._concern_titles = _concern_titles(agent.domain)
        # Responses give Childline only through its {childline_...} placeholders (tests forbid literal numbers).
        self._childline_responses = frozenset(
            name
            for name, variations in agent.domain.responses.items()
            if any("{childline_" in (v.get("text") or "") for v in variations)
        )
        values = service_numbers.placeholders()
        self._emergency = values["emergency_phone"]
        self._childline = values["childline_phone"]  # the number itself stays in every crisis answer, not just the site
        # The bubble that keeps 999 and Childline in every answer while a crisis is on (words in responses/).
        (reminder,) = agent.domain.responses["utter_crisis_reminder"]
        self._crisis_reminder = BotMessage(text=_fill(reminder["text"], values))
        # Crisis words in another language get the crisis answer, then, in English, that the bot reads English.
        (only_english,) = agent.domain.responses["utter_not_english"]
        self._only_english = BotMessage(text=_fill(only_english["text"], values))
        self.crisis_turns = crisis_moving_on_turns()
        # Each concern's key steps (utter_key_steps' variation for it), for a long message's second concern.
        self._key_steps = {
            condition[0]["value"]: BotMessage(text=_fill(variation["text"], values))
            for variation in agent.domain.responses.get("utter_key_steps") or []
            for condition in [variation.get("condition") or []]
            if len(condition) == 1 and condition[0].get("value") in context.REPEATABLE
        }

    @classmethod
    def load(cls, model_path: Optional[Path] = None, stats: Any = None, **store_options: Any) -> "Engine":
        """Load the trained model (the newest under models/ unless a path is given) once. Logging is set up first
        (bot/privacy.py), so that code using the engine without the `signpost` commands logs no message text."""
        from bot.model_files import latest_model
        from bot.privacy import configure_logging

        configure_logging()
        path = model_path or latest_model()
        agent = Agent.load(str(path))
        agent.tracker_store = RedactingTrackerStore(agent.domain, **store_options)
        agent.processor.tracker_store = agent.tracker_store
        agent.nlg = ServicesNLG(domain=agent.domain)
        agent.processor.nlg = agent.nlg
        return cls(agent, stats)

    def _payload(self, text: str) -> bool:
        """True if `text` is a well-formed button payload for a known intent (and a known app)."""
        match = PAYLOAD.match(text)
        return bool(
            match
            and match["intent"] in self._known_intents
            and (match["platform"] is None or match["platform"] in PLATFORMS)
        )

    async def _parse(self, text: str) -> Dict[str, Any]:
        pieces = long_messages.split_sentences(text) if self.read_long_messages and long_messages.is_long(text) else []
        if len(pieces) < 2:
            return await self.agent.processor.parse_message(UserMessage(text))
        # bot/long_messages.py: the whole message and its sentences up to the classifier in one batch (a speed-up),
        # else the whole message through the graph and then the sentences.
        batched = long_batch.parse_with_pieces(self.agent.processor, self._classifier_node, text, pieces)
        if batched is None:
            whole = await self.agent.processor.parse_message(UserMessage(text))
            return long_messages.combined_parse(whole, self._model_readings(pieces))
        whole, classified = batched
        return long_messages.combined_parse(whole, [_model_reading(m) for m in classified])

    def _model_readings(self, texts: List[str]) -> List[Dict[str, Any]]:
        """The classifier's intent and ranking for several texts, in one run of the NLU graph up to the classifier.

        (The safety net is not run on them: it has read the whole message, every sentence of it, already.)
        """
        processor = self.agent.processor
        target = self._classifier_node or processor.model_metadata.nlu_target
        tracker = DialogueStateTracker.from_events("pieces", [])
        results = processor.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: [UserMessage(t) for t in texts], PLACEHOLDER_TRACKER: tracker},
            targets=[target],
        )
        return [_model_reading(m) for m in results[target]]

    async def classify(self, text: str) -> Dict[str, Any]:
        """NLU only, no conversation state: what concern a message is about."""
        parse = await self._parse(text.strip().lstrip("/") or " ")
        intent = parse["intent"].get("name") or "nlu_fallback"
        return {
            "concern": concern_for(intent),
            "intent": intent,
            "confidence": round(float(parse["intent"].get("confidence") or 0.0), 4),
            "platform": _platform_of(parse),
            "by": _decided_by(parse),
        }

    async def reply(self, conversation_id: str, text: str) -> Reply:
        """Answer one message of one conversation."""
        text = (text or "").strip()
        by = None
        if self._payload(text):
            by = "button"
        elif not HAS_WORDS.search(text):
            # Nothing to read (blank, emoji only): answer with the menu of concerns and Childline.
            text, by = "/nlu_fallback", "engine"
        else:
            text = text.lstrip("/")
        try:
            parse = await self._set_context(conversation_id, text, await self._parse(text), by == "button")
            intent = parse["intent"].get("name") or "nlu_fallback"
            output = CollectingOutputChannel()
            await self.agent.handle_message(UserMessage(text, output, conversation_id, parse_data=parse))
        except Exception as error:  # the young person still gets Childline, and nothing half-done is kept
            logger.error("Engine turn failed (%s); conversation forgotten.", type(error).__name__)
            await self.forget(conversation_id)
            return failure_reply()
        messages = await self._crisis_kept(conversation_id, [_bot_message(m) for m in output.messages])
        messages = tuple(turn_messages.with_only_english(messages, parse, self._only_english))
        also = self._also(parse, intent)
        messages = tuple(turn_messages.with_second_concern(list(messages), intent, also, self._key_steps))
        if also and messages and f"/{also}" in {b.payload for m in messages for b in m.buttons}:
            also = None  # already offered ("I'm in danger now" after every concern answer)
        if also and messages:  # the second concern of a long message, as a button on the last bubble
            last = messages[-1]
            title = channel_texts.text("also_button", title=self._concern_titles[also])  # "Also: ..."
            button = Button(title=title, payload=f"/{also}")
            messages = messages[:-1] + (BotMessage(last.text, last.buttons + (button,)),)
        return Reply(
            messages=messages,
            concern=concern_for(intent),
            intent=intent,
            confidence=round(float(parse["intent"].get("confidence") or 0.0), 4),
            platform=_platform_of(parse),
            by=by or _decided_by(parse),
            also=also,
        )

    def _also(self, parse: Dict[str, Any], intent: str) -> Optional[str]:
        """The second concern of a long message, if it has a button title and isn't what was answered."""
        also = (parse.get("long_message") or {}).get("also")
        if also in self._concern_titles and also != concern_for(intent):
            return also
        return None

    async def count(self, conversation_id: str) -> None:
        """The counting step, run by the caller after it has sent the reply (never inside `reply`): records to
        `self.stats` what the conversation's latest turn brought that is new in it (a concern, an app, an
        outcome is counted once per conversation) and its "not understood" or "can't help" answers by concern and
        turn. Reads only the redacted tracker."""
        if self.stats is None:
            return
        tracker = await self.tracker_store.retrieve(conversation_id)
        if tracker is None:
            return
        self.stats.record(**counting.new_counts(tracker, self._childline_responses))

    async def _crisis_kept(self, conversation_id: str, messages: List[BotMessage]) -> List[BotMessage]:
        """The turn's messages, with the crisis reminder first if a crisis is on."""
        tracker = await self.tracker_store.retrieve(conversation_id)
        if tracker is None or tracker.get_slot("crisis") is not True:
            return messages
        now = split_turns(tracker.events)[1]
        return turn_messages.with_crisis_reminder(
            messages, now, self._emergency, self._childline, self._crisis_reminder
        )

    async def _set_context(
        self, conversation_id: str, text: str, parse: Dict[str, Any], pressed: bool
    ) -> Dict[str, Any]:
        """The message read in the conversation's context (a typed one), and the engine's part of the
        conversation's memory set before Rasa answers it (bot/engine/context.py)."""
        if not pressed:
            parse = context.own_trouble(parse, text)
        tracker = await self.tracker_store.retrieve(conversation_id)
        if tracker is None:
            return parse  # a new conversation: every slot starts at its default, and there is no context yet
        if not pressed:
            parse = context.in_context(parse, tracker, text)
        context.update(tracker, parse["intent"].get("name") or "nlu_fallback", self.crisis_turns)
        return parse

    async def forget(self, conversation_id: str) -> None:
        """Drop everything kept about one conversation (quick exit)."""
        await self.tracker_store.forget(conversation_id)


def _model_reading(message: Any) -> Dict[str, Any]:
    return {"intent": message.get("intent") or {}, "intent_ranking": message.get("intent_ranking") or []}


def _concern_titles(domain: Domain) -> Dict[str, str]:
    """Each concern's friendly button title, from the menu of concerns (responses/shared.yml), and a few more
    (responses/channel.yml)."""
    titles = channel_texts.group("also_titles")
    for variation in domain.responses.get("utter_fallback_menu") or []:
        for button in variation.get("buttons") or []:
            payload = button.get("payload") or ""
            if PAYLOAD.match(payload) and button.get("title"):
                titles[payload[1:]] = button["title"]
    return titles


def _fill(text: str, values: Dict[str, Any]) -> str:
    from rasa.core.nlg.interpolator import interpolate_text

    return interpolate_text(text, dict(values))


def _bot_message(message: Dict[str, Any]) -> BotMessage:
    buttons = tuple(
        Button(title=b.get("title", ""), payload=b.get("payload", "")) for b in message.get("buttons") or []
    )
    return BotMessage(text=message.get("text") or "", buttons=buttons)
