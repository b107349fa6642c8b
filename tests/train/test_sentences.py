import re

import pytest

pytest.importorskip("hibari")

from lightspeech_cli.train.sentences import generated_sentences, ordinal_digits  # noqa: E402


def test_ordinals():
    assert [ordinal_digits(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "111th",
    ]


def test_generated_sentences_are_readable():
    for sentence in generated_sentences(50, seed=3):
        assert sentence[0].isupper() and sentence[-1] in ".?!"
        for number, suffix in re.findall(r"\b(\d+)(st|nd|rd|th)\b", sentence):
            assert number + suffix == ordinal_digits(int(number))
