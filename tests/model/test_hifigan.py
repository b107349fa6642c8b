import numpy as np
import pytest
import torch

from lightspeech_cli.model.spectrogram import MelSpectrogram
from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import AudioConfig

from ..helpers import buzz


def test_hifigan_loads_the_packaged_weights_and_resynthesizes():
    from lightspeech_cli.model.hifigan import load_hifigan

    vocoder = load_hifigan()
    assert sum(p.numel() for p in vocoder.parameters()) == pytest.approx(13.9e6, rel=0.02)
    mel = MelSpectrogram()(buzz())
    with torch.inference_mode():
        wave = vocoder(mel)
    assert wave.shape == (1, mel.shape[1] * 256)
    again = MelSpectrogram()(wave)
    audible = mel > -6
    # measured 0.27; with the weights shuffled it is 3.6
    assert (again - mel)[audible].abs().mean() < 0.5


def test_compiled_hifigan_runs_without_torch_after_the_first_compile():
    mel = (torch.randn(1, 12, 80) - 5).numpy()
    eager = load_vocoder("hifigan", AudioConfig(), backend="eager")(mel)
    for backend in ("torchscript", "onnx"):
        compiled = load_vocoder("hifigan", AudioConfig(), backend=backend)
        assert compiled(mel).shape == (1, 12 * 256)
        assert np.allclose(compiled(mel), eager, atol=1e-4), backend
        assert compiled(np.zeros((1, 30, 80), np.float32) - 5).shape == (1, 30 * 256)  # any length
