"""What the module reads for speech-dispatcher's messages, as SSML for the synthesizer:

    SPEAK        the SSML speech-dispatcher sends, its text rewritten for the punctuation
                 mode (some, most, all: the marks named) and spelling mode (letter by letter)
    CHAR         one character: a letter or digit spelled, a mark named, "space"; a capital
                 announced ("capital") when capital-letter recognition says spell
    KEY          a key name: modifiers joined by "_" (shift_a, control_alt_delete), named keys
                 (kp-enter, f5, prior) in words
    SOUND_ICON   no words: a short tone

and how speech-dispatcher's settings, -100 to 100, map to the synthesizer's controls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ..runtime.synthesizer import CONTROL_RANGE, Controls

# Mark -> its name, and the punctuation modes that name it (speech-dispatcher's "some" is
# the marks of no grammatical use; "most" adds those that are; "all" every one).
MARK_NAMES = {
    "#": ("number sign", "some"),
    "$": ("dollar", "some"),
    "%": ("percent", "some"),
    "&": ("and sign", "some"),
    "*": ("star", "some"),
    "+": ("plus", "some"),
    "/": ("slash", "some"),
    "<": ("less than", "some"),
    "=": ("equals", "some"),
    ">": ("greater than", "some"),
    "@": ("at", "some"),
    "\\": ("backslash", "some"),
    "^": ("caret", "some"),
    "_": ("underscore", "some"),
    "|": ("bar", "some"),
    "~": ("tilde", "some"),
    "`": ("grave", "some"),
    '"': ("quote", "most"),
    "(": ("left paren", "most"),
    ")": ("right paren", "most"),
    "[": ("left bracket", "most"),
    "]": ("right bracket", "most"),
    "{": ("left brace", "most"),
    "}": ("right brace", "most"),
    "-": ("dash", "most"),
    ";": ("semicolon", "most"),
    ":": ("colon", "most"),
    "'": ("apostrophe", "all"),
    ",": ("comma", "all"),
    ".": ("period", "all"),
    "!": ("exclamation", "all"),
    "?": ("question", "all"),
}
MODES = ("none", "some", "most", "all")
KEY_NAMES = {
    "alt": "alt",
    "control": "control",
    "hyper": "hyper",
    "meta": "meta",
    "shift": "shift",
    "super": "super",
    "backspace": "backspace",
    "break": "break",
    "delete": "delete",
    "down": "down",
    "end": "end",
    "enter": "enter",
    "escape": "escape",
    "home": "home",
    "insert": "insert",
    "left": "left",
    "menu": "menu",
    "next": "page down",
    "num-lock": "num lock",
    "pause": "pause",
    "print": "print screen",
    "prior": "page up",
    "return": "return",
    "right": "right",
    "scroll-lock": "scroll lock",
    "space": "space",
    "tab": "tab",
    "up": "up",
    "window": "windows",
    "underscore": "underscore",
    "double-quote": "double quote",
}
SOUND_ICON_SECONDS = 0.08
TAG = re.compile(r"<[^>]*>")


@dataclass
class Settings:
    """What speech-dispatcher sets before each message (SET): numbers from -100 to 100."""

    rate: int = 0
    pitch: int = 0
    volume: int = 100
    punctuation_mode: str = "none"
    spelling_mode: bool = False
    cap_let_recogn: str = "none"
    language: str | None = None
    synthesis_voice: str | None = None

    def update(self, values: dict[str, str]) -> None:
        """Apply a SET block's key=value lines; a value out of range is a ValueError."""
        for key, value in values.items():
            if key in ("rate", "pitch", "volume"):
                number = int(value)
                if not -100 <= number <= 100:
                    raise ValueError(f"{key}={value} is not from -100 to 100")
                setattr(self, key, number)
            elif key == "punctuation_mode":
                if value not in MODES:
                    raise ValueError(f"punctuation_mode={value}")
                self.punctuation_mode = value
            elif key == "spelling_mode":
                self.spelling_mode = value == "on"
            elif key == "cap_let_recogn":
                self.cap_let_recogn = value
            elif key in ("language", "synthesis_voice"):
                setattr(self, key, None if value in ("NULL", "") else value)
            # voice (male1, female2...) and pitch_range have no counterpart in one trained voice

    def controls(self) -> Controls:
        """rate 0 is the voice's own speed, 100 three times it, -100 a third; pitch spans an
        octave around the voice's own (which it follows from about 0.9 to 1.4); volume 100,
        speech-dispatcher's default, is the voice's own loudness, 0 silence."""
        low, high = CONTROL_RANGE
        speed = min(max(3.0 ** (self.rate / 100), low), high)
        return Controls(speed=speed, pitch=2.0 ** (self.pitch / 200), volume=(self.volume + 100) / 200)


def speak_ssml(ssml: str, settings: Settings) -> str:
    """A SPEAK message's SSML with its text read as the punctuation and spelling modes ask."""
    if settings.spelling_mode:

        def spelled(text: str) -> str:
            return f'<say-as interpret-as="characters">{text}</say-as>' if text.strip() else text

        return _text_parts(ssml, spelled)
    if settings.punctuation_mode != "none":
        level = MODES.index(settings.punctuation_mode)

        def named(text: str) -> str:
            # The text is escaped SSML: &lt; &gt; &amp; stand for < > &.
            plain = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            spoken = "".join(
                f" {MARK_NAMES[c][0]} " if c in MARK_NAMES and MODES.index(MARK_NAMES[c][1]) <= level else c
                for c in plain
            )
            return escape(spoken)

        return _text_parts(ssml, named)
    return ssml


def _text_parts(ssml: str, change: Callable[[str], str]) -> str:
    """`ssml` with `change` applied to the text between its tags."""
    parts, position = [], 0
    for tag in TAG.finditer(ssml):
        parts += [change(ssml[position : tag.start()]), tag.group()]
        position = tag.end()
    parts.append(change(ssml[position:]))
    return "".join(parts)


def char_ssml(char: str, settings: Settings) -> str:
    """What a CHAR message says: "space", a mark's name, or the character spelled ("capital"
    first, for a capital letter, where capital-letter recognition says spell)."""
    if char == "space":
        return "<speak>space</speak>"
    if len(char) == 1 and char in MARK_NAMES:
        return f"<speak>{escape(MARK_NAMES[char][0])}</speak>"
    capital = "capital " if settings.cap_let_recogn == "spell" and char.isupper() else ""
    return f'<speak>{capital}<say-as interpret-as="characters">{escape(char)}</say-as></speak>'


def key_ssml(key: str, settings: Settings) -> str:
    """What a KEY message says: its modifiers, then the key (a character as CHAR reads it)."""
    *modifiers, last = key.split("_") if key not in ("_", "underscore") else [key]
    words = [KEY_NAMES.get(modifier, modifier) for modifier in modifiers]
    if len(last) == 1:
        spelled = char_ssml(last, settings).removeprefix("<speak>").removesuffix("</speak>")
        return f"<speak>{escape(' '.join(words))} {spelled}</speak>".replace("<speak> ", "<speak>")
    if last.startswith("kp-"):
        rest = last[3:]
        named = KEY_NAMES.get(rest, MARK_NAMES.get(rest, (rest, ""))[0] if len(rest) == 1 else rest)
        words += ["keypad", named]
    elif re.fullmatch(r"f[0-9]{1,2}", last):
        words.append(f"F {last[1:]}")
    else:
        words.append(KEY_NAMES.get(last, last.replace("-", " ")))
    return f"<speak>{escape(' '.join(words))}</speak>"
