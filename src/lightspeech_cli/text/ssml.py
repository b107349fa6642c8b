"""SSML in: runs of text with prosody, pauses and sentence boundaries out.

    <speak>                              the document
    <p>, <s>                             a paragraph (a pause after it) and a sentence
    <break time="500ms" strength="strong"/>          at most 10 s each, 10 minutes of pauses per document
    <prosody rate="slow|80%|+20%" pitch="high|+10%|-2st" volume="loud|+6dB">
    <emphasis level="strong|moderate|reduced|none">   read as a change of prosody
    <say-as interpret-as="characters|spell-out|cardinal|number|ordinal|date|time|telephone" format="mdy">
    <phoneme alphabet="arpabet|ipa" ph="...">         IPA is mapped to the voice's ARPAbet
    <sub alias="...">

Any other element is skipped (its text is read) with a warning, as is a value that is not
one of the element's. A number beyond what lightspeech can do is clamped to it (rate="1000%"
is 4, a break of 90s is 10 s); one that is no finite number ("nan", "inf", "1e999") is an
InputError. Parsed by defusedxml: no DTD, no entity expansion, so a document cannot make the
parser blow up or read files.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Callable

from ..errors import InputError
from ..paths import shown
from .g2p import LETTER_NAMES
from .normalize import DIGIT_WORDS, MONTHS, cardinal, digits, expand_times, is_date, number, ordinal, year
from .speech import BYTE_ORDER_MARK, Boundary, Mark, Pause, Prosody, Run

PARAGRAPH_PAUSE = 0.5
MAX_BREAK_SECONDS = 10.0
# All the pauses of one document together (breaks and paragraph ends): a document of
# nothing but breaks would otherwise stream hours of silence.
MAX_DOCUMENT_PAUSE_SECONDS = 600.0
# Elements inside elements: real documents nest a handful deep; the walk recurses, so a
# document nested thousands deep would otherwise end in a RecursionError.
MAX_DEPTH = 100
BREAK_STRENGTHS = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7, "x-strong": 1.2}
RATES = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
PITCHES = {"x-low": 0.8, "low": 0.9, "medium": 1.0, "default": 1.0, "high": 1.1, "x-high": 1.2}
VOLUMES = {"silent": 0.0, "x-soft": 0.35, "soft": 0.6, "medium": 1.0, "default": 1.0, "loud": 1.4, "x-loud": 1.8}
EMPHASIS = {
    "strong": Prosody(0.85, 1.1, 1.3),
    "moderate": Prosody(0.9, 1.05, 1.15),
    "reduced": Prosody(1.1, 0.95, 0.85),
    "none": Prosody(),
}
FACTOR_RANGE, VOLUME_RANGE = (0.25, 4.0), (0.0, 4.0)
# A number in a prosody or break value: SSML's decimals, and the exponents and names of
# infinity and nan that float() reads, so that those are refused rather than ignored.
UNSIGNED_NUMBER = r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|(?i:nan|inf(?:inity)?))"
NUMBER = r"[+-]?" + UNSIGNED_NUMBER

Warn = Callable[[str], None]
MAX_MARK_NAME = 200


def parse_ssml(text: str, warn: Warn | None = None) -> list[Run | Pause | Boundary | Mark]:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    document = text.strip().lstrip(BYTE_ORDER_MARK).lstrip()
    try:
        root = fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InputError("the SSML declares a DTD or entities, which lightspeech does not expand") from None
    except ParseError as e:
        raise InputError(f"the SSML is not well-formed XML: {e}") from None
    if _tag(root) != "speak":
        raise InputError(f"SSML must start with <speak>, not <{_tag(root)}>")
    if _depth(root) > MAX_DEPTH:
        raise InputError(f"the SSML nests elements more than {MAX_DEPTH} deep")
    items: list[Run | Pause | Boundary | Mark] = []
    _walk(root, Prosody(), items, warn or (lambda message: None))
    paused = sum(item.seconds for item in items if isinstance(item, Pause))
    if paused > MAX_DOCUMENT_PAUSE_SECONDS:
        raise InputError(
            f"the SSML asks for {paused / 60:.1f} minutes of pauses (<break> and paragraph ends); one "
            f"document may have at most {MAX_DOCUMENT_PAUSE_SECONDS / 60:g} minutes"
        )
    return items


def _depth(root) -> int:
    """How deep elements nest, counted without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


