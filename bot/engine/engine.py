"""The one module that owns Rasa: load the trained model once, in-process, and answer one message at a time.

Everything else (terminal chat, Telegram, classify/eval, benchmarks) calls `Engine.reply` or `Engine.classify`.
The conversation id given here is always a pseudonym made by the caller, never a real user or chat id.
"""

import logging
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

# Rasa's classifier loader imports skops.io, which at import time looks up hundreds of types in every module loaded
# so far: about 6 s once Rasa and TensorFlow are in, 1 s before. So it comes first (cold start 10.8 -> 6 to 8 s).
import skops.io  # noqa: F401,I001

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import long_messages, service_numbers as services
from bot.concerns import CONCERNS, CRISIS, PLATFORMS, concern_for
from bot.prediction_cache import PredictionCache
from bot.rasa_ext.tracker_store import RedactingTrackerStore
from bot.replies import BotMessage, Button, Reply, failure_reply
from bot.settings import crisis_moving_on_turns

logger = logging.getLogger(__name__)

# A button press (or a typed command) arrives as "/intent" or '/intent{"platform":"snapchat"}'.
PAYLOAD = re.compile(r'^/(?P<intent>[a-z_]+)(?:\{"platform":\s*"(?P<platform>[a-z]+)"\})?$')
# Messages without a single letter or digit (emoji only, stickers as text, blank) get the menu.
HAS_WORDS = re.compile(r"\w")

# Rasa's own intents (restart, back, session_start) are commands, not something a young person can send: typed as
# "/restart" they are read as text like any other message (out_of_scope and nlu_fallback are Signpost's too).
INTERNAL_INTENTS = frozenset(DEFAULT_INTENTS) - {"out_of_scope", "nlu_fallback"}

# Which responses count as which moderator outcome (see bot/stats/store.py for the full list).
CRISIS_RESPONSES = frozenset(
    {"utter_immediate_danger", "utter_self_harm", "utter_friend_at_risk", "utter_already_hurt", "utter_abuse_disclosure"}
)
FALLBACK_RESPONSES = frozenset({"utter_fallback_menu", "utter_default", "utter_fallback_again",
                                "utter_not_understood_in_context"})
# Answers that mean the bot failed the young person, counted for moderators by concern and turn (no text).
FAILURE_KINDS = {
    "utter_fallback_menu": "not_understood",
    "utter_default": "not_understood",
    "utter_fallback_again": "not_understood",
    "utter_not_understood_in_context": "not_understood",
    "utter_out_of_scope": "cant_help",
    "utter_out_of_scope_in_context": "cant_help",
}
MAX_TURN = 10  # failure turn numbers are capped: 10 means "10 or later"

# --- Context (the slots in responses/domain.yml) ---
# Concerns whose full answer is given once per conversation; asked again, the rules give their key steps.
REPEATABLE = frozenset({"asked_for_nudes", "sextortion", "image_shared", "sent_nude_worried", "received_nude",
                        "unknown_contact", "friend_worried", "block_report_help"})
# A message about one of these concerns moves the conversation on from a crisis (follow-ups that belong to a crisis
# never do, whatever concern they count as).
MOVING_ON = frozenset(CONCERNS) - CRISIS - {"greet", "out_of_scope", "talk_to_someone"}
CRISIS_FOLLOWUPS = frozenset({"safe_now", "crisis_detail", "crisis_minimise", "refuse_call", "what_now",
                              "already_did", "should_i_go"})
# The closing Childline bubble, left out when the crisis reminder (which has Childline) leads the answer.
CLOSING = "utter_next_steps"


