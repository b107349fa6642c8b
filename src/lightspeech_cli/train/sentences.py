"""Training text: English quotes from Debian's `fortunes` package, plus generated
sentences that make the teacher read numbers, dates, money and times, as users' text will."""

from __future__ import annotations

import random
import re
from pathlib import Path

FORTUNES = Path("/usr/share/games/fortunes")
SKIPPED_FILES = {"art", "ascii-art", "linuxcookie", "perl", "startrek", "zippy"}  # pictures, code, jargon


def fortune_sentences(folder: Path = FORTUNES) -> list[str]:
    """Sentences of 4 to 30 words, mostly letters, each once."""
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
                if not 4 <= len(words) <= 30 or letters < 0.7 * len(sentence):
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
    """Sentences full of what the normalizer expands: numbers, money, dates, times, units."""
    rng = random.Random(seed)
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]
    names = ["Anna", "Doctor Patel", "Mr. Jones", "Ms. Garcia", "our neighbor", "the driver", "my sister",
             "Professor Lee", "the new manager", "a quiet student"]
    templates = [
        lambda: f"{rng.choice(names)} paid ${rng.randint(1, 9999):,}.{rng.randint(0, 99):02d} for {rng.randint(2, 40)} books.",
        lambda: f"The meeting moved to {rng.choice(months)} {rng.randint(1, 28)}, {rng.randint(1950, 2040)} at "
                f"{rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45', '05'])} {rng.choice(['am', 'pm'])}.",
        lambda: f"About {rng.randint(2, 99)}% of the {rng.randint(100, 99999):,} voters came before {rng.randint(5, 11)} pm.",
        lambda: f"It is {rng.randint(2, 500)} km from here, and the truck weighs {rng.randint(2, 90)} kg more than ours.",
        lambda: f"Call {rng.choice(names)} at {rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)} "
                f"before the {ordinal_digits(rng.randint(1, 31))}.",
        lambda: f"In {rng.randint(1800, 2030)}, the town had {rng.randint(1000, 9000000):,} people and {rng.randint(2, 60)} schools.",
        lambda: f"The price rose from €{rng.randint(1, 99)} to £{rng.randint(100, 999)} in {rng.randint(2, 12)} years.",
        lambda: f"Room {rng.randint(100, 999)} is on the {ordinal_digits(rng.randint(2, 40))} floor, {rng.randint(2, 90)} meters up.",
        lambda: f"Is the temperature really {rng.randint(-20, 45)} degrees, or is it {rng.randint(2, 9)}.{rng.randint(1, 9)} more?",
        lambda: f"Wow, {rng.choice(names)} finished {rng.randint(2, 20)} of the {rng.randint(21, 99)} puzzles on "
                f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2000, 2030)}!",
    ]
    sentences = (rng.choice(templates)() for _ in range(count))
    return [s[0].upper() + s[1:] for s in sentences]


def training_sentences(count: int, seed: int = 0) -> list[str]:
    """`count` sentences: about one in six generated, the rest quotes, shuffled with `seed`."""
    rng = random.Random(seed)
    quotes = fortune_sentences() if FORTUNES.is_dir() else []
    generated = generated_sentences(max(count // 6, count - len(quotes)), seed)
    chosen = rng.sample(quotes, min(len(quotes), count - len(generated))) + generated
    rng.shuffle(chosen)
    return chosen[:count]
