"""lightspeech's own folders (LIGHTSPEECH_HOME, the cache and config folders, the folders
in them) when it cannot read or write them: one `error:` line naming the folder, exit 2
where it only reads, 3 where it must write, never a traceback; and speaking with a voice
keeps working where the cache can be read but not written.

The tests run as root here, whom chmod does not stop: each case runs lightspeech in a child
process that `setpriv` strips of the capabilities that override file permissions (a user
that is not root needs none of that)."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lightspeech_cli import paths
from lightspeech_cli.cli import app
from lightspeech_cli.errors import InputError
from lightspeech_cli.runtime.format.voice import DEFAULT_VOICE, embedded_voices_dir

from .helpers import assert_one_line_error, make_tiny_voice

DROP_OVERRIDES = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
UNREADABLE = "cannot read the lightspeech folder"


@pytest.fixture(scope="module")
def bound_by_permissions(tmp_path_factory):
    """The command prefix under which chmod binds a child process."""
    if os.geteuid() != 0:
        return []
    probe = tmp_path_factory.mktemp("probe")
    probe.chmod(0)
    try:
        if shutil.which("setpriv") is None:
            pytest.skip("root here, and no setpriv to run a child that file permissions bind")
        if subprocess.run([*DROP_OVERRIDES, "ls", str(probe)], capture_output=True).returncode == 0:
            pytest.skip("root here, and setpriv cannot drop the capabilities that override file permissions")
    finally:
        probe.chmod(0o700)
    return DROP_OVERRIDES


@pytest.fixture
def lightspeech(bound_by_permissions, tmp_path):
    """Runs the CLI in a child that file permissions bind, with `env` on top of the test's
    own (its LIGHTSPEECH_HOME among it); gives back the exit status and standard error.
    Every folder made unreadable is given back its permissions when the test ends."""
    locked = []

    def run(*args, env=None, lock=()):
        for folder, mode in lock:
            folder.chmod(mode)
            locked.append(folder)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | (env or {})
        command = [*bound_by_permissions, sys.executable, "-m", "lightspeech_cli", *map(str, args)]
        result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300)
        return result.returncode, result.stderr

    yield run
    for folder in locked:
        folder.chmod(0o755)


def assert_one_line(stderr, message):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lightspeech: error: ") and message in lines[0], stderr


def made(*folders):
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders[0]


@pytest.mark.parametrize(
    "command", [["say", "Hi.", "-o", "x.wav"], ["voices", "list"], ["cache"], ["phonemize", "Hi."]]
)
def test_an_unreadable_lightspeech_home_is_one_line_naming_it(lightspeech, isolated_home, command):
    made(isolated_home / "cache" / "voices", isolated_home / "config")
    status, stderr = lightspeech(*command, lock=[(isolated_home, 0)])
    assert status == 2
    assert_one_line(stderr, f"{UNREADABLE} {isolated_home}/c")
    assert f": {isolated_home}: Permission denied; set LIGHTSPEECH_HOME to a folder you own" in stderr


@pytest.mark.parametrize(
    "folder, command",
    [
        ("cache", ["say", "Hi.", "-o", "x.wav"]),
        ("cache", ["voices", "list"]),
        ("cache", ["cache"]),
        ("cache/voices", ["say", "Hi.", "-o", "x.wav"]),
        ("cache/voices", ["voices", "rm", "some-voice"]),
        ("cache/compiled", ["cache", "--clean"]),
        ("config", ["say", "Hi.", "-o", "x.wav"]),
        ("config", ["render", "lines.txt", "-o", "out"]),
    ],
)
def test_an_unreadable_folder_in_it_is_one_line_naming_it(lightspeech, isolated_home, tmp_path, folder, command):
    made(isolated_home / "cache" / "voices", isolated_home / "cache" / "compiled", isolated_home / "config")
    (tmp_path / "lines.txt").write_text("Hi.\n")
    status, stderr = lightspeech(*command, lock=[(isolated_home / folder, 0)])
    assert status == 2
    assert_one_line(stderr, UNREADABLE)
    assert f" {isolated_home / folder}: Permission denied; set LIGHTSPEECH_HOME to a folder you own" in stderr
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("folder", [".cache", ".config"])
def test_an_unreadable_folder_of_the_home_is_named_without_lightspeech_home(lightspeech, tmp_path, folder):
    home = made(tmp_path / "home")
    made(home / folder)
    status, stderr = lightspeech(
        "say", "Hi.", "-o", "x.wav", env={"HOME": str(home), "LIGHTSPEECH_HOME": ""}, lock=[(home / folder, 0)]
    )
    assert status == 2
    assert_one_line(stderr, f"{UNREADABLE} {home / folder}/lightspeech")
    assert f": {home / folder}: Permission denied" in stderr


def test_the_embedded_voice_speaks_when_the_cache_cannot_be_written(lightspeech, isolated_home, tmp_path):
    cache = made(isolated_home / "cache")
    status, stderr = lightspeech("say", "Hi.", "-o", "x.wav", lock=[(cache, 0o555)])
    assert status == 0, stderr
    assert (tmp_path / "x.wav").stat().st_size > 44 and not (cache / "frontend").exists()


def test_a_voice_folder_speaks_when_the_cache_cannot_be_read(lightspeech, isolated_home, tmp_path):
    cache = made(isolated_home / "cache")
    voice = embedded_voices_dir() / DEFAULT_VOICE
    status, stderr = lightspeech("say", "Hi.", "-v", voice, "-o", "x.wav", lock=[(cache, 0)])
    assert status == 0, stderr
    assert (tmp_path / "x.wav").stat().st_size > 44


def test_a_cache_that_cannot_be_written_is_an_output_error_when_cleaned(lightspeech, isolated_home):
    compiled = made(isolated_home / "cache" / "compiled")
    (compiled / "acoustic-0.onnx").write_bytes(b"x")
    status, stderr = lightspeech("cache", "--clean", lock=[(compiled, 0o555)])
    assert status == 3
    assert_one_line(stderr, f"cannot delete {compiled}: Permission denied")


def test_an_installed_voice_that_cannot_be_read_is_named(lightspeech, isolated_home):
    voice = made(isolated_home / "cache" / "voices" / "locked")
    (voice / "config.json").write_text("{}")
    status, stderr = lightspeech("say", "Hi.", "-v", "locked", "-o", "x.wav", lock=[(voice, 0)])
    assert status == 5
    assert_one_line(stderr, f"cannot read {voice / 'config.json'}: Permission denied")
    status, stderr = lightspeech("voices", "list", "--json")
    assert status == 0 and "Traceback" not in stderr
    status, stderr = lightspeech("voices", "rm", "locked")
    assert status == 3
    assert_one_line(stderr, f"cannot delete {voice}: Permission denied")


def test_a_compiled_model_cache_that_cannot_be_read_is_named(lightspeech, isolated_home, tmp_path):
    pytest.importorskip("torch")
    voice = make_tiny_voice(tmp_path / "older", onnx=False)  # format 1: compiled into the cache
    compiled = made(isolated_home / "cache" / "compiled")
    status, stderr = lightspeech("say", "Hi.", "-v", voice.folder, "-o", "x.wav", lock=[(compiled, 0)])
    assert status == 5
    assert_one_line(stderr, f"cannot write compiled models to {compiled}: Permission denied")


def test_readable_folder_names_the_folder_that_stops_it(tmp_path, monkeypatch):
    blocked = made(tmp_path / "home")
    real_stat = os.stat

    def stat_in_blocked(path, *args, **kwargs):  # what a folder without search permission does
        if str(path).startswith(f"{blocked}{os.sep}"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(paths.os, "stat", stat_in_blocked)
    with pytest.raises(InputError) as refused:
        paths.readable_folder(blocked / "cache" / "voices")
    assert str(refused.value) == (
        f"{UNREADABLE} {blocked}/cache/voices: {blocked}: Permission denied; set LIGHTSPEECH_HOME to a folder you own"
    )
    with pytest.raises(InputError, match=f"^{UNREADABLE} {blocked}: Permission denied;"):
        paths.readable_folder(blocked)
    assert paths.readable_folder(tmp_path / "missing" / "cache") == tmp_path / "missing" / "cache"


def test_a_file_where_the_lightspeech_home_should_be(tmp_path, monkeypatch, tiny_voice):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("LIGHTSPEECH_HOME", str(home))
    runner = CliRunner()
    assert runner.invoke(app, ["say", "Hi.", "-o", str(tmp_path / "x.wav")]).exit_code == 0
    listed = runner.invoke(app, ["voices", "list", "--json"])
    assert listed.exit_code == 0 and DEFAULT_VOICE in {row["name"] for row in json.loads(listed.stdout)}
    assert runner.invoke(app, ["cache", "--clean", "--all"]).exit_code == 0
    archive = tmp_path / "voice.tar.gz"
    assert runner.invoke(app, ["voices", "export", str(tiny_voice.folder), "-o", str(archive)]).exit_code == 0
    assert_one_line_error(runner.invoke(app, ["voices", "import", str(archive)]), 3, "cannot write to the cache")
    assert stat.S_ISREG(home.stat().st_mode)
