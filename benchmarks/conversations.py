"""The simulated young people's conversations: written for the benchmark, seeded, the same for every target.

A script is a list of abstract steps. The in-process engine run (benchmarks/engine_worker.py) plays each script
once and resolves it into concrete turns: which button gets pressed (by its index on the latest live keyboard, as a
young person taps it) and which messages the bot answers each turn with. Those resolved turns are then replayed
through Telegram and against stock `rasa run`, and every reply is checked against them (nothing lost, nothing out
of order).

The texts below were written for the benchmark (not copied from the training data or the held-out set): they only
need to look like what young people send, so that the model does the work it does in real use.
"""

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

OPENERS = ("hi", "hey", "hello", "hiya", "hi is anyone there", "hello?", "um hi", "hey can u help")
BURST_OPENERS = ("hello??", "are you there", "hi i need help", "pls help")

# (text, names an app?) -- the app word as young people type it.
APP_WORDS = {
    "snapchat": "snap",
    "instagram": "insta",
    "tiktok": "tiktok",
    "whatsapp": "whatsapp",
    "discord": "discord",
    "roblox": "roblox",
    "fortnite": "fortnite",
    "minecraft": "minecraft",
    "youtube": "youtube",
    "xbox": "xbox",
}
CONCERNS_WITH_APP = (
    "someone on {app} keeps asking me for pics",
    "this guy i met on {app} wants me to send nudes",
    "a person on {app} said they will send my pics to everyone unless i pay them",
    "someone on {app} is threatening to post my photos",
    "my pic got shared on {app} and everyone has seen it",
    "someone sent me a nude on {app} and i didnt ask for it",
    "some random older guy keeps messaging me on {app}",
    "how do i block someone on {app}",
    "i sent a pic to someone on {app} and now i regret it",
    "theres an account on {app} posting a photo of me",
)
CONCERNS_WITHOUT_APP = (
    "someone keeps asking me to send pictures of myself",
    "a guy is threatening to share my photos unless i give him money",
    "i sent a nude to my boyfriend and now im scared he will show people",
    "my friend told me someone is blackmailing her with pics",
    "a stranger added me and keeps asking where i live",
    "someone shared a picture of me without my clothes on",
    "i got sent a naked picture and i dont know what to do",
    "i want to talk to a real person",
    "i feel like hurting myself",
    "what happens to what i type here",
    "someone online said they would come to my house",
    "i dont know what to do they have my pics",
)
FOLLOW_UPS = ("what do i do now", "ok", "what else can i do", "will i get in trouble", "ok what next")
THANKS = ("thanks", "thank you", "ok thank you", "thx", "ty that helps")
GOODBYES = ("bye", "ok bye", "goodbye", "cya")
APP_REPLY = ("its on {app}", "{app}", "it was on {app}", "on {app}")


# 100-word messages in the style of real young people's (a story, context first, the concern mid-way, a question at
# the end), written for the benchmark: the NLU of a long message reads it whole and sentence by sentence
# (bot/long_messages.py). Not taken from any evaluation set.
LONG_MESSAGES = (
    "hi so this is kind of hard to write but i dont really have anyone else to ask. it started last summer when i "
    "was playing a game online and this boy added me and we talked every night about school and music and stuff "
    "and he was really nice to me and said i was mature for my age. then he asked for my snap and after a few "
    "weeks he started asking for pictures and i said no but he kept going on about it and now he says if i dont "
    "send one he will tell everyone lies about me. what should i do",
    "my mum works nights so its usually just me and my little brother at home and i dont mind that much but "
    "lately things have been really bad at school as well because a group of girls keep messaging me on insta "
    "calling me names and i have stopped going to lunch. last night i just sat in my room for hours and i "
    "couldnt stop crying and i keep thinking everyone would be better off without me. i havent told my mum "
    "because she has enough going on and i dont want to worry her. is it normal to feel like this",
    "Hi, I'm 14 and I don't know if this is the right place to ask. A few months ago I sent a photo to my "
    "boyfriend at the time because he said he loved me and that he would delete it straight away. We broke up "
    "in September. Yesterday a girl in my form told me that it is going round a group chat and that loads of "
    "people in year 10 have seen it. I feel sick and I can't stop shaking. I haven't been in school today. "
    "Can it be taken down, and will the police get involved? Please reply.",
    "ok so my friend told me something at the weekend and she made me promise not to tell anyone but i cant stop "
    "thinking about it. theres this man she met on tiktok who says hes 17 but she saw his real profile and hes "
    "way older and he keeps buying her things and sending her money for her phone. now he wants to meet her in "
    "town on saturday and says she cant bring anyone. she thinks its romantic but it feels really wrong to me. "
    "i dont want to lose her as a friend. what should i do",
)


