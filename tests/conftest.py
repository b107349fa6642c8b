import json

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own config and cache folders, never the user's."""
    home = tmp_path / "lightspeech-home"
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(home))
    monkeypatch.delenv("LIGHTSPEECH_MIRROR", raising=False)
    return home


TINY_ARCHITECTURE = "sep5 att2 | ffn sep9 hidden=16 predictor=sep"


def make_tiny_voice(folder, architecture=TINY_ARCHITECTURE, vocoder="griffinlim", onnx=True, symbol_set=None):
    """A real voice folder (format 2: config, weights, ONNX) with an untrained tiny model
    whose durations are 6 frames per phoneme (and per edge, where the symbol set frames its
    sentences); with onnx=False, an older format-1 folder."""
    from lightspeech_cli.model.acoustic import untrained_model
    from lightspeech_cli.model.folders import save_voice
    from lightspeech_cli.runtime.format.voice import ModelConfig, Voice, VoiceConfig
    from lightspeech_cli.text.symbols import DEFAULT_SYMBOL_SET

    model = untrained_model(architecture, ModelConfig().n_symbols)
    config = VoiceConfig(
        name=folder.name, model=model.config, vocoder=vocoder, symbol_set=symbol_set or DEFAULT_SYMBOL_SET
    )
    voice = save_voice(folder, config, model)
    if not onnx:
        (folder / "model.onnx").unlink()
        config = json.loads((folder / "config.json").read_text())
        config["format"] = 1
        (folder / "config.json").write_text(json.dumps(config))
        voice = Voice(folder)
    return voice


@pytest.fixture
def tiny_voice(tmp_path):
    return make_tiny_voice(tmp_path / "tiny-voice")


def make_tiny_vocoder(folder, seed=0, phase_estimation="parallel", source="pulses"):
    """A trained-vocoder folder (format 2) with a small untrained iSTFT network; returns the
    network as the folder holds it (its parameters rounded to half precision)."""
    import torch

    from lightspeech_cli.model.export import half_precision_copy
    from lightspeech_cli.model.folders import save_vocoder
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    torch.manual_seed(seed)
    config = IstftVocoderConfig(channels=16, hidden=32, layers=2, phase_estimation=phase_estimation, source=source)
    module = IstftVocoder(config).eval()
    save_vocoder(folder, module, "# card\n", {"training-log.jsonl": "{}\n"})
    return half_precision_copy(module)[0]
