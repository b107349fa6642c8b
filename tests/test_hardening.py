"""Careless and hostile input that once ended in a traceback, a hang, an unbounded read or
a replaced special file: each case ends in one `error:` line and a documented exit
status, and leaves everything outside lightspeech's own folders as it was.

FIFOs stand in for devices (never a real /dev entry as an output); /dev/full is only ever
opened for writing, as the standard output of a child process."""

import io
import json
import os
import resource
import stat
import subprocess
import sys
import tarfile
import threading
import time

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from lightspeech_cli import paths
from lightspeech_cli.cli import app
from lightspeech_cli.errors import OutputError
from lightspeech_cli.runtime import audio, registry
from lightspeech_cli.runtime.format.voice import ModelConfig, installed_voices_dir

from .conftest import make_tiny_voice
from .test_cli_text import assert_one_line_error

runner = CliRunner()
LONG_NAME = "x" * 300  # beyond the 255 bytes a file name may have


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def run_process(*args, stdin=None, stdout=subprocess.PIPE, timeout=120, file_size_limit=None, close_stdout=False):
    """The CLI in a child process: for standard streams and resource limits."""

    def limit():
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        if close_stdout:  # as a shell's >&- does
            os.close(1)

    return subprocess.run(
        [sys.executable, "-m", "lightspeech_cli", *map(str, args)],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=timeout,
        preexec_fn=limit,
    )


def assert_one_line(process, code, message):
    lines = process.stderr.decode().strip().splitlines()
    assert process.returncode == code, process.stderr.decode()
    assert len(lines) == 1 and lines[0].startswith("lightspeech: error: ") and message in lines[0], lines


@pytest.fixture
def endless_fifo(tmp_path):
    """A FIFO that gives far more than any limit (50 MB, no newline) and never ends: what
    /dev/zero is to a reader, without touching /dev. Reading it whole would hang."""
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    done = threading.Event()

    def feed():
        try:
            with open(fifo, "wb") as f:
                for _ in range(800):
                    f.write(b"a" * 65536)
                done.wait(300)
        except BrokenPipeError:  # the reader stopped at its limit: what we want
            pass

    threading.Thread(target=feed, daemon=True).start()
    yield fifo
    done.set()


# --- 1. only regular files are ever replaced -------------------------------------------------


def test_voices_export_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_one_line_error(run("voices", "export", "en-us-lightspeech", "-o", fifo), 3, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_voices_export_to_standard_output_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run("voices", "export", "en-us-lightspeech", "-o", "-"), 2, "give -o NAME.tar.gz, not -")
    assert not (tmp_path / "-").exists()


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


def test_a_damaged_render_manifest_reads_as_empty_even_nested_thousands_deep(tiny_voice, tmp_path):
    (tmp_path / "lines.txt").write_text("Alpha.\n")
    out = tmp_path / "out"
    assert run("render", tmp_path / "lines.txt", "-o", out, "-v", tiny_voice.folder).exit_code == 0
    with open(out / "manifest.jsonl", "a") as manifest:
        manifest.write("[" * 50_000 + "\n")
    result = run("render", tmp_path / "lines.txt", "-o", out, "-v", tiny_voice.folder)
    assert result.exit_code == 0 and "1 already there" in result.output


