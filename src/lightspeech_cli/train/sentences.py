"""Training text: English quotes from Debian's `fortunes` package, plus generated
sentences that make the teacher read numbers, dates, money and times, as users' text will."""

from __future__ import annotations

import random
import re
from pathlib import Path

from ..text.normalize import MONTHS

FORTUNES = Path("/usr/share/games/fortunes")
SKIPPED_FILES = {"art", "ascii-art", "linuxcookie", "perl", "startrek", "zippy"}  # pictures, code, jargon
LONGEST_QUOTE = 45  # words: long sentences teach the model to keep its breath and pitch over a clause chain


def fortune_sentences(folder: Path = FORTUNES) -> list[str]:
    """Sentences of 4 to 45 words, mostly letters, each once."""
    seen, sentences = set(), []
    for path in sorted(folder.iterdir()):
        if path.suffix or path.name in SKIPPED_FILES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        for entry in text.split("\n%\n"):
            if re.search(r"\n\s*--|^\s{4,}", entry):  # attributions and indented verse
                entry = re.split(r"\n\s*--", entry)[0]
            flat = " ".join(entry.split())
            for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", flat):
                words = sentence.split()
                letters = sum(c.isalpha() for c in sentence)
                if not 4 <= len(words) <= LONGEST_QUOTE or letters < 0.7 * len(sentence):
                    continue
                if not sentence[0].isupper() or sentence[-1] not in ".!?" or re.search(r"[<>{}|\\_=*^~#]", sentence):
                    continue
                key = sentence.lower()
                if key not in seen:
                    seen.add(key)
                    sentences.append(sentence)
    return sentences


