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


TINY_ISTFT = dict(channels=16, hidden=32, layers=2)


def tiny_istft():
    from lightspeech_cli.vocoder.istft import IstftVocoder, IstftVocoderConfig

    torch.manual_seed(0)
    return IstftVocoder(IstftVocoderConfig(**TINY_ISTFT)).eval()


def test_istft_synthesis_inverts_the_stft_framed_like_the_mel():
    """Given the true amplitude and phase of each mel frame's window, the vocoder's
    inverse STFT returns the waveform exactly: no offset, no edge loss."""
    vocoder = tiny_istft()
    wave = buzz(0.5)[:, :40 * 256]
    context = vocoder.left_pad
    padded = torch.nn.functional.pad(wave, (context, context))
    spectrum = torch.stft(padded, 1024, 256, 1024, torch.hann_window(1024), center=False,
                          return_complex=True).transpose(1, 2)
    assert spectrum.shape[1] == MelSpectrogram()(wave).shape[1] == 40
    rebuilt = vocoder.synthesize(torch.log(spectrum.abs() + 1e-12), torch.angle(spectrum))
    assert rebuilt.shape == wave.shape
    assert (rebuilt - wave).abs().max() < 1e-4


def test_istft_vocoder_shapes_and_batches():
    vocoder = tiny_istft()
    with torch.inference_mode():
        for frames in (1, 7, 50):
            assert vocoder(torch.randn(2, frames, 80) - 5).shape == (2, frames * 256)
        mel = torch.randn(3, 20, 80) - 5
        batch = vocoder(mel)
        assert torch.allclose(batch[1], vocoder(mel[1:2])[0], atol=1e-5)


def test_compiled_istft_matches_eager_at_any_length(tmp_path):
    vocoder = tiny_istft()
    for frames in (5, 33, 200):
        mel = torch.randn(1, frames, 80) - 5
        eager = compile_module(vocoder, "vocoder", "eager", tmp_path, 1)(mel)[0]
        traced = compile_module(vocoder, "vocoder", "torchscript", tmp_path, 1)(mel)[0]
        assert traced.shape == (1, frames * 256)
        assert torch.allclose(traced, eager, atol=1e-5)


def test_istft_vocoder_folders_load_and_fail_clearly(tmp_path):
    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.vocoder.istft import save_istft_vocoder

    vocoder = tiny_istft()
    folder = tmp_path / "my-vocoder"
    save_istft_vocoder(folder, vocoder, "# card\n", {"training-log.jsonl": "{}\n"})
    loaded = load_vocoder(str(folder), AudioConfig())
    mel = torch.randn(1, 10, 80) - 5
    with torch.inference_mode():
        assert torch.equal(loaded(mel), vocoder(mel))
    with pytest.raises(VoiceError, match="the voice makes 40"):
        load_vocoder(str(folder), AudioConfig(n_mels=40))
    (folder / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(VoiceError, match="corrupt"):
        load_vocoder(str(folder), AudioConfig())
    (folder / "config.json").write_text('{"type": "wavenet"}')
    with pytest.raises(VoiceError, match="not an iSTFT vocoder"):
        load_vocoder(str(folder), AudioConfig())
    with pytest.raises(VoiceError, match="no vocoder folder"):
        load_vocoder(str(tmp_path / "missing"), AudioConfig())
