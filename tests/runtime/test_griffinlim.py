import numpy as np
import pytest

from lightspeech_cli.model.spectrogram import MelSpectrogram
from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import AudioConfig

from ..helpers import tone


@pytest.mark.exact
def test_griffin_lim_inverts_a_mel_in_numpy():
    mel = MelSpectrogram()(tone(0.3)).numpy()
    wave = load_vocoder("griffinlim", AudioConfig())(mel)
    assert wave.shape == (1, mel.shape[1] * 256)
    spectrum = np.abs(np.fft.rfft(wave[0]))
    assert abs(spectrum.argmax() / len(wave[0]) * 22050 - 220) < 10