def ordinal_digits(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def generated_sentences(count: int, seed: int = 0) -> list[str]:
    """Sentences the quotes rarely hold: numbers, money, dates, times and units (what the
    normalizer expands), questions of every kind, lists, and long chained sentences."""
    rng = random.Random(seed)
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    names = [
        "Anna",
        "Doctor Patel",
        "Mr. Jones",
        "Ms. Garcia",
        "our neighbor",
        "the driver",
        "my sister",
        "Professor Lee",
        "the new manager",
        "a quiet student",
        "Oliver",
        "Grandma Rose",
        "Yusuf",
        "Chloe",
    ]
    things = [
        "keys",
        "tickets",
        "apples",
        "batteries",
        "blue folders",
        "old photographs",
        "spare tires",
        "letters",
        "umbrellas",
        "garden tools",
        "chess pieces",
        "pencils",
        "cookbooks",
        "candles",
        "paper cups",
    ]
    places = [
        "the kitchen",
        "the station",
        "the library",
        "the garage",
        "the office",
        "the market",
        "the harbor",
        "the museum",
        "the back yard",
        "the hospital",
        "the bakery",
        "the airport",
    ]
    verbs = [
        "fixed the fence",
        "cleaned the windows",
        "called the bank",
        "painted the door",
        "walked the dog",
        "read the report",
        "baked some bread",
        "watered the plants",
        "paid the bills",
        "packed the car",
    ]

    def several(pool: list[str], n: int) -> str:
        chosen = rng.sample(pool, n)
        return ", ".join(chosen[:-1]) + ", and " + chosen[-1]

    templates = [
        lambda: (
            f"{rng.choice(names)} paid ${rng.randint(1, 9999):,}.{rng.randint(0, 99):02d} "
            f"for {rng.randint(2, 40)} books."
        ),
        lambda: (
            f"The meeting moved to {rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(1950, 2040)} at "
            f"{rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45', '05'])} {rng.choice(['am', 'pm'])}."
        ),
        lambda: (
            f"About {rng.randint(2, 99)}% of the {rng.randint(100, 99999):,} voters "
            f"came before {rng.randint(5, 11)} pm."
        ),
        lambda: (
            f"It is {rng.randint(2, 500)} km from here, and the truck weighs {rng.randint(2, 90)} kg more than ours."
        ),
        lambda: (
            f"Call {rng.choice(names)} at {rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)} "
            f"before the {ordinal_digits(rng.randint(1, 31))}."
        ),
        lambda: (
            f"In {rng.randint(1800, 2030)}, the town had {rng.randint(1000, 9000000):,} people "
            f"and {rng.randint(2, 60)} schools."
        ),
        lambda: f"The price rose from €{rng.randint(1, 99)} to £{rng.randint(100, 999)} in {rng.randint(2, 12)} years.",
        lambda: (
            f"Room {rng.randint(100, 999)} is on the {ordinal_digits(rng.randint(2, 40))} floor, "
            f"{rng.randint(2, 90)} meters up."
        ),
        lambda: (
            f"Is the temperature really {rng.randint(-20, 45)} degrees, "
            f"or is it {rng.randint(2, 9)}.{rng.randint(1, 9)} more?"
        ),
        lambda: (
            f"Wow, {rng.choice(names)} finished {rng.randint(2, 20)} of the {rng.randint(21, 99)} puzzles on "
            f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2000, 2030)}!"
        ),
        # questions: yes/no, wh-, choice and tag questions end in different tunes
        lambda: f"Did {rng.choice(names)} leave the {rng.choice(things)} in {rng.choice(places)}?",
        lambda: f"Where did {rng.choice(names)} put the {rng.choice(things)} on {rng.choice(days)}?",
        lambda: f"How many {rng.choice(things)} are left in {rng.choice(places)}, and who counted them?",
        lambda: f"Would you rather meet at {rng.choice(places)} or at {rng.choice(places)}?",
        lambda: f"Why hasn't {rng.choice(names)} {rng.choice(verbs)} yet?",
        lambda: f"{rng.choice(names)} {rng.choice(verbs)} this morning, didn't they?",
        lambda: f"Can you tell me what time {rng.choice(places)} opens on {rng.choice(days)}?",
        # lists
        lambda: f"Please bring {several(things, rng.randint(3, 5))} to {rng.choice(places)}.",
        lambda: f"On {rng.choice(days)}, {rng.choice(names)} {several(verbs, 3)}.",
        lambda: f"We visited {several(places, 4)} in {rng.randint(2, 9)} days.",
        # long sentences: clauses chained with commas and conjunctions
        lambda: (
            f"When {rng.choice(names)} came back from {rng.choice(places)} on {rng.choice(days)} evening, the "
            f"{rng.choice(things)} were gone, the lights were off, and nobody in {rng.choice(places)} could say "
            f"who had {rng.choice(verbs)} while everyone else was away."
        ),
        lambda: (
            f"Although {rng.choice(names)} had {rng.choice(verbs)} and {rng.choice(verbs)} before noon, there were "
            f"still {rng.randint(3, 30)} {rng.choice(things)} waiting in {rng.choice(places)}, so the rest of "
            f"{rng.choice(days)} went to sorting them."
        ),
        # more number shapes
        lambda: (
            f"The recipe needs {rng.randint(2, 9)}.{rng.randint(1, 9)} liters of water and {rng.randint(100, 900)} "
            f"grams of flour, which is {rng.randint(2, 12)} cups."
        ),
        lambda: (
            f"Flight {rng.randint(10, 999)} leaves from gate {rng.randint(1, 60)} at {rng.randint(1, 12)}:"
            f"{rng.randint(10, 59)} and lands {rng.randint(2, 14)} hours later."
        ),
        lambda: (
            f"The company earned ${rng.randint(2, 90)} million in {rng.randint(1990, 2030)}, up {rng.randint(2, 60)}% "
            f"from the year before."
        ),
        lambda: (
            f"Chapter {rng.randint(2, 40)} starts on page {rng.randint(10, 900)}, right after the "
            f"{ordinal_digits(rng.randint(2, 30))} drawing."
        ),
    ]
    sentences = (rng.choice(templates)() for _ in range(count))
    return [s[0].upper() + s[1:] for s in sentences]


def training_sentences(count: int, seed: int = 0, exclude: frozenset[str] = frozenset()) -> list[str]:
    """`count` sentences: about one in six generated, the rest quotes, shuffled with `seed`;
    none of `exclude` (the held-out sentences) among them."""
    rng = random.Random(seed)
    quotes = [q for q in fortune_sentences() if q not in exclude] if FORTUNES.is_dir() else []
    generated = generated_sentences(max(count // 6, count - len(quotes)), seed)
    generated = [g for g in generated if g not in exclude]
    chosen = rng.sample(quotes, min(len(quotes), count - len(generated))) + generated
    rng.shuffle(chosen)
    return chosen[:count]
