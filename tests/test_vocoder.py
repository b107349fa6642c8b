import json
import math

import numpy as np
import pytest
import torch

from lightspeech_cli.errors import VoiceError
from lightspeech_cli.model.acoustic import load_acoustic_model
from lightspeech_cli.model.spectrogram import MelSpectrogram
from lightspeech_cli.runtime.dsp import inverse_stft, mel_filterbank
from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import AudioConfig

from .conftest import make_tiny_vocoder, make_tiny_voice


def buzz(seconds=0.3, frequency=150.0, rate=22050):
    """A harmonic-rich sound, closer to a voice than a sine."""
    t = torch.arange(int(seconds * rate)) / rate
    return sum(0.1 / k * torch.sin(2 * np.pi * frequency * k * t) for k in range(1, 30)).unsqueeze(0)


def tone(seconds=0.5, frequency=220.0, rate=22050):
    t = torch.arange(int(seconds * rate)) / rate
    return (0.5 * torch.sin(2 * np.pi * frequency * t)).unsqueeze(0)


def test_mel_filterbank_is_slaney():
    bank = mel_filterbank(22050, 1024, 80, 0.0, 8000.0)
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


def test_griffin_lim_inverts_a_mel_in_numpy():
    mel = MelSpectrogram()(tone(0.3)).numpy()
    wave = load_vocoder("griffinlim", AudioConfig())(mel)
    assert wave.shape == (1, mel.shape[1] * 256)
    spectrum = np.abs(np.fft.rfft(wave[0]))
    assert abs(spectrum.argmax() / len(wave[0]) * 22050 - 220) < 10


def test_compiled_hifigan_runs_without_torch_after_the_first_compile():
    mel = (torch.randn(1, 12, 80) - 5).numpy()
    eager = load_vocoder("hifigan", AudioConfig(), backend="eager")(mel)
    for backend in ("torchscript", "onnx"):
        compiled = load_vocoder("hifigan", AudioConfig(), backend=backend)
        assert compiled(mel).shape == (1, 12 * 256)
        assert np.allclose(compiled(mel), eager, atol=1e-4), backend
        assert compiled(np.zeros((1, 30, 80), np.float32) - 5).shape == (1, 30 * 256)  # any length


def test_unknown_vocoder_is_a_voice_error():
    with pytest.raises(VoiceError, match="unknown vocoder"):
        load_vocoder("wavenet", AudioConfig())


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


def test_istft_vocoder_shapes_and_batches():
    vocoder = tiny_istft()
    with torch.inference_mode():
        for frames in (1, 7, 50):
            assert vocoder(torch.randn(2, frames, 80) - 5).shape == (2, frames * 256)
        mel = torch.randn(3, 20, 80) - 5
        batch = vocoder(mel)
        assert torch.allclose(batch[1], vocoder(mel[1:2])[0], atol=1e-5)


def test_istft_parameter_count_is_exact():
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    for config in (
        IstftVocoderConfig(),
        IstftVocoderConfig(phase_estimation="direct"),
        IstftVocoderConfig(source="none"),
        IstftVocoderConfig(channels=16, hidden=32, layers=2, kernel_size=5),
    ):
        assert config.parameters() == sum(p.numel() for p in IstftVocoder(config).parameters())


@pytest.mark.parametrize("phase_estimation, source", [("parallel", "pulses"), ("parallel", "none"), ("direct", "none")])
def test_the_onnx_and_numpy_vocoder_matches_torch_on_every_backend(tmp_path, phase_estimation, source):
    folder = tmp_path / "my-vocoder"
    module = make_tiny_vocoder(folder, phase_estimation=phase_estimation, source=source)
    if phase_estimation == "direct":  # as folders made before the fields existed: read as direct, no source
        config = json.loads((folder / "config.json").read_text())
        del config["config"]["phase_estimation"], config["config"]["source"]
        (folder / "config.json").write_text(json.dumps(config))
    for frames in (5, 33, 200):
        mel = torch.randn(1, frames, 80) - 5
        with torch.inference_mode():
            expected = module(mel).numpy()
        for backend in ("onnx", "torchscript", "eager"):
            out = load_vocoder(str(folder), AudioConfig(), backend=backend)(mel.numpy())
            assert out.shape == (1, frames * 256) and np.abs(out - expected).max() < 1e-4, backend


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


