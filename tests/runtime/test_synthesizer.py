import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.errors import InputError
from lightspeech_cli.runtime.synthesizer import DEFAULT_EDGE_SILENCE, Controls, Synthesizer

from ..helpers import assert_one_line_error, make_tiny_voice

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


# --- the Python API's arguments ---------------------------------------------------------------


runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s, path: s.write("Hi.", path, sample_rate=5), "sample_rate must be a whole number from 8000"),
        (lambda s, path: s.write("Hi.", path, sample_rate=16000.5), "sample_rate must be a whole number"),
        (lambda s, path: s.write("Hi.", path, sample_rate="16000"), "sample_rate must be a whole number"),
        (lambda s, path: s.write("Hi.", path, speed=0), "^speed must be a number from 0.25 to 4, not 0$"),
        (lambda s, path: s.synthesize("Hi.", volume=float("nan")), "^volume must be a number"),
        (lambda s, path: s.synthesize("Hi.", sentence_silence=-1), "^sentence_silence must be from 0 to 30"),
        (lambda s, path: s.synthesize(None), "^text must be a str, not NoneType$"),
        (lambda s, path: s.write(b"Hi.", path), "^text must be a str, not bytes$"),
        (lambda s, path: s.write("Hi.", None), "^path must be a file name, not NoneType$"),
        (lambda s, path: s.write("Hi.", path.with_suffix(".mp3"), sample_rate=12345), "12345 cannot be written as MP3"),
        (lambda s, path: s.write("Hi.", str(path) + "\0.wav"), "a file name cannot hold a NUL character$"),
        (lambda s, path: s.synthesize("Hi.", sped=2), "^unknown option 'sped'; the options are speed, pitch"),
        (lambda s, path: s.write("Hi.", path, sped=2), "^unknown option 'sped'"),
        (lambda s, path: s.synthesize("Hi.", ssml="no"), "^ssml must be True, False or None"),
        (lambda s, path: s.plan("Hi.", warn=5), "^warn must be a function of one message, not int$"),
    ],
)
def test_the_python_api_refuses_bad_arguments_by_their_python_names(tiny_voice, tmp_path, call, message):
    """A program gets the parameter it passed named as it spelled it (the CLI names its
    options), and never a file at 5 Hz."""
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    with pytest.raises(InputError, match=message):
        call(Synthesizer(tiny_voice), tmp_path / "a.wav")
    assert not (tmp_path / "a.wav").exists()


def test_the_python_api_takes_numpy_numbers(tiny_voice, tmp_path):
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    synthesizer = Synthesizer(tiny_voice)
    synthesizer.write("Hi.", tmp_path / "a.wav", sample_rate=np.int64(16000))
    assert soundfile.info(str(tmp_path / "a.wav")).samplerate == 16000
    plain = synthesizer.synthesize("Hi. Bye.", speed=0.5, sentence_silence=0.25)
    numpy = synthesizer.synthesize("Hi. Bye.", speed=np.float32(0.5), sentence_silence=np.float64(0.25))
    np.testing.assert_array_equal(numpy, plain)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"vocoder": 3}, "^vocoder must be a name or a folder, not int$"),
        ({"backend": 3}, "^backend must be a name, not int$"),
        ({"vocoder": ""}, "^the vocoder name is empty"),
        ({"backend": ""}, "^the backend name is empty"),
    ],
)
def test_synthesizer_names_of_the_wrong_type_are_input_errors(tiny_voice, options, message):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    with pytest.raises(InputError, match=message):
        Synthesizer(tiny_voice, **options)


def test_an_empty_voice_name_or_a_lexicon_of_the_wrong_type_is_an_input_error():
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    with pytest.raises(InputError, match="^the voice name is empty"):
        Synthesizer.load("")
    with pytest.raises(InputError, match="^lexicon must be a file name, not int$"):
        Synthesizer.load(lexicon=5)
    assert_one_line_error(run("say", "Hi.", "-o", "x.wav", "-v", ""), 2, "the voice name is empty")


def test_synthesizer_threads_are_checked_by_their_python_name(tiny_voice):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    for threads in (0, 1.5, True, 10_000):
        with pytest.raises(InputError, match=f"^threads must be from 1 to .*, not {threads!r}$"):
            Synthesizer(tiny_voice, threads=threads)
