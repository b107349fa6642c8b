import math

import numpy as np
import pytest
import torch

from lightspeech_cli.model.spectrogram import MelSpectrogram
from lightspeech_cli.runtime.dsp import inverse_stft
from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import AudioConfig

from ..helpers import buzz, make_tiny_vocoder


def tiny_istft():
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    torch.manual_seed(0)
    return IstftVocoder(IstftVocoderConfig(channels=16, hidden=32, layers=2)).eval()


def true_spectrum(wave, left_pad):
    padded = torch.nn.functional.pad(wave, (left_pad, left_pad))
    return torch.stft(padded, 1024, 256, 1024, torch.hann_window(1024), center=False, return_complex=True).transpose(
        1, 2
    )


@pytest.mark.exact
def test_istft_synthesis_inverts_the_stft_framed_like_the_mel():
    """Given the true amplitude and phase of each mel frame's window, the vocoder's
    inverse STFT returns the waveform exactly (torch and numpy): no offset, no edge loss."""
    vocoder = tiny_istft()
    wave = buzz(0.5)[:, : 40 * 256]
    spectrum = true_spectrum(wave, vocoder.left_pad)
    assert spectrum.shape[1] == MelSpectrogram()(wave).shape[1] == 40
    rebuilt = vocoder.synthesize(spectrum)
    assert rebuilt.shape == wave.shape and (rebuilt - wave).abs().max() < 1e-4
    in_numpy = inverse_stft(spectrum.numpy().astype(np.complex64), 1024, 256, vocoder.left_pad)
    assert in_numpy.shape == wave.shape and np.abs(in_numpy - wave.numpy()).max() < 1e-4


@pytest.mark.exact
def test_istft_vocoder_shapes_and_batches():
    vocoder = tiny_istft()
    with torch.inference_mode():
        for frames in (1, 7, 50):
            assert vocoder(torch.randn(2, frames, 80) - 5).shape == (2, frames * 256)
        mel = torch.randn(3, 20, 80) - 5
        batch = vocoder(mel)
        assert torch.allclose(batch[1], vocoder(mel[1:2])[0], atol=1e-5)


@pytest.mark.exact
def test_parallel_phase_estimation_gives_the_angle_of_its_real_and_imaginary_parts():
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    vocoder = tiny_istft()
    bins = 513
    with torch.no_grad():  # a head that predicts real part -1, imaginary part 0 for every bin: phase pi
        vocoder.head.weight.zero_()
        vocoder.head.bias.copy_(torch.cat([torch.zeros(bins), -torch.ones(bins), torch.zeros(bins)]))
        phase = vocoder.own_spectrum(vocoder.features(torch.randn(1, 4, 80)))[1]
    assert torch.allclose(phase.abs(), torch.full_like(phase, math.pi))
    # checkpoints from before the fields existed predicted the phase directly, without a source
    old = {k: v for k, v in IstftVocoderConfig().to_dict().items() if k not in ("phase_estimation", "source")}
    assert IstftVocoderConfig.parse(old, "an old checkpoint").phase_estimation == "direct"
    assert IstftVocoderConfig.parse(old, "an old checkpoint").source == "none"


@pytest.mark.exact
def test_a_pulse_source_vocoder_plays_its_pulses_through_its_filter_on_every_backend(tmp_path):
    """Own spectrum silenced, F0 head fixed at a voiced 187 Hz, filter 1 (log amplitude 0, phase 0):
    the vocoder's output is the runtime's pulse train itself; with the filter's amplitude at
    exp(-1) and phase pi, that train scaled by -exp(-1); unvoiced, silence."""
    from lightspeech_cli.model.export import half_precision_copy
    from lightspeech_cli.model.folders import save_vocoder
    from lightspeech_cli.runtime.dsp import pulse_train

    folder = tmp_path / "pulses"
    vocoder = make_tiny_vocoder(folder)
    bins, frames = 513, 30
    for log_gain, rotation, voicing, scale in (
        (0.0, 0.0, 10.0, 1.0),
        (-1.0, 1e4, 10.0, -math.exp(-1)),
        (0.0, 0.0, -10.0, 0.0),
    ):
        with torch.no_grad():
            vocoder.head.weight.zero_()
            vocoder.head.bias.copy_(torch.cat([torch.full((bins,), -30.0), torch.ones(2 * bins)]))
            vocoder.source_head.weight.zero_()
            vocoder.source_head.bias.copy_(torch.cat([torch.full((bins,), log_gain), torch.full((bins,), rotation)]))
            last = vocoder.f0_head[-1]
            last.weight.zero_()
            last.bias.copy_(torch.tensor([(math.log(187.0) - 5.3) / 0.5, voicing]))
        save_vocoder(folder, vocoder, "# card\n", {"training-log.jsonl": "{}\n"})
        stored = half_precision_copy(vocoder)[0]  # the F0 as the folder's rounded weights give it
        f0 = stored.spectrum(torch.zeros(1, frames, 80))[2][0].detach().numpy()
        np.testing.assert_allclose(f0, 187.0 if voicing > 0 else 0.0, rtol=1e-3)  # 11 kHz / 187 Hz: no whole number
        expected = pulse_train(np.full(frames, f0[0]), 256, 22050)  # F0 as float32 has it: the phase drifts otherwise
        for backend in ("onnx", "torchscript", "eager"):
            out = load_vocoder(str(folder), AudioConfig(), backend=backend)(np.zeros((1, frames, 80), np.float32))[0]
            np.testing.assert_allclose(out, np.clip(scale * expected, -1, 1), atol=2e-3, err_msg=backend)