def test_vocoder_folders_load_and_fail_clearly(tmp_path):
    folder = tmp_path / "my-vocoder"
    make_tiny_vocoder(folder)
    assert load_vocoder(str(folder), AudioConfig()).parameters > 0
    with pytest.raises(VoiceError, match="the voice makes 40"):
        load_vocoder(str(folder), AudioConfig(n_mels=40))
    config = json.loads((folder / "config.json").read_text())
    for field, value, message in [
        ("layers", 10**6, "layers"),
        ("kernel_size", 4, "odd"),
        ("hidden", -1, "hidden"),
        ("channels", "16", "whole number"),
        ("n_fft", 1000, "multiple"),
        ("phase_estimation", "polar", "must be one of direct, parallel"),
    ]:
        broken = json.loads(json.dumps(config))
        broken["config"][field] = value
        (folder / "config.json").write_text(json.dumps(broken))
        with pytest.raises(VoiceError, match=message):
            load_vocoder(str(folder), AudioConfig())
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.onnx").write_bytes(b"\x00" * 100)
    with pytest.raises(VoiceError, match="does not load"):
        load_vocoder(str(folder), AudioConfig())
    (folder / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(VoiceError, match="corrupt"):
        load_vocoder(str(folder), AudioConfig(), backend="eager")
    (folder / "config.json").write_text('{"type": "wavenet"}')
    with pytest.raises(VoiceError, match="not an iSTFT vocoder"):
        load_vocoder(str(folder), AudioConfig())
    with pytest.raises(VoiceError, match="no vocoder folder"):
        load_vocoder(str(tmp_path / "missing"), AudioConfig())


def test_an_onnx_graph_that_does_not_fit_the_config_is_a_voice_error(tmp_path):
    """A folder whose model.onnx is another vocoder's (pulses where the config has none) or a
    voice's: one clear error when it loads, not an unpacking error when it runs."""
    from lightspeech_cli.model.export import export_acoustic, export_istft_network
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    pulses = make_tiny_vocoder(tmp_path / "pulses", source="pulses")
    make_tiny_vocoder(tmp_path / "plain", source="none")
    export_istft_network(pulses, tmp_path / "plain" / "model.onnx")  # its weights inside, not beside
    with pytest.raises(VoiceError, match=r"gives spectrum, source_filter, f0, not log_amplitude, phase: it is an"):
        load_vocoder(str(tmp_path / "plain"), AudioConfig())
    voice = make_tiny_voice(tmp_path / "voice")
    export_acoustic(load_acoustic_model(voice), tmp_path / "plain" / "model.onnx")
    with pytest.raises(VoiceError, match=r"gives mel, durations, not log_amplitude, phase"):
        load_vocoder(str(tmp_path / "plain"), AudioConfig())
    # another n_fft, the same outputs: the shapes tell too, where irfft would pad and play noise
    other = IstftVocoder(IstftVocoderConfig(channels=16, hidden=32, layers=2, n_fft=2048, source="none")).eval()
    export_istft_network(other, tmp_path / "plain" / "model.onnx")
    vocoder = load_vocoder(str(tmp_path / "plain"), AudioConfig())
    with pytest.raises(VoiceError, match=r"\(1, 5, 1025\).*n_fft 1024"):
        vocoder(np.zeros((1, 5, 80), np.float32))


def test_a_pulse_vocoder_whose_f0_is_not_finite_is_a_voice_error(tmp_path):
    from lightspeech_cli.model.folders import save_vocoder

    vocoder = make_tiny_vocoder(tmp_path / "broken")
    with torch.no_grad():
        vocoder.f0_head[-1].bias.copy_(torch.tensor([float("nan"), 10.0]))
    save_vocoder(tmp_path / "broken", vocoder, "# card\n", {"training-log.jsonl": "{}\n"})
    with pytest.raises(VoiceError, match="F0 that is NaN or infinite"):
        load_vocoder(str(tmp_path / "broken"), AudioConfig())(np.zeros((1, 5, 80), np.float32))


def test_folders_store_parameters_in_half_precision_and_leave_the_model_as_it_was(tmp_path, tiny_voice):
    """Voice and vocoder folders keep their learned parameters as float16 (buffers as they
    are), the ONNX graph computes with those rounded numbers, the saved model itself is not
    rounded, and a parameter beyond float16's range stays float32."""
    from safetensors import safe_open

    from lightspeech_cli.model.export import HALF_MAX, half_precision_copy
    from lightspeech_cli.model.folders import save_vocoder
    from lightspeech_cli.model.istft import IstftVocoder, load_istft_vocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig, VocoderFolder

    def dtypes(path):
        with safe_open(path, framework="pt") as weights:
            return {name: weights.get_slice(name).get_dtype() for name in weights.keys()}

    torch.manual_seed(0)
    module = IstftVocoder(IstftVocoderConfig(channels=16, hidden=32, layers=2)).eval()
    with torch.no_grad():
        module.head.bias[0] = 1e5  # beyond HALF_MAX
        module.embed.bias[0] = 0.1  # not a float16 number: 0.0999755859375 is the nearest
    before = {name: tensor.clone() for name, tensor in module.state_dict().items()}
    save_vocoder(tmp_path / "vocoder", module, "# card\n", {})
    assert all(torch.equal(tensor, before[name]) for name, tensor in module.state_dict().items())
    stored = dtypes(tmp_path / "vocoder" / "model.safetensors")
    parameters = dict(module.named_parameters())
    assert stored["head.bias"] == "F32" and module.head.bias.abs().max() > HALF_MAX
    assert {stored[name] for name in parameters if name != "head.bias"} == {"F16"}
    loaded = load_istft_vocoder(VocoderFolder(tmp_path / "vocoder"))
    assert loaded.embed.bias[0].item() == 0.0999755859375 and loaded.head.bias[0].item() == 1e5
    rounded = half_precision_copy(module)[0]
    expected_weights = rounded.state_dict()
    assert all(torch.equal(tensor, expected_weights[name]) for name, tensor in loaded.state_dict().items())
    mel = torch.randn(1, 20, 80) - 5
    with torch.inference_mode():
        expected = rounded(mel).numpy()
    out = load_vocoder(str(tmp_path / "vocoder"), AudioConfig(), backend="onnx")(mel.numpy())
    assert np.abs(out - expected).max() < 1e-4

    voice_weights = dtypes(tiny_voice.weights_path)
    assert set(voice_weights.values()) == {"F16"}
