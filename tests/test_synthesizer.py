import numpy as np
import pytest

from lightspeech_cli.errors import InputError
from lightspeech_cli.runtime.synthesizer import DEFAULT_EDGE_SILENCE, Controls, Synthesizer

from .conftest import make_tiny_voice

HOP, RATE = 256, 22050
FRAMES = 6  # an untrained tiny model gives every symbol 6 frames
EDGE_FRAMES = 3  # and the edges, read at EDGE_SPEED 2, 3
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
    edge = EDGE_FRAMES * HOP  # 768 samples
    as_made = synthesizer.utterance(sentence, edge_silence=edge / RATE).audio
    assert len(as_made) == HELLO_PHONEMES * FRAMES * HOP + 2 * edge
    shorter = synthesizer.utterance(sentence, edge_silence=0.02)  # 441 samples of the model's 768
    np.testing.assert_array_equal(shorter.audio, as_made[edge - 441 : len(as_made) - (edge - 441)])
    assert shorter.durations == [FRAMES] * HELLO_PHONEMES  # the sentence's own phonemes only
    longer = synthesizer.utterance(sentence, edge_silence=0.1).audio  # 2,205 samples: 1,437 zeros added
    np.testing.assert_array_equal(longer, np.concatenate([np.zeros(1437), as_made, np.zeros(1437)]))
    none = synthesizer.utterance(sentence, edge_silence=0).audio
    np.testing.assert_array_equal(none, as_made[edge:-edge])


def test_the_edges_are_read_fast_whatever_the_speed_asked(hello):
    """The model makes little more silence than is kept, at any speed: no vocoder work is cut away."""
    synthesizer, sentence = hello
    for speed in (0.5, 1.0, 2.0):
        audio = synthesizer.utterance(sentence, Controls(speed=speed), edge_silence=0).audio
        assert len(audio) == HELLO_PHONEMES * round(FRAMES / speed) * HOP


def test_sentence_silence_goes_between_the_edges_of_two_sentences(hello):
    synthesizer, _ = hello
    one = synthesizer.synthesize("Hello world.")
    assert len(one) == HELLO_PHONEMES * FRAMES * HOP + 2 * round(DEFAULT_EDGE_SILENCE * RATE)
    two = synthesizer.synthesize("Hello world. Hello world.", sentence_silence=0.5, edge_silence=0.0)
    assert len(two) == 2 * HELLO_PHONEMES * FRAMES * HOP + round(0.5 * RATE)


def test_a_voice_of_unframed_sentences_is_read_as_it_was_trained(tmp_path):
    voice = make_tiny_voice(tmp_path / "older", symbol_set="arpabet-1")
    synthesizer = Synthesizer(voice, vocoder="griffinlim")
    sentence = synthesizer.sentences("Hello world.")[0]
    assert synthesizer.symbols.sentence_ids(sentence.phonemes) == synthesizer.symbols.to_ids(sentence.phonemes)
    for edge in (0.0, 0.3):
        assert len(synthesizer.utterance(sentence, edge_silence=edge).audio) == HELLO_PHONEMES * FRAMES * HOP


@pytest.mark.parametrize("value", [-0.1, 31, float("nan"), "0.1", True])
def test_the_edge_silence_is_checked(hello, value):
    synthesizer, _ = hello
    with pytest.raises(InputError, match=r"edge_silence must be from 0 to 30 seconds"):
        synthesizer.synthesize("Hello.", edge_silence=value)
