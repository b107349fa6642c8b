"""The embedded default voice and vocoder: they load, have their sizes, and speak."""

import numpy as np
import pytest
import torch

from lightspeech_cli.model.acoustic import count_parameters
from lightspeech_cli.synthesize import Controls, Synthesizer
from lightspeech_cli.vocoder import embedded_vocoders_dir, load_vocoder
from lightspeech_cli.voice import DEFAULT_VOICE, embedded_voices_dir, find_voice

DEFAULT_VOCODER = "en-us-istft"


def test_the_default_voice_is_embedded_with_its_model_card():
    folder = embedded_voices_dir() / DEFAULT_VOICE
    assert (folder / "model.safetensors").stat().st_size < 20e6
    card = (folder / "MODEL_CARD.md").read_text()
    for fact in ("hibari-tts", "Steps", "Licence", "lightspeech train fit"):
        assert fact in card
    assert (folder / "training-log.jsonl").read_text().strip()


def test_the_default_vocoder_is_embedded_small_and_exact_in_shape():
    folder = embedded_vocoders_dir() / DEFAULT_VOCODER
    card = (folder / "MODEL_CARD.md").read_text()
    for fact in ("hibari-tts", "Steps", "Licence", "lightspeech train vocoder", "Parameters"):
        assert fact in card
    assert (folder / "training-log.jsonl").read_text().strip()
    vocoder = load_vocoder(DEFAULT_VOCODER, find_voice(None).config.audio)
    assert count_parameters(vocoder) <= 2_000_000
    with torch.inference_mode():
        assert vocoder(torch.full((2, 17, 80), -6.0)).shape == (2, 17 * 256)


@pytest.mark.parametrize("vocoder", [None, "hifigan"])
def test_the_default_voice_speaks_a_sentence(vocoder):
    voice = find_voice(None)
    assert voice.name == DEFAULT_VOICE and voice.config.vocoder == DEFAULT_VOCODER
    model = voice.load_model()
    assert count_parameters(model) < 2_000_000
    synthesizer = Synthesizer(voice, vocoder=vocoder, threads=2)
    assert synthesizer.vocoder_name == (vocoder or DEFAULT_VOCODER)
    sentence = synthesizer.sentences("The quick brown fox jumps over the lazy dog.")[0]
    utterance = synthesizer.synthesize(sentence, Controls())
    durations = np.array(utterance.durations)
    assert len(utterance.audio) == durations.sum() * 256
    # a trained voice gives real phonemes real lengths: 30 to 200 ms on average
    phones = np.array([p not in ("|", ".", ",") for p in sentence.phonemes])
    assert 3 <= durations[phones].mean() <= 17
    # speech is louder than the pause the voice leaves after the sentence
    ends = np.cumsum(durations) * 256
    speech = utterance.audio[:ends[-2]]
    pause = utterance.audio[ends[-2]:]
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))  # noqa: E731
    assert 0.01 < rms(speech) < 0.5
    assert len(pause) == 0 or rms(pause) < rms(speech) / 2


def test_say_speaks_through_the_shipped_vocoder(tmp_path):
    import soundfile
    from typer.testing import CliRunner

    from lightspeech_cli.cli import app

    out = tmp_path / "hello.wav"
    result = CliRunner().invoke(app, ["say", "Hello there.", "--vocoder", DEFAULT_VOCODER, "--threads", "1",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    audio, rate = soundfile.read(out)
    assert rate == 22050 and 0.5 < len(audio) / rate < 3
    assert 0.01 < float(np.sqrt(np.mean(audio ** 2))) < 0.5