def _tag(element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _text(element) -> str:
    return "".join(element.itertext())


def _walk(element, prosody: Prosody, items: list, warn: Warn) -> None:
    """Append what `element` says (its text, its children, not its tail)."""
    if element.text:
        items.append(Run(element.text, prosody))
    for child in element:
        _element(child, prosody, items, warn)
        if child.tail:
            items.append(Run(child.tail, prosody))


def _element(element, prosody: Prosody, items: list, warn: Warn) -> None:
    tag = _tag(element)
    if tag == "break":
        items.append(Pause(_break_seconds(element, warn)))
    elif tag in ("p", "paragraph"):
        items.append(Boundary())
        _walk(element, prosody, items, warn)
        items.append(Pause(PARAGRAPH_PAUSE))
    elif tag in ("s", "sentence"):
        items.append(Boundary())
        _walk(element, prosody, items, warn)
        items.append(Boundary())
    elif tag == "prosody":
        _walk(element, _prosody(element, prosody, warn), items, warn)
    elif tag == "emphasis":
        level = element.get("level", "moderate")
        if level not in EMPHASIS:
            warn(f"<emphasis level={shown(level)}> is not one of {', '.join(EMPHASIS)}; read as moderate")
            level = "moderate"
        extra = EMPHASIS[level]
        _walk(element, _combined(prosody, extra.rate, extra.pitch, extra.volume), items, warn)
    elif tag == "say-as":
        items.append(Run(_say_as(element, warn), prosody))
    elif tag == "phoneme":
        items.append(Run(_phoneme(element), prosody))
    elif tag == "mark":
        items.append(Mark(_mark_name(element)))
    elif tag == "sub":
        alias = element.get("alias")
        if alias is None:
            warn("<sub> without alias: its text is read")
        items.append(Run(alias if alias is not None else _text(element), prosody))
    else:
        if tag != "speak":
            warn(f"<{tag}> is not supported; its text is read as it is")
        _walk(element, prosody, items, warn)


def _mark_name(element) -> str:
    """A mark's name, reported back as it is: printable text of at most MAX_MARK_NAME characters."""
    name = element.get("name")
    if name is None or not name or len(name) > MAX_MARK_NAME or not name.isprintable():
        raise InputError(
            f"<mark name={shown(name)}> needs a name of printable text, at most {MAX_MARK_NAME} characters"
        )
    return name


def _finite(written: str, where: str) -> float:
    """A number matched by NUMBER, as a float. nan, infinity and numbers beyond a float
    ("1e999", 400 digits) are an InputError naming `where`, not clamped: nan has no place in
    a range, and no one writes the others to mean the largest value."""
    number = float(written)
    if not math.isfinite(number):
        raise InputError(f"{where} is not a finite number (nan, infinity or beyond 1e308)")
    return number


def _power(base: float, exponent: float) -> float:
    """base ** exponent, or the largest float where that overflows ("+99999st"): the factor is
    clamped to the range afterwards, as a large percentage is."""
    try:
        return base**exponent
    except OverflowError:
        return sys.float_info.max


def _seconds(value: str) -> float | None:
    match = re.fullmatch(r"\s*(" + UNSIGNED_NUMBER + r")\s*(ms|s)\s*", value)
    if not match:
        return None
    seconds = _finite(match.group(1), f"<break time={shown(value)}>") / (1000 if match.group(2) == "ms" else 1)
    return min(seconds, MAX_BREAK_SECONDS)


def _break_seconds(element, warn: Warn) -> float:
    if element.get("time") is not None:
        seconds = _seconds(element.get("time"))
        if seconds is not None:
            return seconds
        warn(f"<break time={shown(element.get('time'))}> is not a time such as 500ms or 2s; a medium break is used")
    strength = element.get("strength", "medium")
    if strength not in BREAK_STRENGTHS:
        warn(f"<break strength={shown(strength)}> is not one of {', '.join(BREAK_STRENGTHS)}; a medium break is used")
        strength = "medium"
    return BREAK_STRENGTHS[strength]


def _relative(value: str, named: dict[str, float], semitones: bool, decibels: bool, where: str) -> float | None:
    """A factor from SSML's ways of saying one: a name, "150%", "+20%", "-2st", "+6dB", "1.5"."""
    value = value.strip()
    if value in named:
        return named[value]
    if match := re.fullmatch(r"([+-]?)(" + UNSIGNED_NUMBER + ")%", value):
        amount = _finite(match.group(2), where) / 100
        return 1 + amount if match.group(1) == "+" else 1 - amount if match.group(1) == "-" else amount
    if semitones and (match := re.fullmatch("(" + NUMBER + ")st", value)):
        return _power(2, _finite(match.group(1), where) / 12)
    if decibels and (match := re.fullmatch("(" + NUMBER + ")dB", value)):
        return _power(10, _finite(match.group(1), where) / 20)
    if re.fullmatch(UNSIGNED_NUMBER, value):
        return _finite(value, where)
    return None


def _prosody(element, prosody: Prosody, warn: Warn) -> Prosody:
    factors = {}
    for attribute, named, semitones, decibels in (
        ("rate", RATES, False, False),
        ("pitch", PITCHES, True, False),
        ("volume", VOLUMES, False, True),
    ):
        value = element.get(attribute)
        if value is None:
            continue
        where = f"<prosody {attribute}={shown(value)}>"
        factor = _relative(value, named, semitones, decibels, where)
        if factor is None:
            warn(f"{where} is not understood; ignored")
            continue
        factors[attribute] = factor
    return _combined(prosody, factors.get("rate", 1.0), factors.get("pitch", 1.0), factors.get("volume", 1.0))


def _combined(prosody: Prosody, rate: float, pitch: float, volume: float) -> Prosody:
    def clamp(value, bounds):
        return min(max(value, bounds[0]), bounds[1])

    return Prosody(
        clamp(prosody.rate * rate, FACTOR_RANGE),
        clamp(prosody.pitch * pitch, FACTOR_RANGE),
        clamp(prosody.volume * volume, VOLUME_RANGE),
    )


# --- say-as --------------------------------------------------------------------------------


def _say_as(element, warn: Warn) -> str:
    kind = (element.get("interpret-as") or "").lower()
    text = _text(element).strip()
    if kind in ("characters", "spell-out", "verbatim"):
        return _characters(text)
    if kind in ("cardinal", "number"):
        return _cardinal(text, warn)
    if kind == "ordinal":
        found = re.fullmatch(r"\s*(\d{1,15})(?:st|nd|rd|th)?\s*", text)
        if found:
            return ordinal(int(found.group(1)))
        warn(f"<say-as interpret-as='ordinal'> needs a whole number, not {text[:30]!r}; read as it is")
        return text
    if kind == "date":
        iso = re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", text)  # 2026-11-25 needs no format
        return _date(text, (element.get("format") or ("ymd" if iso else "mdy")).lower(), warn)
    if kind == "time":
        return expand_times(re.sub(r"\s*([AaPp])\.?\s*[Mm]\.?$", r" \1M", text))
    if kind == "telephone":
        groups = re.findall(r"\d+", text)
        return ", ".join(digits(group) for group in groups) if groups else text
    warn(f"<say-as interpret-as={shown(kind)}> is not supported; its text is read as it is")
    return text


def _characters(text: str) -> str:
    """Each character on its own: letters by name (as inline phonemes, so "A" is never
    the article), digits as words; anything else is dropped."""
    spoken = []
    for character in text:
        if character.upper() in LETTER_NAMES and character.isascii():
            spoken.append(f"[[{LETTER_NAMES[character.upper()]}]]")
        elif character.isdigit() and character.isascii():
            spoken.append(DIGIT_WORDS[int(character)])
    return " ".join(spoken)


def _cardinal(text: str, warn: Warn) -> str:
    cleaned = text.replace(",", "").strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", cleaned) and len(cleaned) < 40:
        return number(cleaned)
    warn(f"<say-as interpret-as='cardinal'> needs a number, not {text[:30]!r}; read as it is")
    return text


def _date(text: str, date_format: str, warn: Warn) -> str:
    # No day, month or year has more than four digits past its leading zeros; and int()
    # refuses more than 4300, zeros included.
    significant = [part.lstrip("0") or "0" for part in re.findall(r"\d+", text)]
    if any(len(part) > 4 for part in significant):
        warn(f"<say-as interpret-as='date'>: {text[:30]!r} is not a date; read as it is")
        return text
    fields = [int(part) for part in significant]
    order = [c for c in date_format if c in "dmy"]
    if len(fields) != len(order) or len(set(order)) != len(order) or not order:
        warn(f"<say-as interpret-as='date' format={shown(date_format)}> does not fit {text[:30]!r}; read as it is")
        return text
    value = dict(zip(order, fields, strict=True))
    if not (is_date(value.get("m", 1), value.get("d", 1), value.get("y")) and 0 <= value.get("y", 2000) <= 9999):
        warn(f"<say-as interpret-as='date'>: {text[:30]!r} is not a date; read as it is")
        return text
    words = []
    if "m" in value:
        words.append(MONTHS[value["m"] - 1])
    if "d" in value:
        words.append(ordinal(value["d"]) if "m" in value else f"the {ordinal(value['d'])}")
    if "y" in value:
        year_words = year(value["y"]) if value["y"] >= 100 else cardinal(value["y"])
        words.append(("," if len(words) > 1 else "") + " " + year_words if words else year_words)
    return " ".join(w for w in words if w).replace(" ,", ",").strip()


# --- phoneme -------------------------------------------------------------------------------

# IPA -> ARPAbet, longest symbols first; vowels carry the stress the IPA marks before them.
IPA_VOWELS = {
    "aɪ": "AY",
    "aʊ": "AW",
    "eɪ": "EY",
    "oʊ": "OW",
    "əʊ": "OW",
    "ɔɪ": "OY",
    "ɝ": "ER",
    "ɜɹ": "ER",
    "ɜr": "ER",
    "ɜ": "ER",
    "ɚ": "ER",
    "ɑ": "AA",
    "ɒ": "AA",
    "æ": "AE",
    "ʌ": "AH",
    "ə": "AH",
    "ɔ": "AO",
    "ɛ": "EH",
    "e": "EH",
    "ɪ": "IH",
    "i": "IY",
    "ʊ": "UH",
    "u": "UW",
    "o": "OW",
    "a": "AA",
}
IPA_CONSONANTS = {
    "tʃ": "CH",
    "t͡ʃ": "CH",
    "ʧ": "CH",
    "dʒ": "JH",
    "d͡ʒ": "JH",
    "ʤ": "JH",
    "ʃ": "SH",
    "ʒ": "ZH",
    "θ": "TH",
    "ð": "DH",
    "ŋ": "NG",
    "j": "Y",
    "ɹ": "R",
    "r": "R",
    "ɾ": "T",
    "ɡ": "G",
    "g": "G",
    "b": "B",
    "d": "D",
    "f": "F",
    "h": "HH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "p": "P",
    "s": "S",
    "t": "T",
    "v": "V",
    "w": "W",
    "z": "Z",
}
IPA_IGNORED = set("ː ˑ.‿") | {"\u0329", "\u032f"}


def ipa_to_arpabet(ipa: str) -> list[str]:
    """IPA as the voice's ARPAbet with stress; a symbol it cannot map is an InputError."""
    symbols = sorted({**IPA_VOWELS, **IPA_CONSONANTS}, key=len, reverse=True)
    phones, stress, position = [], "0", 0
    while position < len(ipa):
        character = ipa[position]
        if character in "ˈ'":
            stress, position = "1", position + 1
            continue
        if character in "ˌ,":
            stress, position = "2", position + 1
            continue
        if character in IPA_IGNORED:
            position += 1
            continue
        match = next((s for s in symbols if ipa.startswith(s, position)), None)
        if match is None:
            raise InputError(
                f"<phoneme alphabet='ipa'>: cannot map {character!r} in {ipa[:40]!r} to this voice's "
                "phonemes; write them in ARPAbet with alphabet='arpabet'"
            )
        if match in IPA_VOWELS:
            vowel = IPA_VOWELS[match]
            if match in ("ʌ", "ɝ") and stress == "0":
                stress = "1"  # these are the stressed forms of ə and ɚ
            phones.append(vowel + stress)
            stress = "0"
        else:
            phones.append(IPA_CONSONANTS[match])
        position += len(match)
    return phones


def _phoneme(element) -> str:
    alphabet = (element.get("alphabet") or "arpabet").lower()
    ph = element.get("ph")
    if ph is None:
        raise InputError("<phoneme> needs a ph attribute")
    if alphabet in ("arpabet", "x-arpabet", "cmu"):
        phones = ph.replace(",", " ").split()
    elif alphabet == "ipa":
        phones = ipa_to_arpabet(ph.replace(" ", ""))
    else:
        raise InputError(f"<phoneme alphabet={shown(alphabet)}> is not supported; use arpabet or ipa")
    return f"[[{' '.join(phones)}]]"