class ServicesNLG(TemplatedNaturalLanguageGenerator):
    """Rasa's response generator, with every {placeholder} filled from responses/services.yml."""

    def __init__(self, endpoint_config: Any = None, domain: Optional[Domain] = None) -> None:
        super().__init__(domain.responses if domain else {})

    @staticmethod
    def _response_variables(filled_slots: Dict[str, Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        values = services.placeholders()
        values.update(filled_slots or {})
        values.update(kwargs)
        return values


class SequentialGraphRunner:
    """Rasa's graph run node by node on the calling thread, in an order worked out once per set of targets.

    It runs the very nodes of Rasa's DaskGraphRunner, which on every call rebuilds the graph, has dask schedule it
    (about a tenth of a turn) and formats its inputs, the message included, into a debug line nobody logs.
    """

    def __init__(self, runner: DaskGraphRunner) -> None:
        self.dask_runner = runner
        self._schema = runner._graph_schema
        self._nodes = runner._instantiated_nodes
        self._plans: Dict[Tuple[str, ...], List[Tuple[str, Tuple[str, ...]]]] = {}

    def _plan(self, targets: Tuple[str, ...]) -> List[Tuple[str, Tuple[str, ...]]]:
        """(node, the nodes it needs) for every node the targets need, each after what it needs."""
        schema = self._schema.minimal_graph_schema(list(targets))
        plan: List[Tuple[str, Tuple[str, ...]]] = []
        planned = set()

        def add(name: str) -> None:
            if name in planned or name not in schema.nodes:  # planned already, or an input
                return
            planned.add(name)
            needs = tuple(schema.nodes[name].needs.values())
            for need in needs:
                add(need)
            plan.append((name, needs))

        for target in targets:
            add(target)
        return plan

    def run(self, inputs: Optional[Dict[str, Any]] = None, targets: Optional[List[str]] = None) -> Dict[str, Any]:
        """The targets' outputs by name, as `DaskGraphRunner.run` returns them."""
        wanted = tuple(targets or self._schema.target_names)
        plan = self._plans.get(wanted)
        if plan is None:
            plan = self._plans[wanted] = self._plan(wanted)
        # Like dask: every node gets (name, output) for each node it needs, or the bare name if there is none.
        outputs = {name: (name, value) for name, value in (inputs or {}).items()}
        try:
            for name, needs in plan:
                outputs[name] = self._nodes[name](*(outputs.get(need, need) for need in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in wanted)


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
        # Next-action predictions are remembered by the conversation's text-free state (bot/prediction_cache.py).
        predict = agent.processor._predict_next_with_tracker
        if not isinstance(predict, PredictionCache):  # a second Engine on the same agent shares its cache
            agent.processor._predict_next_with_tracker = predict = PredictionCache(predict)
        self.predictions: PredictionCache = predict
        if isinstance(agent.processor.graph_runner, DaskGraphRunner):
            agent.processor.graph_runner = SequentialGraphRunner(agent.processor.graph_runner)
        # Rasa asks whether the domain is empty on every message, by serialising the whole domain and comparing
        # (a quarter of a turn). A loaded domain never changes: the answer is worked out once.
        for domain in {id(d): d for d in (agent.domain, agent.processor.domain)}.values():
            empty = Domain.is_empty(domain)
            domain.is_empty = lambda empty=empty: empty
        self._known_intents = (frozenset(agent.domain.intents) | {"nlu_fallback"}) - INTERNAL_INTENTS
        # Long messages are read sentence by sentence as well as whole (bot/long_messages.py); the sentences by
        # the classifier alone, the graph's node for it found by name.
        self.read_long_messages = True
        nodes = getattr(agent.processor.graph_runner, "_nodes", None) or {}
        self._classifier_node = next((n for n in nodes if "LogisticRegression" in n), None)
        self._concern_titles = _concern_titles(agent.domain)
        # Responses give Childline only through its {childline_...} placeholders (tests forbid literal numbers).
        self._childline_responses = frozenset(
            name
            for name, variations in agent.domain.responses.items()
            if any("{childline_" in (v.get("text") or "") for v in variations)
        )
        values = services.placeholders()
        self._emergency = values["emergency_phone"]
        self._childline = (values["childline_phone"], values["childline_web"])
        # The bubble that keeps 999 and Childline in every answer while a crisis is on (words in responses/).
        (reminder,) = agent.domain.responses["utter_crisis_reminder"]
        self._crisis_reminder = BotMessage(text=_fill(reminder["text"], values))
        self.crisis_turns = crisis_moving_on_turns()


    @classmethod
    def load(cls, model_path: Optional[Path] = None, stats: Any = None, **store_options: Any) -> "Engine":
        """Load the trained model (the newest under models/ unless a path is given) once."""
        from bot.model_files import latest_model

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
        whole = await self.agent.processor.parse_message(UserMessage(text))
        if self.read_long_messages and long_messages.is_long(text):  # bot/long_messages.py
            pieces = long_messages.split_sentences(text)
            if len(pieces) > 1:
                return long_messages.combined_parse(whole, self._model_readings(pieces))
        return whole

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
        return [
            {"intent": m.get("intent") or {}, "intent_ranking": m.get("intent_ranking") or []} for m in results[target]
        ]

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
            parse = await self._parse(text)
            intent = parse["intent"].get("name") or "nlu_fallback"
            await self._set_context(conversation_id, intent)
            output = CollectingOutputChannel()
            await self.agent.handle_message(UserMessage(text, output, conversation_id, parse_data=parse))
        except Exception as error:  # the young person still gets Childline, and nothing half-done is kept
            logger.error("Engine turn failed (%s); conversation forgotten.", type(error).__name__)
            await self.forget(conversation_id)
            return failure_reply()
        messages = await self._crisis_kept(conversation_id, [_bot_message(m) for m in output.messages])
        messages = tuple(messages)
        also = self._also(parse, intent)
        if also and messages and f"/{also}" in {b.payload for m in messages for b in m.buttons}:
            also = None  # already offered ("I'm in danger now" after every concern answer)
        if also and messages:  # the second concern of a long message, as a button on the last bubble
            last = messages[-1]
            button = Button(title=f"Also: {self._concern_titles[also]}", payload=f"/{also}")
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
        earlier, now = _split_turns(tracker.events)
        concerns_before = {concern_for(i) for i in _intents(earlier)}
        platforms_before = set(_platforms(earlier))
        self.stats.record(
            concerns=[c for c in {concern_for(i) for i in _intents(now)} if c not in concerns_before],
            platforms=[p for p in set(_platforms(now)) if p not in platforms_before],
            outcomes=sorted(self._outcomes(now) - self._outcomes(earlier)),
            failures=self._failures(tracker, earlier, now),
        )

    async def _crisis_kept(self, conversation_id: str, messages: List[BotMessage]) -> List[BotMessage]:
        """The turn's messages, with the crisis reminder first if a crisis is on."""
        tracker = await self.tracker_store.retrieve(conversation_id)
        if tracker is None or tracker.get_slot("crisis") is not True:
            return messages
        return self._with_crisis_reminder(messages, _split_turns(tracker.events)[1])

    async def _set_context(self, conversation_id: str, intent: str) -> None:
        """The engine's part of the conversation's memory, set before Rasa answers (labels only, no text).

        Rasa sets `concern`, `under_way` and `crisis` itself, from the intent (slot mappings in responses/domain.yml).
        Two things need the whole conversation, which a rule cannot see, so they are worked out here from the
        tracker's intents and actions and added as SlotSet events before the message, where the rules read them:
        - `answered`: this message's concern already had its full answer in this conversation (nlu/rules.yml then
          gives its key steps instead of the whole answer again);
        - `crisis` off: the last `crisis_turns` messages, this one included, were all about other concerns since
          the last crisis answer (the young person has moved on).
        Both are in the prediction cache's key, like every slot that influences the conversation.
        """
        tracker = await self.tracker_store.retrieve(conversation_id)
        if tracker is None:
            return  # a new conversation: every slot starts at its default
        session = _session(tracker.events)
        answered = intent in REPEATABLE and f"utter_{intent}" in _actions(session)
        if bool(tracker.get_slot("answered")) != answered:
            tracker.update(SlotSet("answered", answered))
        if tracker.get_slot("crisis") is True and self._moved_on(session, intent):
            tracker.update(SlotSet("crisis", False))

    def _moved_on(self, session: List[Any], intent: str) -> bool:
        """True if this message and the ones before it, back to the last crisis answer, are `crisis_turns` in a row
        about other concerns."""
        if not _moving_on(intent):
            return False
        count = 1
        for event in reversed(session):
            if count >= self.crisis_turns:
                return True
            if isinstance(event, ActionExecuted) and event.action_name in CRISIS_RESPONSES:
                return False
            if isinstance(event, UserUttered):
                if not _moving_on(event.intent_name or ""):
                    return False
                count += 1
        return count >= self.crisis_turns

    def _with_crisis_reminder(self, messages: List[BotMessage], now: List[Any]) -> List[BotMessage]:
        """In a crisis every answer shows 999 and Childline: an answer without both gets the short reminder first,
        in place of its closing Childline bubble (so a turn stays at three bubbles at most)."""
        text = " ".join(m.text for m in messages)
        if self._emergency in text and any(c in text for c in self._childline):
            return messages
        names = [(e.metadata or {}).get("utter_action") for e in now if isinstance(e, BotUttered)]
        if len(names) == len(messages):
            messages = [m for m, name in zip(messages, names) if name != CLOSING]
        return [self._crisis_reminder] + messages

    @staticmethod
    def _failures(tracker: Any, earlier: List[Any], now: List[Any]) -> List[Tuple[str, str, int]]:
        """(kind, concern, turn) for each "not understood" or "can't help" answer this turn: labels only."""
        kinds = [FAILURE_KINDS[a] for a in _actions(now) if a in FAILURE_KINDS]
        if not kinds:
            return []
        concern = tracker.get_slot("concern")
        concern = concern_for(concern) if concern else "none"
        turn = min(MAX_TURN, sum(1 for e in _session(earlier + now) if isinstance(e, UserUttered)))
        return [(kind, concern, turn) for kind in sorted(set(kinds))]


    def _outcomes(self, events: Iterable[Any]) -> set:
        actions = {e.action_name for e in events if isinstance(e, ActionExecuted)}
        outcomes = set()
        if actions & self._childline_responses:
            outcomes.add("childline_shown")
        if actions & CRISIS_RESPONSES:
            outcomes.add("crisis_answer_shown")
        if actions & FALLBACK_RESPONSES:
            outcomes.add("fallback_menu_shown")
        if "utter_block_report_steps" in actions:
            outcomes.add("block_report_steps_shown")
        return outcomes

    async def forget(self, conversation_id: str) -> None:
        """Drop everything kept about one conversation (quick exit)."""
        await self.tracker_store.forget(conversation_id)


def _concern_titles(domain: Domain) -> Dict[str, str]:
    """Each concern's friendly button title, from the menu of concerns (responses/shared.yml), and a few more."""
    titles = dict(long_messages.EXTRA_TITLES)
    for variation in domain.responses.get("utter_fallback_menu") or []:
        for button in variation.get("buttons") or []:
            payload = button.get("payload") or ""
            if PAYLOAD.match(payload) and button.get("title"):
                titles[payload[1:]] = button["title"]
    return titles


def _fill(text: str, values: Dict[str, Any]) -> str:
    from rasa.core.nlg.interpolator import interpolate_text

    return interpolate_text(text, dict(values))


def _session(events: Iterable[Any]) -> List[Any]:
    """The events of the latest session."""
    session: List[Any] = []
    for event in events:
        if isinstance(event, SessionStarted):
            session = []
        session.append(event)
    return session


def _actions(events: Iterable[Any]) -> List[str]:
    return [e.action_name for e in events if isinstance(e, ActionExecuted) and e.action_name]


def _moving_on(intent: str) -> bool:
    return intent not in CRISIS_FOLLOWUPS and concern_for(intent) in MOVING_ON


def _split_turns(events: Iterable[Any]) -> Tuple[List[Any], List[Any]]:
    """This session's events before the latest user message, and from it on."""
    session = _session(events)
    last_user = max((i for i, e in enumerate(session) if isinstance(e, UserUttered)), default=0)
    return session[:last_user], session[last_user:]


def _intents(events: Iterable[Any]) -> List[str]:
    return [e.intent_name for e in events if isinstance(e, UserUttered) and e.intent_name]


def _platforms(events: Iterable[Any]) -> List[str]:
    return [e.value for e in events if isinstance(e, SlotSet) and e.key == "platform" and e.value in PLATFORMS]


def _bot_message(message: Dict[str, Any]) -> BotMessage:
    buttons = tuple(
        Button(title=b.get("title", ""), payload=b.get("payload", ""))
        for b in message.get("buttons") or []
    )
    return BotMessage(text=message.get("text") or "", buttons=buttons)
