import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own config and cache folders, never the user's."""
    home = tmp_path / "lightspeech-home"
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(home))
    return home


TINY_ARCHITECTURE = "sep5 att2 | ffn sep9 hidden=16 predictor=sep"


def make_tiny_voice(folder, architecture=TINY_ARCHITECTURE, vocoder="griffinlim"):
    """A real voice folder with an untrained tiny model whose durations are 6 frames."""
    from lightspeech_cli.model.acoustic import ModelConfig
    from lightspeech_cli.profile import untrained_model
    from lightspeech_cli.voice import VoiceConfig, save_voice

    config = ModelConfig(architecture=architecture)
    model = untrained_model(architecture, config.n_symbols)
    return save_voice(folder, VoiceConfig(name=folder.name, model=config.to_dict(), vocoder=vocoder), model)


@pytest.fixture
def tiny_voice(tmp_path):
    return make_tiny_voice(tmp_path / "tiny-voice")
