"""An iSTFT vocoder folder's config (runtime/format/vocoder.py): its checks, and the weights and
parameter count it describes, against the torch module."""

import json

import pytest

from lightspeech_cli.errors import VoiceError
from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import AudioConfig

from ...helpers import make_tiny_vocoder


@pytest.mark.exact
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


@pytest.mark.exact
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


def test_expected_vocoder_weights_match_the_torch_model():
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    config = IstftVocoderConfig(n_mels=40, n_fft=512, hop_length=128, channels=16, hidden=24, layers=3, kernel_size=5)
    state = IstftVocoder(config).state_dict()
    assert config.expected_weights() == {k: tuple(v.shape) for k, v in state.items()}
    assert config.parameters() == sum(v.numel() for v in state.values())
