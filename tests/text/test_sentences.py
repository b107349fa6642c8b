import time

import pytest

from lightspeech_cli.text import frontend
from lightspeech_cli.text.sentences import sentence_spans


def split_into_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.exact
@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "Ask James T. Kirk and J. R. R. Tolkien about it. Then go.",
            ["Ask James T. Kirk and J. R. R. Tolkien about it.", "Then go."],
        ),
        (
            "The U.S. Army is big. I live in the U.S. It is big.",
            ["The U.S. Army is big.", "I live in the U.S.", "It is big."],
        ),
        ("She has a Ph.D. in physics. He does not.", ["She has a Ph.D. in physics.", "He does not."]),
        ("I saw plan B. Then I left.", ["I saw plan B.", "Then I left."]),
        ("It was J. Edgar Hoover. He left.", ["It was J. Edgar Hoover.", "He left."]),
        (
            "Dr. Smith met Mr. Jones vs. Mrs. Lee on Nov. 25 at No. 5.",
            ["Dr. Smith met Mr. Jones vs. Mrs. Lee on Nov. 25 at No. 5."],
        ),
        ("He lives on Main St. He met St. Patrick.", ["He lives on Main St.", "He met St. Patrick."]),
        ("cats, e.g. tabbies, etc. The end", ["cats, e.g. tabbies, etc.", "The end"]),
        ("Version 2.0 is out. Get v2.1 now.", ["Version 2.0 is out.", "Get v2.1 now."]),
        ("Python 3.12.1 is out. Version 2.0.1 too.", ["Python 3.12.1 is out.", "Version 2.0.1 too."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Wait... what? Yes!", ["Wait... what?", "Yes!"]),
        ("Para one\n\npara two", ["Para one", "para two"]),
        ("no capital. after this", ["no capital. after this"]),
    ],
)
def test_sentence_ends(text, sentences):
    assert split_into_sentences(text) == sentences


@pytest.mark.exact
def test_the_splitter_then_the_normalizer_read_initials_and_abbreviations():
    texts = [s.text for s in frontend("Ask James T. Kirk and J. R. R. Tolkien. The U.S. Army is big.")]
    assert texts == ["Ask James T Kirk and J R R Tolkien.", "The U S Army is big."]


@pytest.mark.exact
def test_the_dots_of_a_version_never_end_a_sentence():
    texts = [s.text for s in frontend("Python 3.12.1 is out. Get version 2.0.1 now.")]
    assert texts == ["Python three point twelve point one is out.", "Get version two point oh point one now."]


@pytest.mark.exact
@pytest.mark.parametrize("hostile", ["1. 2. 3. " * 2000, "Mr. " * 5000, "A. " * 5000, "a" * 100_000, "." * 50_000])
def test_splitting_is_linear_on_hostile_input(hostile):
    started = time.perf_counter()
    split_into_sentences(hostile)
    assert time.perf_counter() - started < 1.0  # pysbd takes 17 s on the first