def test_say_refuses_a_fifo_and_a_link_to_one(tmp_path):
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    link = tmp_path / "link.wav"
    link.symlink_to(fifo)
    for target in (fifo, link):
        assert_one_line_error(run("say", "hi", "-o", target), 3, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()


def test_atomic_write_never_replaces_a_special_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        with paths.atomic_write(fifo) as f:
            f.write(b"x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["fifo"]  # no staging file left


def test_render_refuses_a_fifo_among_its_files(tiny_voice, tmp_path):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("One.\nTwo.\n")
    out.mkdir()
    os.mkfifo(out / "0002.wav")
    assert_one_line_error(run("render", text, "-o", out, "-v", tiny_voice.folder), 3, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(out / "0002.wav").st_mode) and not (out / "0001.wav").exists()


# --- 2. cache --clean removes lightspeech's parts only ---------------------------------------


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


# --- 3. every read of a user's file is bounded ------------------------------------------------


def test_say_file_reads_with_a_bound(endless_fifo, tmp_path):
    assert_one_line(run_process("say", "-f", endless_fifo, "-o", tmp_path / "a.wav"), 2, "too long")


def test_render_reads_a_file_with_a_bound(endless_fifo, tmp_path):
    assert_one_line(run_process("render", endless_fifo, "-o", tmp_path / "out"), 2, "too long")
    assert not (tmp_path / "out").exists()


def test_render_reads_standard_input_with_a_bound(endless_fifo, tmp_path):
    with open(endless_fifo, "rb") as stdin:
        assert_one_line(run_process("render", "-", "-o", tmp_path / "out", stdin=stdin), 2, "too long")


def test_streamed_say_reads_a_line_with_a_bound(endless_fifo, tmp_path, tiny_voice):
    with open(endless_fifo, "rb") as stdin:
        process = run_process("say", "-v", tiny_voice.folder, "-o", tmp_path / "a.wav", stdin=stdin)
    assert_one_line(process, 2, "line 1 of the input is too long")


def test_the_config_file_is_read_with_a_bound(isolated_home):
    (isolated_home / "config").mkdir(parents=True)
    (isolated_home / "config" / "config.json").write_text('{"mirror": "http://x/"' + " " * 100_000 + "}")
    with pytest.raises(paths.InputError, match="config.json is too long"):
        registry.mirror("http://default")


def test_read_limited_reads_no_more_than_it_needs(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 1001)
    assert paths.read_limited(path, 1001, "it") == b"a" * 1001
    with pytest.raises(paths.InputError, match=r"more than 1,000 bytes\); split"):
        paths.read_limited(path, 1000, "it", "split")


# --- 4. one output holds a bounded length of audio -----------------------------------------


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(audio, "MAX_OUTPUT_SECONDS", 5)


def test_long_silences_are_refused_in_a_file(tiny_voice, tmp_path, short_limit):
    out = tmp_path / "a.wav"
    many = "One. Two. Three. Four."
    assert_one_line_error(
        run("say", many, "-v", tiny_voice.folder, "--sentence-silence", "3", "-o", out), 2, "longer than"
    )
    assert not out.exists()
    breaks = "<speak>" + "hi <break time='10s'/>" * 3 + "</speak>"
    assert_one_line_error(run("say", breaks, "-v", tiny_voice.folder, "-o", "-"), 2, "longer than")
    streamed = run("say", many, "-v", tiny_voice.folder, "--sentence-silence", "3", "--raw")
    assert streamed.exit_code == 0 and len(streamed.stdout_bytes) > 2 * 5 * 22050  # a stream may go on


def test_render_refuses_an_utterance_too_long(tiny_voice, tmp_path, short_limit):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("Short.\nOne. Two. Three. Four.\n")
    assert_one_line_error(
        run("render", text, "-o", out, "-v", tiny_voice.folder, "--sentence-silence", "3"),
        2,
        "0002.wav would be longer than",
    )
    assert not (out / "0002.wav").exists()
    assert [json.loads(line)["file"] for line in (out / "manifest.jsonl").read_text().splitlines()] == ["0001.wav"]


# --- 5. render's manifest is hostile ----------------------------------------------------------


def rendered(tiny_voice, tmp_path, lines="One.\nTwo.\n"):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text(lines)
    assert run("render", text, "-o", out, "-v", tiny_voice.folder).exit_code == 0
    return text, out


def test_a_manifest_that_is_a_fifo_or_a_link_is_refused(tiny_voice, tmp_path):
    text, out = rendered(tiny_voice, tmp_path)
    (out / "manifest.jsonl").unlink()
    os.mkfifo(out / "manifest.jsonl")
    assert_one_line(
        run_process("render", text, "-o", out, "-v", tiny_voice.folder, timeout=60), 3, "not a regular file"
    )
    (out / "manifest.jsonl").unlink()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (out / "manifest.jsonl").symlink_to(outside)
    assert_one_line_error(run("render", text, "-o", out, "-v", tiny_voice.folder), 3, "not a regular file")
    assert outside.read_text() == "keep"


@pytest.mark.parametrize("seconds", ["abc", None, True, -1, 1e999, 10**400, [1]])
def test_bad_manifest_entries_are_redone(tiny_voice, tmp_path, seconds):
    text, out = rendered(tiny_voice, tmp_path)
    entries = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    entries[0]["seconds"] = seconds
    (out / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    for _ in range(2):  # and every later run too
        result = run("render", text, "-o", out, "-v", tiny_voice.folder)
        assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.jsonl").read_text().splitlines()[0])["seconds"] > 0


def test_a_manifest_never_brings_in_a_file_from_outside(tiny_voice, tmp_path):
    text, out = rendered(tiny_voice, tmp_path)
    secret = tmp_path / "secret.wav"
    secret.write_bytes((out / "0001.wav").read_bytes() + b"SECRET")
    entries = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    entries[0]["file"] = "../secret.wav"  # with 0001.wav's key: "move it into place"
    (out / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    (out / "0001.wav").unlink()
    assert run("render", text, "-o", out, "-v", tiny_voice.folder).exit_code == 0
    assert b"SECRET" not in (out / "0001.wav").read_bytes() and secret.exists()


def test_a_failing_manifest_write_is_an_output_error(tiny_voice, tmp_path):
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    jobs.write_text(json.dumps({"text": "Hi." + "." * 15_000}) + "\n")  # a short sound, a long manifest line
    process = run_process(
        "render", jobs, "-o", out, "-v", tiny_voice.folder, "--sample-rate", "8000", file_size_limit=12_000
    )
    assert_one_line(process, 3, "manifest.jsonl: File too large")


def test_a_killed_renders_leftovers_are_swept(tiny_voice, tmp_path):
    text, out = rendered(tiny_voice, tmp_path)
    (out / ".render-moves.abc123").mkdir()
    (out / ".render-moves.abc123" / "0001.wav").write_bytes(b"x")
    (out / ".0001.wav.abcd1234.part").write_bytes(b"x")
    assert run("render", text, "-o", out, "-v", tiny_voice.folder).exit_code == 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


# --- 6. names too long and numbers too big are input errors -----------------------------------


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


def test_a_huge_whole_number_in_json_lines_is_an_input_error(tiny_voice, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"text": "hi"}\n{"text": "hi", "speed": 1' + "0" * 400 + "}\n")
    assert_one_line_error(
        run("render", jobs, "-o", tmp_path / "out", "-v", tiny_voice.folder), 2, "jobs.jsonl:2: speed is out of range"
    )


# --- 7, 8. standard output closed, full, or its reader gone -----------------------------------


def test_a_closed_stdout_is_an_output_error(tmp_path, tiny_voice):
    for command in (["phonemize", "hi"], ["say", "hi", "-v", tiny_voice.folder, "-o", "-"]):
        assert_one_line(run_process(*command, stdout=None, close_stdout=True), 3, "cannot write to standard output")
    written = tmp_path / "a.wav"  # with nothing to print, a closed stdout is no matter
    assert (
        run_process("say", "hi", "-v", tiny_voice.folder, "-o", written, stdout=None, close_stdout=True).returncode == 0
    )
    assert soundfile.info(written).frames > 0


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("command", [["--help"], ["say", "--help"], ["--version"], ["phonemize", "hi"]])
def test_a_full_stdout_is_an_output_error(command):
    with open("/dev/full", "w") as full:  # opened for writing only, never an output path
        assert_one_line(run_process(*command, stdout=full), 3, "No space left on device")


@pytest.mark.parametrize("command", [["phonemize", "Hello there. " * 2000], ["say", "Hello there. " * 40, "--raw"]])
def test_a_reader_that_goes_away_ends_with_141(command, tiny_voice):
    if command[0] == "say":
        command += ["-v", str(tiny_voice.folder)]
    process = subprocess.Popen(
        [sys.executable, "-m", "lightspeech_cli", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.read(10)
    process.stdout.close()  # as `| head -c 10` does
    assert process.wait(timeout=120) == 141
    assert process.stderr.read() == b""


# --- 9. nothing from outside sends escape sequences to the terminal ---------------------------


def test_voices_info_strips_control_characters_from_the_card(tmp_path):
    folder = make_tiny_voice(tmp_path / "voice").folder
    (folder / "MODEL_CARD.md").write_text("# Card\n\x1b[2J\x1b]0;pwned\x07cleared\r\tindented\u202eevil\n")
    result = run("voices", "info", folder)
    assert result.exit_code == 0
    card = result.stdout.split("# Card")[1]
    assert not any(c in card for c in "\x1b\x07\r\u202e")
    assert "cleared" in card and "\tindented" in card and card.count("\n") >= 2
    assert "\\u001b" in run("voices", "info", folder, "--json").stdout  # JSON escapes it itself


# --- 10, 11. imports: output failures named as such; modes follow the umask -------------------


def test_a_write_limit_during_import_is_an_output_error(tmp_path):
    voice = make_tiny_voice(tmp_path / "voice")
    archive = registry.export_archive(voice, tmp_path / "voice.tar.gz")
    largest = max(path.stat().st_size for path in voice.folder.iterdir())
    process = run_process("voices", "import", archive, file_size_limit=largest - 1)
    assert_one_line(process, 3, "File too large")
    assert not [p for p in installed_voices_dir().iterdir() if not p.name.startswith(".")]


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


# --- 12. a voice's weights must fit its config --------------------------------------------------


@pytest.mark.parametrize(
    "architecture",
    ["lightspeech", "fastspeech2", "sep1 att4+ffn identity | ffn att8 sep21 hidden=32 predictor=conv postnet=1"],
)
def test_expected_weights_match_the_torch_model(architecture):
    from lightspeech_cli.model.acoustic import AcousticModel

    config = ModelConfig(architecture=architecture, variance_bins=17, predictor_kernel=5, n_mels=40)
    model = AcousticModel(config)
    assert config.expected_weights() == {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_weights_of_another_architecture_are_refused_at_import(tmp_path):
    voice = make_tiny_voice(tmp_path / "voice")
    other = make_tiny_voice(tmp_path / "other", architecture="sep5 | sep5 hidden=16")
    files = {p.name: p.read_bytes() for p in voice.folder.iterdir()}
    files["model.safetensors"] = other.weights_path.read_bytes()
    archive = tmp_path / "mixed.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert_one_line_error(run("voices", "import", archive), 5, "do not fit the model")
    assert not installed_voices_dir().exists() or not [
        p for p in installed_voices_dir().iterdir() if not p.name.startswith(".")
    ]


# --- 13. train's --threads has say's bound ------------------------------------------------------


def test_train_threads_are_bounded_by_the_cores(tmp_path):
    too_many = 4 * (os.cpu_count() or 1) + 1
    for command in (["train", "fit"], ["train", "corpus"], ["train", "vocoder"]):
        assert_one_line_error(run(*command, tmp_path, "--threads", too_many), 2, "--threads must be from 1 to")


# --- 15. what killed writes left is swept by the next write in that folder ---------------------


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


# --- 16. lexicons are read with a bound -------------------------------------------------------


@pytest.fixture
def huge_lexicon(tmp_path):
    """A well-formed lexicon just past the limit: read whole, it would be accepted."""
    from lightspeech_cli.text.g2p import MAX_LEXICON_BYTES

    path = tmp_path / "huge-lexicon.txt"
    line = b"tomato T AH0 M AA1 T OW2\n"
    path.write_bytes(line * (MAX_LEXICON_BYTES // len(line) + 1))
    return path


def test_a_lexicon_that_never_ends_is_refused(endless_fifo):
    assert_one_line(run_process("phonemize", "--lexicon", endless_fifo, "hi"), 2, "too long")


def test_a_fifo_where_lightspeech_looks_for_its_own_files_is_refused_at_once(isolated_home):
    paths.config_dir().mkdir(parents=True)
    commands = {"lexicon.txt": ["phonemize", "hi"], "config.json": ["voices", "pull", "en-us-lightspeech"]}
    for name, command in commands.items():
        os.mkfifo(paths.config_dir() / name)  # no writer: opening it would wait forever
        assert_one_line(run_process(*command, timeout=30), 2, f"{name}: not a regular file")
        os.unlink(paths.config_dir() / name)


def test_every_lexicon_is_read_with_a_bound(huge_lexicon, tiny_voice, tmp_path, isolated_home):
    from lightspeech_cli.cli.render import lexicon_identity

    assert_one_line_error(
        run("say", "hi", "-v", tiny_voice.folder, "--lexicon", huge_lexicon, "-o", tmp_path / "a.wav"), 2, "too long"
    )
    with pytest.raises(paths.InputError, match="too long"):
        lexicon_identity(huge_lexicon)
    paths.default_lexicon_path().parent.mkdir(parents=True)
    huge_lexicon.rename(paths.default_lexicon_path())
    assert_one_line_error(run("phonemize", "hi"), 2, "too long")


# --- 17. SSML pauses and the library's audio are bounded ----------------------------------------


def test_the_pauses_of_one_ssml_document_are_bounded():
    from lightspeech_cli.text.ssml import MAX_BREAK_SECONDS, MAX_DOCUMENT_PAUSE_SECONDS

    breaks = int(MAX_DOCUMENT_PAUSE_SECONDS // MAX_BREAK_SECONDS)
    at_most = "<speak>hi" + f"<break time='{MAX_BREAK_SECONDS:g}s'/>" * breaks + "</speak>"
    assert run("phonemize", at_most).exit_code == 0
    assert_one_line_error(run("phonemize", at_most.replace("hi", "hi<p>there</p>")), 2, "minutes of pauses")


def test_the_library_holds_at_most_an_hour_of_audio(tiny_voice, tmp_path, short_limit):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    synthesizer = Synthesizer(tiny_voice)
    many = "One. Two. Three. Four."
    with pytest.raises(InputError, match="longer than"):
        synthesizer.synthesize(many, sentence_silence=3)
    with pytest.raises(InputError, match="longer than"):
        synthesizer.write(many, tmp_path / "a.wav", sentence_silence=3)
    assert not (tmp_path / "a.wav").exists()
    assert len(synthesizer.synthesize("One.")) > 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s, path: s.write("Hi.", path, sample_rate=5), "sample_rate must be a whole number from 8000"),
        (lambda s, path: s.write("Hi.", path, sample_rate=16000.5), "sample_rate must be a whole number"),
        (lambda s, path: s.write("Hi.", path, sample_rate="16000"), "sample_rate must be a whole number"),
        (lambda s, path: s.write("Hi.", path, speed=0), "^speed must be a number from 0.25 to 4, not 0$"),
        (lambda s, path: s.synthesize("Hi.", volume=float("nan")), "^volume must be a number"),
        (lambda s, path: s.synthesize("Hi.", sentence_silence=-1), "^sentence_silence must be from 0 to 30"),
        (lambda s, path: s.synthesize(None), "^text must be a str, not NoneType$"),
        (lambda s, path: s.write(b"Hi.", path), "^text must be a str, not bytes$"),
        (lambda s, path: s.write("Hi.", None), "^path must be a file name, not NoneType$"),
        (lambda s, path: s.write("Hi.", path.with_suffix(".mp3"), sample_rate=12345), "12345 cannot be written as MP3"),
        (lambda s, path: s.write("Hi.", str(path) + "\0.wav"), "a file name cannot hold a NUL character$"),
        (lambda s, path: s.synthesize("Hi.", sped=2), "^unknown option 'sped'; the options are speed, pitch"),
        (lambda s, path: s.write("Hi.", path, sped=2), "^unknown option 'sped'"),
        (lambda s, path: s.synthesize("Hi.", ssml="no"), "^ssml must be True, False or None"),
        (lambda s, path: s.plan("Hi.", warn=5), "^warn must be a function of one message, not int$"),
    ],
)
def test_the_python_api_refuses_bad_arguments_by_their_python_names(tiny_voice, tmp_path, call, message):
    """A program gets the parameter it passed named as it spelled it (the CLI names its
    options), and never a file at 5 Hz."""
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    with pytest.raises(InputError, match=message):
        call(Synthesizer(tiny_voice), tmp_path / "a.wav")
    assert not (tmp_path / "a.wav").exists()


@pytest.mark.parametrize("command", [["say", "Hi.", "-o", "x.mp3"], ["render", "lines.txt", "-o", "out", "-F", "mp3"]])
def test_an_mp3_at_a_rate_mpeg_lacks_is_refused_before_synthesis(tiny_voice, tmp_path, command):
    (tmp_path / "lines.txt").write_text("Hi.\n")
    paths = [str(tmp_path / part) if part in ("x.mp3", "out", "lines.txt") else part for part in command]
    result = run(*paths, "-v", tiny_voice.folder, "--sample-rate", "12345")
    assert_one_line_error(result, 2, "--sample-rate 12345 cannot be written as MP3, whose rates are 8000, 11025")
    assert not (tmp_path / "x.mp3").exists()
    assert run(*paths, "-v", tiny_voice.folder, "--sample-rate", "16000").exit_code == 0


def test_the_python_api_takes_numpy_numbers(tiny_voice, tmp_path):
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    synthesizer = Synthesizer(tiny_voice)
    synthesizer.write("Hi.", tmp_path / "a.wav", sample_rate=np.int64(16000))
    assert soundfile.info(str(tmp_path / "a.wav")).samplerate == 16000
    plain = synthesizer.synthesize("Hi. Bye.", speed=0.5, sentence_silence=0.25)
    numpy = synthesizer.synthesize("Hi. Bye.", speed=np.float32(0.5), sentence_silence=np.float64(0.25))
    np.testing.assert_array_equal(numpy, plain)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"vocoder": 3}, "^vocoder must be a name or a folder, not int$"),
        ({"backend": 3}, "^backend must be a name, not int$"),
        ({"vocoder": ""}, "^the vocoder name is empty"),
        ({"backend": ""}, "^the backend name is empty"),
    ],
)
def test_synthesizer_names_of_the_wrong_type_are_input_errors(tiny_voice, options, message):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    with pytest.raises(InputError, match=message):
        Synthesizer(tiny_voice, **options)


def test_an_empty_voice_name_or_a_lexicon_of_the_wrong_type_is_an_input_error():
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    with pytest.raises(InputError, match="^the voice name is empty"):
        Synthesizer.load("")
    with pytest.raises(InputError, match="^lexicon must be a file name, not int$"):
        Synthesizer.load(lexicon=5)
    assert_one_line_error(run("say", "Hi.", "-o", "x.wav", "-v", ""), 2, "the voice name is empty")


def test_synthesizer_threads_are_checked_by_their_python_name(tiny_voice):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.synthesizer import Synthesizer

    for threads in (0, 1.5, True, 10_000):
        with pytest.raises(InputError, match=f"^threads must be from 1 to .*, not {threads!r}$"):
            Synthesizer(tiny_voice, threads=threads)


# --- 18. weights that do not fit their config are refused at load ------------------------------


def test_voice_weights_that_do_not_fit_are_refused_at_load(tmp_path):
    import shutil

    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.voice import Voice

    folder = make_tiny_voice(tmp_path / "mixed").folder
    other = make_tiny_voice(tmp_path / "other", architecture="sep5 | sep5 hidden=16")
    shutil.copy(other.weights_path, folder / "model.safetensors")  # the ONNX model still runs
    with pytest.raises(VoiceError, match="its weights do not fit the model its config describes"):
        Voice(folder)
    assert_one_line_error(run("say", "hi", "-v", folder, "-o", tmp_path / "a.wav"), 5, "do not fit the model")
    shutil.copytree(folder, installed_voices_dir() / "mixed")
    assert_one_line_error(run("say", "hi", "-v", "mixed", "-o", tmp_path / "a.wav"), 5, "do not fit the model")
    assert not (tmp_path / "a.wav").exists()


def test_expected_vocoder_weights_match_the_torch_model():
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    config = IstftVocoderConfig(n_mels=40, n_fft=512, hop_length=128, channels=16, hidden=24, layers=3, kernel_size=5)
    state = IstftVocoder(config).state_dict()
    assert config.expected_weights() == {k: tuple(v.shape) for k, v in state.items()}
    assert config.parameters() == sum(v.numel() for v in state.values())


def test_vocoder_weights_that_do_not_fit_are_refused_at_load(tmp_path, tiny_voice):
    from safetensors.torch import save_file

    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    from .conftest import make_tiny_vocoder

    folder = tmp_path / "vocoder"
    make_tiny_vocoder(folder)
    assert run("say", "hi", "-v", tiny_voice.folder, "--vocoder", folder, "-o", tmp_path / "a.wav").exit_code == 0
    smaller = IstftVocoder(IstftVocoderConfig(channels=8, hidden=32, layers=2))
    save_file(smaller.state_dict(), folder / "model.safetensors")
    assert_one_line_error(
        run("say", "hi", "-v", tiny_voice.folder, "--vocoder", folder, "-o", tmp_path / "b.wav"),
        5,
        "vocoder vocoder: its weights do not fit",
    )


# --- 19. voice and vocoder folders: paths too long, files that are not regular ----------------


def test_a_voice_or_vocoder_path_too_long_is_an_input_error(tmp_path):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.runtime.format.vocoder import find_vocoder_folder
    from lightspeech_cli.runtime.format.voice import find_voice

    with pytest.raises(InputError, match="File name too long"):
        find_voice(str(tmp_path / LONG_NAME / "voice"))
    with pytest.raises(InputError, match="File name too long"):
        find_vocoder_folder(str(tmp_path / LONG_NAME / "vocoder"))


@pytest.mark.parametrize("name", ["config.json", "model.onnx", "model.safetensors"])
def test_a_voice_file_that_is_a_fifo_is_refused(tmp_path, name):
    folder = make_tiny_voice(tmp_path / "voice").folder
    (folder / name).unlink()
    os.mkfifo(folder / name)  # opened for reading, it would wait for a writer forever
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, f"{folder / name} is not a regular file")


@pytest.mark.parametrize("name", ["config.json", "model.onnx", "model.safetensors"])
def test_a_vocoder_file_that_is_a_fifo_is_refused(tmp_path, tiny_voice, name):
    from .conftest import make_tiny_vocoder

    folder = tmp_path / "vocoder"
    make_tiny_vocoder(folder)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    process = run_process(
        "say", "hi", "-v", tiny_voice.folder, "--vocoder", folder, "-o", tmp_path / "a.wav", timeout=60
    )
    assert_one_line(process, 5, f"{folder / name} is not a regular file")


@pytest.mark.parametrize("location", ["../secret.bin", "/SECRET", "link.bin"])
def test_a_voice_graph_reads_no_file_outside_its_folder(tmp_path, location):
    """ONNX external data names a file to read weights from, and ONNX Runtime before 1.24
    read one outside the model's folder: a downloaded model.onnx could read any file. The
    engine hands ONNX Runtime the folder's model.safetensors and nothing else to read."""
    import onnx

    folder = make_tiny_voice(tmp_path / "voice").folder
    secret = tmp_path / "secret.bin"
    graph = onnx.load(str(folder / "model.onnx"))
    tensor = max(graph.graph.initializer, key=lambda t: len(t.raw_data))
    secret.write_bytes(tensor.raw_data)  # exactly the bytes the graph needs, so only the path can fail
    (folder / "link.bin").symlink_to(secret)
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=location.replace("/SECRET", str(secret)))
    (folder / "model.onnx").write_bytes(graph.SerializeToString())
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, "does not load in ONNX Runtime (")
    assert "not found from the table user provided" in process.stderr.decode()  # only model.safetensors is given
    assert not (tmp_path / "a.wav").exists()


def test_a_graph_refuses_weights_laid_out_otherwise_than_it_was_made_for(tmp_path):
    """model.onnx reads its weights at byte offsets in model.safetensors: the same tensors
    stored as float32 (an older export's file) would put other bytes there and play noise
    without a word, so the graph's record of the layout must refuse them; new numbers in the
    same layout (a retrained model's) are what the folder holds, and run."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    from lightspeech_cli.runtime.engine import acoustic_model
    from lightspeech_cli.runtime.format.voice import Voice

    folder = make_tiny_voice(tmp_path / "voice").folder
    weights = load_file(folder / "model.safetensors")
    ids, ones = np.asarray([[10, 20, 30]], np.int64), np.ones((1, 3), np.float32)
    before = acoustic_model(Voice(folder), threads=1)(ids, ones, ones, ones)[0]
    save_file(
        {name: value * 2 if value.dtype == np.float16 else value for name, value in weights.items()},
        folder / "model.safetensors",
    )
    after = acoustic_model(Voice(folder), threads=1)(ids, ones, ones, ones)[0]
    assert after.shape[1] > 0 and (after.shape != before.shape or not np.allclose(after, before))  # new numbers used

    save_file({name: value.astype(np.float32) for name, value in weights.items()}, folder / "model.safetensors")
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, "model.onnx was made for another model.safetensors than the one beside it")


def test_a_vocoder_graph_in_a_voice_folder_is_named_as_such(tmp_path):
    """A self-contained vocoder graph (as folders held before their graphs read the weights
    file) copied over a voice's: one line, not an internal error at the first run."""
    from lightspeech_cli.model.export import export_istft_network

    from .conftest import make_tiny_vocoder

    folder = make_tiny_voice(tmp_path / "voice").folder
    export_istft_network(make_tiny_vocoder(tmp_path / "vocoder"), folder / "model.onnx")
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, "gives spectrum, source_filter, f0, not mel, durations: it is another model's graph")


