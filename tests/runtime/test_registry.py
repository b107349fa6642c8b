import json
import os
import tarfile
import time

import pytest
from typer.testing import CliRunner

from lightspeech_cli import paths
from lightspeech_cli.cli import app
from lightspeech_cli.errors import VoiceError
from lightspeech_cli.runtime import download, registry
from lightspeech_cli.runtime.format.voice import installed_voices_dir

from ..helpers import assert_one_line, assert_one_line_error, make_tiny_voice, run_process
from .helpers import archive_of

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "../../victim"),
        ("name", "/tmp/victim"),
        ("name", ""),
        ("file", "../../etc/passwd"),
        ("size", -5),
        ("sha256", "xyz"),
    ],
)
def test_hostile_manifest_entries_are_refused(mirror, field, value):
    manifest = json.loads(registry.MANIFEST.read_text())
    manifest["voices"][0][field] = value
    registry.MANIFEST.write_text(json.dumps(manifest))
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 5, repr(field))


def test_unknown_voice(mirror):
    assert_one_line_error(run("voices", "pull", "nobody"), 5, "unknown voice")


# --- archives: built in the test, one hostile property each ------------------------------------


def voice_files(tmp_path, **config_changes) -> dict[str, bytes]:
    voice = make_tiny_voice(tmp_path / "source-voice")
    files = {p.name: p.read_bytes() for p in voice.folder.iterdir()}
    config = json.loads(files["config.json"])
    for dotted, value in config_changes.items():
        target = config
        *parents, key = dotted.split("__")
        for parent in parents:
            target = target[parent]
        target[key] = value
    files["config.json"] = json.dumps(config).encode()
    return files