def all_texts() -> List[str]:
    """Every distinct message text the scripts can use (the NLU-only benchmark cycles through these)."""
    texts = list(OPENERS + BURST_OPENERS + FOLLOW_UPS + THANKS + GOODBYES + CONCERNS_WITHOUT_APP)
    for word in APP_WORDS.values():
        texts += [t.format(app=word) for t in CONCERNS_WITH_APP + APP_REPLY]
    return texts


def script(rng: random.Random) -> List[Tuple[Any, ...]]:
    """One young person's conversation as abstract steps:

    ("start",)              the /start command (Telegram) or the greeting it stands for
    ("text", s)             a typed message
    ("burst", s1, s2)       two messages sent at once, without waiting for the first answer
    ("press_app", app)      tap the app on the latest keyboard offering apps (or type the app if none is offered)
    ("press_any", k)        tap button k (modulo its size) of the latest live keyboard (or type a follow-up if none)
    """
    steps: List[Tuple[Any, ...]] = []
    app = rng.choice(sorted(APP_WORDS))
    opener = rng.random()
    if opener < 0.55:
        steps.append(("start",))
    elif opener < 0.85:
        steps.append(("text", rng.choice(OPENERS)))
    if rng.random() < 0.15:
        steps.append(("burst", rng.choice(BURST_OPENERS), rng.choice(CONCERNS_WITHOUT_APP)))
    elif rng.random() < 0.2 and steps:
        steps.append(("press_any", rng.randrange(11)))  # a concern from the greeting's menu
    elif rng.random() < 0.5:
        steps.append(("text", rng.choice(CONCERNS_WITH_APP).format(app=APP_WORDS[app])))
    else:
        steps.append(("text", rng.choice(CONCERNS_WITHOUT_APP)))
    roll = rng.random()
    if roll < 0.45:
        steps.append(("press_app", app))
    elif roll < 0.65:
        steps.append(("text", rng.choice(APP_REPLY).format(app=APP_WORDS[app])))
    if rng.random() < 0.35:
        steps.append(("press_any", rng.randrange(3)))
    if rng.random() < 0.3:
        steps.append(("text", rng.choice(FOLLOW_UPS)))
    if rng.random() < 0.7:
        steps.append(("text", rng.choice(THANKS)))
    if rng.random() < 0.4:
        steps.append(("text", rng.choice(GOODBYES)))
    return steps


def scripts(count: int, seed: int = 6) -> List[List[Tuple[Any, ...]]]:
    """`count` conversations, the same ones for the same seed."""
    rng = random.Random(seed)
    return [script(rng) for _ in range(count)]


@dataclass
class Turn:
    """One message of a resolved conversation, and the bot's answer to it (message texts, in order).

    kind: "start", "text" or "press". `text` is what the engine gets ("/greet" for start, the payload for a press).
    `index` and `title` say which button of the latest live keyboard is pressed. `with_next`: the next turn is sent
    at the same moment, without waiting for this one's answer.
    """

    kind: str
    text: str
    expected: List[str] = field(default_factory=list)
    index: Optional[int] = None
    title: Optional[str] = None
    with_next: bool = False

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Dict[str, Any]) -> "Turn":
        return Turn(**data)


class Keyboards:
    """The live keyboards of one conversation: a pressed keyboard is gone (as the Telegram front end removes it)."""

    def __init__(self) -> None:
        self._live: List[List[Tuple[str, str]]] = []  # newest last; each a list of (title, payload)

    def add(self, buttons: Sequence[Tuple[str, str]]) -> None:
        if buttons:
            self._live.append(list(buttons))

    def press(self, want: Any) -> Optional[Tuple[int, str, str]]:
        """(index, title, payload) of the button to press on the latest live keyboard, and that keyboard goes."""
        if not self._live:
            return None
        keyboard = self._live[-1]
        if isinstance(want, str):  # an app
            payloads = [p for _, p in keyboard]
            wanted = f'/inform_platform{{"platform":"{want}"}}'
            if wanted not in payloads:
                return None
            index = payloads.index(wanted)
        else:
            index = want % len(keyboard)
        self._live.pop()
        title, payload = keyboard[index]
        return index, title, payload


def resolve_step(step: Tuple[Any, ...], keyboards: Keyboards) -> List[Turn]:
    """The concrete turn(s) of one abstract step, given the conversation's live keyboards."""
    kind = step[0]
    if kind == "start":
        return [Turn("start", "/greet")]
    if kind == "text":
        return [Turn("text", step[1])]
    if kind == "burst":
        return [Turn("text", step[1], with_next=True), Turn("text", step[2])]
    if kind == "press_app":
        pressed = keyboards.press(step[1])
        if pressed is None:
            return [Turn("text", APP_REPLY[0].format(app=APP_WORDS[step[1]]))]
    elif kind == "press_any":
        pressed = keyboards.press(step[1])
        if pressed is None:
            return [Turn("text", FOLLOW_UPS[0])]
    else:
        raise ValueError(f"unknown step {kind!r}")
    index, title, payload = pressed
    return [Turn("press", payload, index=index, title=title)]