def test_a_running_voice_does_not_depend_on_its_weights_file_staying_as_it_was(tmp_path):
    """A server keeps its voice loaded for days: rewriting model.safetensors in place (cp over
    it) must not change what it says, nor kill it (ONNX Runtime maps float32 external data
    from the file, and a truncated mapping is SIGBUS)."""
    import shutil

    from lightspeech_cli.runtime.format.voice import embedded_voices_dir

    folder = tmp_path / "voice"
    shutil.copytree(embedded_voices_dir() / "en-us-lightspeech", folder)  # float32 weights: mapped if left to it
    script = f"""
import numpy as np
from pathlib import Path
from lightspeech_cli.runtime.engine import acoustic_model
from lightspeech_cli.runtime.format.voice import Voice
run = acoustic_model(Voice(Path({str(folder)!r})), threads=1)
ids, ones = np.asarray([[10, 20, 30, 40]], np.int64), np.ones((1, 4), np.float32)
before = run(ids, ones, ones, ones)[0]
with open({str(folder / "model.safetensors")!r}, "r+b") as f:
    f.truncate(1000)
print(np.array_equal(run(ids, ones, ones, ones)[0], before))
"""
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert process.returncode == 0 and process.stdout.strip() == b"True", process


def test_a_model_card_that_is_a_fifo_is_not_read(tmp_path):
    folder = make_tiny_voice(tmp_path / "voice").folder
    os.mkfifo(folder / "MODEL_CARD.md")
    process = run_process("voices", "info", folder, timeout=60)
    assert process.returncode == 0 and b'"name": "voice"' in process.stdout


