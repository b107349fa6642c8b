"""Cutting normalized text into the pieces a model reads (text/chunks.py): at sentence ends,
then commas, then spaces, then anywhere."""

import pytest

from lightspeech_cli.text.chunks import sentence_chunks


@pytest.mark.exact
def test_long_sentences_are_chunked_at_commas_then_spaces():
    sentence = ", ".join(["the quick brown fox jumps over the lazy dog"] * 20) + "."
    chunks = [sentence[a:b] for a, b in sentence_chunks(sentence, max_chars=100)]
    assert all(len(c) <= 100 for c in chunks)
    assert " ".join(chunks).replace(", ", " ").split() == sentence.replace(",", "").split()
    unbroken = "a" * 1000
    assert [unbroken[a:b] for a, b in sentence_chunks(unbroken, max_chars=300)] == ["a" * 300] * 3 + ["a" * 100]


@pytest.mark.exact
@pytest.mark.parametrize(
    "text, max_chars, pieces",
    [
        ("Hello.  ", 300, ["Hello."]),
        ("One. Two! Three?", 300, ["One.", "Two!", "Three?"]),
        ("a, b, c, d", 4, ["a, b", "c, d"]),  # commas first
        ("aaaa bbbb cccc", 9, ["aaaa bbbb", "cccc"]),  # then spaces
        ("aaaa bbbb", 9, ["aaaa bbbb"]),  # exactly at the limit: one piece
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),  # one unbroken token: cut
        ("aa, bbbbbbbbbb", 6, ["aa", "bbbbbb", "bbbb"]),  # a piece still too long after the commas: spaces, then cuts
        ("aaaa  bbbb", 4, ["aaaa", "bbbb"]),  # two spaces in a row (inline phonemes keep them): no empty piece
    ],
)
def test_sentences_are_chunked_at_sentence_ends_commas_spaces_then_anywhere(text, max_chars, pieces):
    assert [text[a:b] for a, b in sentence_chunks(text, max_chars)] == pieces
    assert all(len(piece) <= max_chars for piece in pieces)


@pytest.mark.exact
def test_chunks_are_spans_of_the_text():
    assert sentence_chunks("One. Two.") == [(0, 4), (5, 9)]
    assert sentence_chunks("  One.   Two.  ") == [(2, 6), (9, 13)]
