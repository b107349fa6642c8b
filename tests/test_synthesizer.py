import numpy as np
import pytest

from lightspeech_cli.errors import InputError
from lightspeech_cli.runtime.synthesizer import DEFAULT_EDGE_SILENCE, Synthesizer

from .conftest import make_tiny_voice

HOP, RATE = 256, 22050
EDGE_FRAMES = 6  # an untrained tiny model gives every symbol 6 frames, the edges too
HELLO_PHONEMES = 10  # "Hello world."


@pytest.fixture
def hello(tiny_voice):
    synthesizer = Synthesizer(tiny_voice, vocoder="griffinlim")
    return synthesizer, synthesizer.sentences("Hello world.")[0]


def test_a_framed_voice_reads_its_sentences_between_word_boundaries(hello):
    synthesizer, sentence = hello
    assert synthesizer.symbols.edges == 1
    ids = synthesizer.symbols.sentence_ids(sentence.phonemes)
    assert synthesizer.symbols.to_symbols(ids) == ["|", *sentence.phonemes, "|"]


def test_the_edges_are_cut_or_padded_to_exactly_the_silence_asked(hello):
    synthesizer, sentence = hello
    as_made = synthesizer.utterance(sentence, edge_silence=EDGE_FRAMES * HOP / RATE).audio
    assert len(as_made) == (HELLO_PHONEMES + 2) * EDGE_FRAMES * HOP
    edge = EDGE_FRAMES * HOP
    shorter = synthesizer.utterance(sentence, edge_silence=0.05)  # 1,102 samples of the model's 1,536
    np.testing.assert_array_equal(shorter.audio, as_made[edge - 1102 : len(as_made) - (edge - 1102)])
    assert shorter.durations == [EDGE_FRAMES] * HELLO_PHONEMES  # the sentence's own phonemes only
    longer = synthesizer.utterance(sentence, edge_silence=0.1).audio  # 2,205 samples: 669 zeros added
    np.testing.assert_array_equal(longer, np.concatenate([np.zeros(669), as_made, np.zeros(669)]))
    none = synthesizer.utterance(sentence, edge_silence=0).audio
    np.testing.assert_array_equal(none, as_made[edge:-edge])


def test_sentence_silence_goes_between_the_edges_of_two_sentences(hello):
    synthesizer, _ = hello
    one = synthesizer.synthesize("Hello world.")
    assert len(one) == HELLO_PHONEMES * EDGE_FRAMES * HOP + 2 * round(DEFAULT_EDGE_SILENCE * RATE)
    two = synthesizer.synthesize("Hello world. Hello world.", sentence_silence=0.5, edge_silence=0.0)
    assert len(two) == 2 * HELLO_PHONEMES * EDGE_FRAMES * HOP + round(0.5 * RATE)


def test_a_voice_of_unframed_sentences_is_read_as_it_was_trained(tmp_path):
    voice = make_tiny_voice(tmp_path / "older", symbol_set="arpabet-1")
    synthesizer = Synthesizer(voice, vocoder="griffinlim")
    sentence = synthesizer.sentences("Hello world.")[0]
    assert synthesizer.symbols.sentence_ids(sentence.phonemes) == synthesizer.symbols.to_ids(sentence.phonemes)
    for edge in (0.0, 0.3):
        assert len(synthesizer.utterance(sentence, edge_silence=edge).audio) == HELLO_PHONEMES * EDGE_FRAMES * HOP


@pytest.mark.parametrize("value", [-0.1, 31, float("nan"), "0.1", True])
def test_the_edge_silence_is_checked(hello, value):
    synthesizer, _ = hello
    with pytest.raises(InputError, match=r"edge_silence must be from 0 to 30 seconds"):
        synthesizer.synthesize("Hello.", edge_silence=value)