# --- 20. Ctrl-C says so -------------------------------------------------------------------------


def test_ctrl_c_says_it_was_interrupted(tiny_voice, tmp_path):
    import signal

    output = tmp_path / "a.wav"
    process = subprocess.Popen(
        [sys.executable, "-m", "lightspeech_cli", "say", "-v", str(tiny_voice.folder), "-o", str(output), "--verbose"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Ctrl-C as in a terminal: a suite started in the background by a shell without job
        # control (`cmd &` in a script) inherits SIGINT ignored, which Python then keeps.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        seen = []
        for line in iter(process.stderr.readline, b""):  # once the voice is loaded, it waits on stdin
            seen.append(line)
            if b"loaded voice" in line:
                break
        assert seen and b"loaded voice" in seen[-1], seen
        process.stdin.write(b"One sentence.\n")
        process.stdin.flush()  # and stdin stays open, as a pipe from a program that has more to say
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
        lines = process.stderr.read().decode().splitlines()
        assert lines == ["lightspeech: interrupted"], lines
        assert not output.exists()
    finally:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stderr.close()


def test_train_corpus_reads_held_out_sentences_with_a_bound_and_needs_some(tmp_path):
    assert_one_line_error(run("train", "corpus", tmp_path / "w", "--heldout", "/dev/zero"), 2, "too long")
    (tmp_path / "empty.txt").write_text("\n \n")
    result = run("train", "corpus", tmp_path / "w", "--heldout", tmp_path / "empty.txt")
    assert_one_line_error(result, 2, "no sentences")


@pytest.mark.parametrize("text", ["", " ", "abc", "2MB", "-1", "0", "1e999"])
def test_search_max_params_refuses_what_is_not_a_positive_count(text):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.search.run import parse_count

    with pytest.raises(InputError, match="--max-params"):
        parse_count(text)
    assert parse_count("1.8M") == 1_800_000 and parse_count("800k") == 800_000


@pytest.mark.parametrize(
    "command", [["train", "features"], ["train", "fit"], ["train", "export"], ["train", "vocoder"], ["search"]]
)
def test_a_training_folder_that_is_a_file_or_a_link_to_nothing_is_a_usage_error(tmp_path, command):
    (tmp_path / "file").write_text("x")
    (tmp_path / "nothing").symlink_to(tmp_path / "missing")
    extra = ["-o", str(tmp_path / "out")] if command[-1] in ("export", "search") else []
    assert_one_line_error(run(*command, tmp_path / "file", *extra), 2, "is not a folder; give a training folder")
    assert_one_line_error(run(*command, tmp_path / "nothing", *extra), 2, "is a link to nothing")


def test_a_corpus_without_held_out_utterances_is_one_input_error(tmp_path):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.train.fit import load_split

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "metadata.jsonl").write_text('{"id": "00001", "split": "train", "phonemes": ["AH0"]}\n')
    with pytest.raises(InputError, match="has no heldout utterances; run `lightspeech train corpus` again"):
        load_split(tmp_path / "corpus", tmp_path / "features", "heldout")


def test_profile_refuses_a_text_too_long_to_profile_as_one_sequence():
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.profile import MAX_PROFILE_PHONEMES, phoneme_ids

    ids, _ = phoneme_ids("Hello there friend. " * 10, "arpabet-1")
    assert 0 < ids.shape[1] < MAX_PROFILE_PHONEMES
    with pytest.raises(InputError, match="phonemes, profiled as one sequence; give at most 5,000"):
        phoneme_ids("Hello there friend. " * 400, "arpabet-1")
