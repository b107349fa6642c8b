"""Writing voice and vocoder folders (model/folders.py): what they hold, their modes, and the
folders they never replace."""

from pathlib import Path

import numpy as np
import pytest
import torch

from lightspeech_cli.errors import OutputError
from lightspeech_cli.paths import umask
from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import AudioConfig, find_voice

from ..helpers import make_tiny_voice


@pytest.mark.exact
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


def test_voice_folders_follow_the_umask(tmp_path):
    voice = make_tiny_voice(tmp_path / "mode-voice")
    for path in voice.folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask(), path.name
    assert voice.folder.stat().st_mode & 0o777 == 0o777 & ~umask()


def test_saving_a_voice_never_replaces_a_folder_it_did_not_write(tmp_path):
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="did not write"):
        make_tiny_voice(documents)
    assert (documents / "thesis.tex").read_text() == "years of work"
    make_tiny_voice(tmp_path / "fresh-voice")
    make_tiny_voice(tmp_path / "fresh-voice")  # a voice folder may be replaced by a voice


def test_a_folder_of_the_users_holding_a_config_json_or_the_current_folder_is_not_replaced(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"theme": "dark"}')
    with pytest.raises(OutputError, match="a config.json that is not lightspeech's"):
        make_tiny_voice(mine)
    assert (mine / "config.json").read_text() == '{"theme": "dark"}'
    monkeypatch.chdir(mine)
    for name in (".", str(mine), str(tmp_path)):
        with pytest.raises(OutputError, match="current folder"):
            make_tiny_voice(Path(name))
    assert (mine / "config.json").read_text() == '{"theme": "dark"}'


def test_a_voice_that_would_not_load_never_replaces_a_working_one(tmp_path):
    from lightspeech_cli.errors import LightspeechError
    from lightspeech_cli.model.acoustic import AcousticModel
    from lightspeech_cli.model.folders import save_voice

    good = make_tiny_voice(tmp_path / "voice")
    config = good.config
    config.vocoder = "../not-a-name"  # what the voice's own schema refuses on reading
    with pytest.raises(LightspeechError, match="vocoder"):
        save_voice(good.folder, config, AcousticModel(config.model).eval(), "card")
    assert find_voice(str(good.folder)).config.vocoder != "../not-a-name"  # the old voice, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
