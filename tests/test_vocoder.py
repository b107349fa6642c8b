import numpy as np
import pytest
import torch

from lightspeech_cli.export import compile_module
from lightspeech_cli.spectrogram import AudioConfig, MelSpectrogram, mel_filterbank
from lightspeech_cli.vocoder import load_vocoder


def buzz(seconds=0.3, frequency=150.0, rate=22050):
    """A harmonic-rich sound, closer to a voice than a sine."""
    t = torch.arange(int(seconds * rate)) / rate
    return sum(0.1 / k * torch.sin(2 * np.pi * frequency * k * t) for k in range(1, 30)).unsqueeze(0)


def tone(seconds=0.5, frequency=220.0, rate=22050):
    t = torch.arange(int(seconds * rate)) / rate
    return (0.5 * torch.sin(2 * np.pi * frequency * t)).unsqueeze(0)


def test_mel_filterbank_is_slaney():
    bank = mel_filterbank(AudioConfig())
    assert bank.shape == (80, 513)
    assert (bank >= 0).all() and (bank.sum(1) > 0).all()
    # Slaney normalization: each triangle's area is 2 / bandwidth, so band 0 peaks highest
    assert bank[0].max() > bank[-1].max()


def test_mel_frames_follow_the_hop():
    mel = MelSpectrogram()(tone(1.0))
    assert mel.shape == (1, 22050 // 256, 80)
    peak_band = mel[0].mean(0).argmax().item()
    assert 5 <= peak_band <= 12  # 220 Hz sits in the low mel bands


def test_hifigan_loads_the_packaged_weights_and_resynthesizes():
    vocoder = load_vocoder("hifigan", AudioConfig())
    assert sum(p.numel() for p in vocoder.parameters()) == pytest.approx(13.9e6, rel=0.02)
    mel = MelSpectrogram()(buzz())
    with torch.inference_mode():
        wave = vocoder(mel)
    assert wave.shape == (1, mel.shape[1] * 256)
    again = MelSpectrogram()(wave)
    audible = mel > -6
    # measured 0.27; with the weights shuffled it is 3.6
    assert (again - mel)[audible].abs().mean() < 0.5


def test_griffin_lim_inverts_a_mel():
    mel = MelSpectrogram()(tone(0.3))
    wave = load_vocoder("griffinlim", AudioConfig())(mel)
    assert wave.shape == (1, mel.shape[1] * 256)
    spectrum = torch.fft.rfft(wave[0])
    assert abs(spectrum.abs().argmax().item() / len(wave[0]) * 22050 - 220) < 10


def test_compiled_hifigan_matches_eager(tmp_path):
    vocoder = load_vocoder("hifigan", AudioConfig())
    mel = torch.randn(1, 12, 80) - 5
    eager = compile_module(vocoder, "vocoder", "eager", tmp_path, 2)(mel)[0]
    traced = compile_module(vocoder, "vocoder", "torchscript", tmp_path, 2)(torch.randn(1, 30, 80) - 5)[0]
    assert traced.shape == (1, 30 * 256)  # traced once, runs any length
    assert torch.allclose(compile_module(vocoder, "vocoder", "torchscript", tmp_path, 2)(mel)[0], eager, atol=1e-4)


def test_unknown_vocoder_is_a_voice_error():
    from lightspeech_cli.errors import VoiceError

    with pytest.raises(VoiceError, match="unknown vocoder"):
        load_vocoder("wavenet", AudioConfig())
