"""Every field of a voice's config is checked for type and range when it is read."""

import json
import math
from pathlib import Path

import pytest

from lightspeech_cli.errors import OutputError, VoiceError
from lightspeech_cli.paths import checked_name, umask
from lightspeech_cli.runtime.format.voice import Voice, VoiceConfig, find_voice, installed_voice_names

from .conftest import make_tiny_voice


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


@pytest.mark.parametrize("name", ["en-us-x", "a", "voice.v2", "x_1"])
def test_good_names(name):
    assert checked_name(name) == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", ".hidden", "a/b", "../x", "/abs", "A", "a b", "a\n", "x" * 65, "a..b", None, 5]
)
def test_bad_names(name):
    with pytest.raises(Exception, match="invalid"):
        checked_name(name)


def test_staging_folders_and_junk_are_not_voices(isolated_home):
    voices = isolated_home / "cache" / "voices"
    for name in (".incoming.abc", "Bad Name", "no-config"):
        (voices / name).mkdir(parents=True)
    (voices / ".incoming.abc" / "config.json").write_text("{}")
    (voices / "Bad Name" / "config.json").write_text("{}")
    assert installed_voice_names() == ["en-us-lightspeech"]
    with pytest.raises(VoiceError, match="unknown voice"):
        find_voice("no-config")


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
