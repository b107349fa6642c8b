"""Every field of a voice's config is checked for type and range when it is read."""

import json
import math

import pytest

from lightspeech_cli.errors import VoiceError
from lightspeech_cli.runtime.format.voice import ModelConfig, Voice, VoiceConfig, find_voice, installed_voice_names

from ...helpers import make_tiny_voice


@pytest.fixture
def config(tmp_path):
    voice = make_tiny_voice(tmp_path / "schema-voice")
    return voice.folder, json.loads((voice.folder / "config.json").read_text())


def edited(folder, data):
    (folder / "config.json").write_text(json.dumps(data, allow_nan=True))
    return folder


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("name", "../../x", "name"),
        ("name", 7, "name"),
        ("format", 3, "format"),
        ("format", "2", "format"),
        ("symbol_set", "ipa-9", "symbol_set"),
        ("language", "English (US)", "language"),
        ("licence", 12, "licence"),
        ("description", "x" * 600, "description"),
        ("vocoder", None, "vocoder"),
        ("colour", "red", "unknown setting"),
        ("audio.sample_rate", 0, "sample_rate"),
        ("audio.sample_rate", 22050.5, "sample_rate"),
        ("audio.n_fft", 1000, "multiple"),
        ("audio.win_length", 512, "win_length"),
        ("audio.fmax", 20000.0, "fmax"),
        ("audio.fmin", -1.0, "fmin"),
        ("audio.n_mels", 40, "n_mels"),
        ("audio.tempo", 1, "unknown setting"),
        ("model.architecture", "sep5 | sep5 hidden=4096", "hidden"),
        ("model.architecture", 5, "architecture"),
        ("model.n_symbols", 10, "n_symbols"),
        ("model.dropout", 5, "dropout"),
        ("model.dropout", True, "dropout"),
        ("model.predictor_kernel", 4, "odd"),
        ("model.predictor_kernel", -3, "predictor_kernel"),
        ("model.variance_bins", 10**9, "variance_bins"),
        ("model.variance_min", 9.0, "variance_min"),
        ("model.pitch_log_std", math.nan, "pitch_log_std"),
        ("model.energy_log_std", math.inf, "energy_log_std"),
        ("normalization.pitch_log_mean", "5", "pitch_log_mean"),
    ],
)
def test_bad_fields_are_one_voice_error(config, path, value, message):
    folder, data = config
    target = data
    *parents, key = path.split(".")
    for parent in parents:
        target = target[parent]
    target[key] = value
    with pytest.raises(VoiceError, match=message):
        Voice(edited(folder, data))


def test_a_duplicate_key_does_not_silently_win(config):
    folder, data = config
    text = json.dumps(data)
    (folder / "config.json").write_text(text[:-1] + ', "name": "other-name"}')
    with pytest.raises(VoiceError, match="duplicate key"):
        Voice(folder)


def test_a_huge_config_is_refused_unread(config):
    folder, data = config
    data["description"] = "x" * 100_000
    with pytest.raises(VoiceError, match="too long"):
        Voice(edited(folder, data))


def test_a_config_round_trips(config):
    folder, _ = config
    voice = Voice(folder)
    assert VoiceConfig.parse(voice.config.to_dict(), "again") == voice.config


def test_staging_folders_and_junk_are_not_voices(isolated_home):
    voices = isolated_home / "cache" / "voices"
    for name in (".incoming.abc", "Bad Name", "no-config"):
        (voices / name).mkdir(parents=True)
    (voices / ".incoming.abc" / "config.json").write_text("{}")
    (voices / "Bad Name" / "config.json").write_text("{}")
    assert installed_voice_names() == ["en-us-lightspeech"]
    with pytest.raises(VoiceError, match="unknown voice"):
        find_voice("no-config")


@pytest.mark.parametrize(
    "architecture",
    ["lightspeech", "fastspeech2", "sep1 att4+ffn identity | ffn att8 sep21 hidden=32 predictor=conv postnet=1"],
)
def test_expected_weights_match_the_torch_model(architecture):
    from lightspeech_cli.model.acoustic import AcousticModel

    config = ModelConfig(architecture=architecture, variance_bins=17, predictor_kernel=5, n_mels=40)
    model = AcousticModel(config)
    assert config.expected_weights() == {k: tuple(v.shape) for k, v in model.state_dict().items()}
