"""Our folders, atomic writes and bounded reads (paths.py): only regular files are replaced,
every read of a user's file is bounded, names that cannot be files are input errors, modes
follow the umask, and what killed writes left is swept."""

import json
import os
import stat
import time

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from lightspeech_cli import paths
from lightspeech_cli.cli import app
from lightspeech_cli.errors import OutputError
from lightspeech_cli.paths import checked_name
from lightspeech_cli.runtime import audio
from lightspeech_cli.runtime.format.voice import installed_voices_dir

from .helpers import assert_one_line, assert_one_line_error, make_tiny_voice, run_process

runner = CliRunner()
LONG_NAME = "x" * 300  # beyond the 255 bytes a file name may have


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_json_nested_thousands_deep_is_a_one_line_error_everywhere(tiny_voice, tmp_path):
    from lightspeech_cli.paths import config_dir

    deep = "[" * 50_000
    (tiny_voice.folder / "config.json").write_text('{"a": ' + deep)
    assert_one_line_error(run("voices", "info", tiny_voice.folder), 5, "config.json is corrupt: it nests too deep")
    jobs = tmp_path / "deep.jsonl"
    jobs.write_text('{"text": "Hi.", "speed": ' + deep + "\n")
    assert_one_line_error(run("render", jobs, "-o", tmp_path / "out"), 2, "deep.jsonl:1: not JSON that lightspeech")
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "config.json").write_text(deep)
    assert_one_line_error(run("voices", "pull", "en-us-lightspeech"), 2, "config.json is not valid JSON: it nests")


def test_atomic_write_never_replaces_a_special_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        with paths.atomic_write(fifo) as f:
            f.write(b"x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["fifo"]  # no staging file left


def test_read_limited_reads_no_more_than_it_needs(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 1001)
    assert paths.read_limited(path, 1001, "it") == b"a" * 1001
    with pytest.raises(paths.InputError, match=r"more than 1,000 bytes\); split"):
        paths.read_limited(path, 1000, "it", "split")


def test_names_too_long_are_one_line_errors(tmp_path):
    folder = make_tiny_voice(tmp_path / "voice").folder
    assert_one_line_error(run("say", "hi", "-o", tmp_path / f"{LONG_NAME}.wav"), 3, "File name too long")
    assert_one_line_error(run("voices", "export", folder, "-o", tmp_path / LONG_NAME), 3, "File name too long")
    assert_one_line_error(
        run("say", "hi", "-v", tmp_path / LONG_NAME / "voice", "-o", tmp_path / "a.wav"), 2, "File name too long"
    )
    assert_one_line_error(run("voices", "import", tmp_path / LONG_NAME), 2, "cannot read")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"text": "hi", "file": LONG_NAME + ".wav"}) + "\n")
    assert_one_line_error(run("render", jobs, "-o", tmp_path / "out", "-v", folder), 2, "jobs.jsonl:1: 'file'")


def test_installed_and_written_files_follow_the_umask(tmp_path, tiny_voice):
    folder_mode, file_mode = 0o777 & ~paths.umask(), 0o666 & ~paths.umask()
    archive = tmp_path / "voice.tar.gz"
    assert run("voices", "export", tiny_voice.folder, "-o", archive).exit_code == 0
    assert stat.S_IMODE(archive.stat().st_mode) == file_mode
    assert run("voices", "import", archive, "--name", "imported").exit_code == 0
    installed = installed_voices_dir() / "imported"
    assert stat.S_IMODE(installed.stat().st_mode) == folder_mode
    assert {stat.S_IMODE(p.stat().st_mode) for p in installed.iterdir()} == {file_mode}
    text = tmp_path / "input.txt"
    text.write_text("One.\n")
    assert run("render", text, "-o", tmp_path / "out", "-v", tiny_voice.folder).exit_code == 0
    assert stat.S_IMODE((tmp_path / "out" / "manifest.jsonl").stat().st_mode) == file_mode


def test_old_staging_files_of_any_output_are_swept(tmp_path):
    old = time.time() - 2 * paths.STALE_PART_SECONDS
    names = {
        ".a.wav.abcd_123.part": True,
        ".b.FLAC.zzzzzzzz.part": True,
        ".c.tar.gz.12345678.part": True,
        ".notes.txt.abcd1234.part": False,  # not a kind of file lightspeech writes: not clearly ours
        ".d.wav.part": False,
        "e.wav.abcd1234.part": False,
    }  # not atomic_write's shape
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (old, old))
    (tmp_path / ".fresh.wav.abcd1234.part").write_bytes(b"x")  # a live writer's, maybe
    audio.write_file(tmp_path / "new.wav", np.zeros(1, np.float32), 22050)
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {name for name, swept in names.items() if not swept} | {".fresh.wav.abcd1234.part", "new.wav"}
    assert soundfile.info(tmp_path / "new.wav").frames == 1


def test_a_fifo_where_lightspeech_looks_for_its_own_files_is_refused_at_once(isolated_home):
    paths.config_dir().mkdir(parents=True)
    commands = {"lexicon.txt": ["phonemize", "hi"], "config.json": ["voices", "pull", "en-us-lightspeech"]}
    for name, command in commands.items():
        os.mkfifo(paths.config_dir() / name)  # no writer: opening it would wait forever
        assert_one_line(run_process(*command, timeout=30), 2, f"{name}: not a regular file")
        os.unlink(paths.config_dir() / name)


@pytest.mark.parametrize("name", ["en-us-x", "a", "voice.v2", "x_1"])
def test_good_names(name):
    assert checked_name(name) == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", ".hidden", "a/b", "../x", "/abs", "A", "a b", "a\n", "x" * 65, "a..b", None, 5]
)
def test_bad_names(name):
    with pytest.raises(Exception, match="invalid"):
        checked_name(name)