@pytest.fixture
def victim(tmp_path):
    """A folder outside the cache that no archive or name may touch."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "precious.txt").write_text("keep me")
    return folder


@pytest.mark.parametrize(
    "name", ["../../victim", "ABSOLUTE", "", ".", "..", "a/b", "bad\nname", "\x1b[31mred", "x" * 65]
)
def test_hostile_names_in_an_archive_config_are_refused(tmp_path, victim, isolated_home, name):
    name = str(victim) if name == "ABSOLUTE" else name
    archive = archive_of(tmp_path / "evil.tar.gz", voice_files(tmp_path, name=name))
    result = run("voices", "import", archive)
    assert_one_line_error(result, 5, "name")
    assert "\x1b" not in result.stderr and "\n" not in result.stderr.strip()
    assert (victim / "precious.txt").read_text() == "keep me"
    assert installed_voice_folders() == []


def installed_voice_folders():
    voices = installed_voices_dir()
    return sorted(p.name for p in voices.iterdir()) if voices.exists() else []


@pytest.mark.parametrize("name", ["../../victim", "ABSOLUTE", "", ".", "Upper"])
def test_hostile_import_names_are_refused(tmp_path, victim, name):
    archive = archive_of(tmp_path / "ok.tar.gz", voice_files(tmp_path))
    name = str(victim) if name == "ABSOLUTE" else name
    assert_one_line_error(run("voices", "import", archive, "--name", name), 2, "invalid voice name")
    assert (victim / "precious.txt").read_text() == "keep me"


def test_voices_rm_never_deletes_outside_the_cache(victim):
    for target in (str(victim), "../victim", "../../victim", ".", ""):
        result = run("voices", "rm", target)
        assert result.exit_code in (2, 5), result.output
    assert (victim / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model__variance_bins": -3}, "variance_bins"),
        ({"model__variance_bins": 2.5}, "variance_bins"),
        ({"model__predictor_kernel": "3"}, "predictor_kernel"),
        ({"model__architecture": "sep5 | sep5 hidden=99999"}, "hidden"),
        ({"model__dropout": 5}, "dropout"),
        ({"language": 5}, "language"),
        ({"licence": ["MIT"]}, "licence"),
        ({"vocoder": 5}, "vocoder"),
        ({"vocoder": "../x"}, "vocoder"),
        ({"audio__sample_rate": -1}, "sample_rate"),
        ({"audio__n_fft": 0}, "n_fft"),
        ({"audio__hop_length": 0}, "hop_length"),
        ({"format": True}, "format"),
        ({"model__pitch_log_std": 0}, "pitch_log_std"),
        ({"description": "a\x1b[2Jb"}, "description"),
    ],
)
def test_hostile_config_fields_are_refused_at_import(tmp_path, change, message):
    archive = archive_of(tmp_path / "bad.tar.gz", voice_files(tmp_path, **change))
    result = run("voices", "import", archive)
    assert_one_line_error(result, 5, message)
    assert "bad.tar.gz: config.json" in result.output and ".incoming." not in result.output  # not the staging folder
    assert installed_voice_folders() == []


def test_importing_a_folder_or_a_device_says_what_it_is(tmp_path):
    assert_one_line_error(run("voices", "import", tmp_path), 2, "it is a folder; give the .tar.gz")
    assert_one_line_error(run("voices", "import", "/dev/null"), 2, "/dev/null: not a regular file")
    assert_one_line_error(run("voices", "import", tmp_path / "missing.tar.gz"), 2, "no such file")


@pytest.mark.exact
def test_archive_structure_checks_are_each_load_bearing(tmp_path):
    good = voice_files(tmp_path)
    cases = {
        "traversal": ({"../../escaped.txt": b"x", **good}, None, "unsafe path"),
        "unexpected": ({**good, "run.sh": b"rm -rf ~"}, None, "unexpected file"),
        "link": ({**good, "MODEL_CARD.md": b""}, {"MODEL_CARD.md": tarfile.SYMTYPE}, "not a regular file"),
        "missing weights": ({k: v for k, v in good.items() if k != "model.safetensors"}, None, "model.safetensors"),
    }
    for label, (members, types, message) in cases.items():
        archive = archive_of(tmp_path / f"{label}.tar.gz", members, types, link_to="/etc/passwd")
        assert_one_line_error(run("voices", "import", archive), 5, message)
    duplicated = archive_of(tmp_path / "duplicated.tar.gz", [*good.items(), ("config.json", good["config.json"])])
    assert_one_line_error(run("voices", "import", duplicated), 5, "appears twice")
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(os.urandom(1000))
    assert_one_line_error(run("voices", "import", garbage), 5, "not a valid voice archive")
    assert installed_voice_folders() == []


@pytest.mark.exact
def test_weights_that_do_not_load_are_never_installed(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    files = voice_files(tmp_path)
    weights_path = tmp_path / "weights.safetensors"
    weights_path.write_bytes(files["model.safetensors"])
    state = load_file(weights_path)
    state["decoder.norm.weight"] = torch.full_like(state["decoder.norm.weight"], float("nan"))
    save_file(state, weights_path)
    nan_archive = archive_of(tmp_path / "nan.tar.gz", {**files, "model.safetensors": weights_path.read_bytes()})
    assert_one_line_error(run("voices", "import", nan_archive), 5, "NaN")
    broken_onnx = archive_of(tmp_path / "onnx.tar.gz", {**files, "model.onnx": b"\x08\x07garbage"})
    assert_one_line_error(run("voices", "import", broken_onnx), 5, "does not load")
    assert installed_voice_folders() == []


def test_export_then_import_under_another_name(tmp_path):
    voice = make_tiny_voice(tmp_path / "mine")
    archive = tmp_path / "mine.tar.gz"
    result = run("voices", "export", voice.folder, "-o", archive)
    assert result.exit_code == 0 and "sha256" in result.stdout
    imported = run("voices", "import", archive, "--name", "imported")
    assert imported.exit_code == 0 and "installed imported in" in imported.stderr
    assert (installed_voices_dir() / "imported" / "config.json").exists()
    info = run("voices", "info", "imported", "--json")
    assert info.exit_code == 0 and json.loads(info.stdout)["config"]["name"] == "mine"


def test_a_killed_import_leaves_nothing_that_breaks_listing(tmp_path, mirror):
    voices = installed_voices_dir()
    stale = voices / ".incoming.abc123"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{half")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    (voices / "broken").mkdir()
    (voices / "broken" / "config.json").write_text("{half")
    listing = run("voices", "list")
    assert listing.exit_code == 0 and "broken: " in listing.stdout and ".incoming" not in listing.stdout
    assert json.loads(run("voices", "list", "--json").stdout)
    assert run("cache", "--clean").exit_code == 0
    assert not stale.exists() and (voices / "broken").exists()  # leftovers swept, voices kept


def test_cache_clean_scopes(mirror):
    registry.pull("tiny-remote")
    compiled = registry.cache_dir() / "compiled"
    compiled.mkdir(parents=True, exist_ok=True)
    (compiled / "acoustic-x.onnx").write_bytes(b"x")
    shown = run("cache").stdout
    assert "voices" in shown and "compiled" in shown
    assert_one_line_error(run("cache", "--all"), 2, "--clean")
    assert run("cache", "--clean").exit_code == 0
    assert not compiled.exists() and (installed_voices_dir() / "tiny-remote").exists()
    assert run("cache", "--clean", "--all").exit_code == 0
    assert not (installed_voices_dir() / "tiny-remote").exists()


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch, mirror):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(blocker / "home"))
    assert_one_line_error(run("voices", "pull", "tiny-remote"), 3, "cannot write to the cache")


def test_mirror_from_config_file(isolated_home, monkeypatch):
    (isolated_home / "config").mkdir(parents=True)
    (isolated_home / "config" / "config.json").write_text('{"mirror": "http://mirror.invalid/voices"}')
    assert registry.mirror("http://default") == "http://mirror.invalid/voices"
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://env")
    assert registry.mirror("http://default") == "http://env"


def test_pull_of_an_unknown_voice_is_a_voice_error():
    with pytest.raises(VoiceError):
        registry.find_entry("no-such-voice-anywhere")


def test_the_shipped_voice_is_listed_and_described_offline(monkeypatch):
    monkeypatch.setenv("LIGHTSPEECH_MIRROR", "http://127.0.0.1:9")  # nothing there: no network needed
    listing = run("voices", "list")
    assert listing.exit_code == 0 and "en-us-lightspeech" in listing.stdout and "embedded, default" in listing.stdout
    info = run("voices", "info", "en-us-lightspeech")
    assert info.exit_code == 0 and '"architecture": "lightspeech"' in info.stdout and "hibari-tts" in info.stdout


def test_the_manifest_lists_the_archive_voices_export_makes(tmp_path):
    from lightspeech_cli.runtime.format.voice import find_voice

    _, entries = registry.read_manifest()
    entry = next(e for e in entries if e.name == "en-us-lightspeech")
    archive = registry.export_archive(find_voice("en-us-lightspeech"), tmp_path / entry.file)
    assert archive.stat().st_size == entry.size
    assert download.sha256_of(archive) == entry.sha256


# --- manifests, field by field ----------------------------------------------------------------


@pytest.mark.exact
def test_a_manifest_is_read_field_by_field(tmp_path):
    entry = {"name": "a-voice", "file": "a-voice.tar.gz", "size": 10, "sha256": "0" * 64}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"base_url": "https://example.org/v", "voices": [entry]}))
    base_url, entries = registry.read_manifest(path)
    assert base_url == "https://example.org/v"
    assert entries == [registry.Entry("a-voice", "", "", "", "", "a-voice.tar.gz", 10, "0" * 64)]
    path.write_text(json.dumps({"base_url": 5, "voices": []}))
    assert registry.read_manifest(path) == ("", [])
    for broken in ([], {"voices": {}}, {"base_url": "x"}):
        path.write_text(json.dumps(broken))
        with pytest.raises(VoiceError, match="expected"):
            registry.read_manifest(path)


@pytest.mark.exact
def test_manifest_errors_name_the_manifest_and_the_entry(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "voices": [
                    {"name": "ok", "file": "ok.tar.gz", "size": 1, "sha256": "0" * 64},
                    {"name": "bad", "file": "bad.tar.gz", "size": -1, "sha256": "0" * 64},
                ]
            }
        )
    )
    with pytest.raises(VoiceError, match=rf"^{path} voice 2: .*size"):
        registry.read_manifest(path)
    path.write_text("{not json")
    with pytest.raises(VoiceError, match="manifest"):
        registry.read_manifest(path)
    path.write_text(json.dumps({"voices": []}))  # no base_url: an empty one
    assert registry.read_manifest(path) == ("", [])


@pytest.mark.exact
def test_a_manifest_too_large_is_called_a_manifest(tmp_path):
    from lightspeech_cli.runtime.format.files import MAX_CONFIG_BYTES

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"voices": [], "padding": "x" * MAX_CONFIG_BYTES}))
    with pytest.raises(VoiceError) as caught:
        registry.read_manifest(path)
    assert str(caught.value) == f"{path} (a manifest) is too long (more than {MAX_CONFIG_BYTES:,} bytes)"


# --- the cache and the config file ------------------------------------------------------------


def test_cache_clean_leaves_what_is_not_lightspeechs(isolated_home):
    root = paths.cache_dir()
    for part in registry.CACHE_PARTS:
        (root / part).mkdir(parents=True)
        (root / part / "something").write_text("x")
    (root / "otherapp").mkdir()
    (root / "otherapp" / "data").write_text("keep")
    (root / "notes.txt").write_text("keep")
    shown = run("cache").stdout
    assert all(part in shown for part in registry.CACHE_PARTS)
    assert run("cache", "--clean").exit_code == 0
    assert (root / "voices" / "something").exists() and not (root / "frontend").exists()
    assert run("cache", "--clean", "--all").exit_code == 0
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt", "otherapp"]
    assert (root / "otherapp" / "data").read_text() == "keep"


def test_the_config_file_is_read_with_a_bound(isolated_home):
    (isolated_home / "config").mkdir(parents=True)
    (isolated_home / "config" / "config.json").write_text('{"mirror": "http://x/"' + " " * 100_000 + "}")
    with pytest.raises(paths.InputError, match="config.json is too long"):
        registry.mirror("http://default")


def test_a_write_limit_during_import_is_an_output_error(tmp_path):
    voice = make_tiny_voice(tmp_path / "voice")
    archive = registry.export_archive(voice, tmp_path / "voice.tar.gz")
    largest = max(path.stat().st_size for path in voice.folder.iterdir())
    process = run_process("voices", "import", archive, file_size_limit=largest - 1)
    assert_one_line(process, 3, "File too large")
    assert not [p for p in installed_voices_dir().iterdir() if not p.name.startswith(".")]
