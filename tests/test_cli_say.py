import json
import os
import resource
import select
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.runtime.synthesizer import DEFAULT_EDGE_SILENCE

from .conftest import make_tiny_vocoder, make_tiny_voice
from .test_cli_text import assert_one_line_error

runner = CliRunner()
HOP = 256
HELLO_FRAMES = 10 * 6  # "Hello world." is 10 symbols; tiny voices say 6 frames each
EDGE = round(DEFAULT_EDGE_SILENCE * 22050)  # the silence before and after each sentence
HELLO_SAMPLES = HELLO_FRAMES * HOP + 2 * EDGE


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def lightspeech(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "lightspeech_cli", *map(str, args)], capture_output=True, **kwargs)


@pytest.mark.parametrize("extension", ["wav", "flac", "ogg", "mp3"])
def test_say_writes_each_format(tiny_voice, tmp_path, extension):
    out = tmp_path / f"hello.{extension}"
    result = run("say", "Hello world.", "-v", tiny_voice.folder, "-o", out)
    assert result.exit_code == 0, result.output
    assert soundfile.info(out).samplerate == 22050


def test_say_makes_what_the_durations_say_with_silence_only_between_sentences(tiny_voice, tmp_path):
    run("say", "Hello world.", "-v", tiny_voice.folder, "-o", tmp_path / "one.wav")
    one, _ = soundfile.read(tmp_path / "one.wav")
    assert len(one) == HELLO_SAMPLES  # no silence after the last sentence
    assert np.abs(one).max() > 0.1
    run(
        "say",
        "Hello world. Hello world.",
        "-v",
        tiny_voice.folder,
        "-o",
        tmp_path / "two.wav",
        "--sentence-silence",
        "0.5",
    )
    assert soundfile.info(tmp_path / "two.wav").frames == 2 * HELLO_SAMPLES + int(0.5 * 22050)
    run(
        "say",
        "Hello world. Hello world.",
        "-v",
        tiny_voice.folder,
        "-o",
        tmp_path / "none.wav",
        "--sentence-silence",
        "0",
    )
    assert soundfile.info(tmp_path / "none.wav").frames == 2 * HELLO_SAMPLES


def test_unquoted_words_a_file_and_stdin_say_the_same(tiny_voice, tmp_path):
    (tmp_path / "text.txt").write_text("Hello world.\n")
    outputs = []
    for args, stdin in [
        (["Hello", "world."], None),
        (["-f", tmp_path / "text.txt"], None),
        (["-f", "-"], "Hello world.\n"),
        ([], "Hello world.\n"),
    ]:
        out = tmp_path / f"{len(outputs)}.wav"
        result = run("say", *args, "-v", tiny_voice.folder, "-o", out, input=stdin)
        assert result.exit_code == 0, result.output
        outputs.append(soundfile.read(out)[0])
    assert all(np.array_equal(o, outputs[0]) for o in outputs)


def test_say_to_stdout_as_wav_and_raw(tiny_voice):
    wav = lightspeech("say", "Hi there. Bye.", "-v", tiny_voice.folder, "-o", "-")
    assert wav.returncode == 0 and wav.stdout[:4] == b"RIFF"
    raw = lightspeech("say", "Hi there. Bye.", "-v", tiny_voice.folder, "--raw")
    assert raw.returncode == 0 and len(raw.stdout) == len(wav.stdout) - 44  # the same PCM without its header


def test_controls_change_the_audio(tiny_voice, tmp_path):
    def frames(*options):
        out = tmp_path / "x.wav"
        assert run("say", "Hello world.", "-v", tiny_voice.folder, "-o", out, *options).exit_code == 0
        return soundfile.read(out)[0]

    normal = frames()
    faster = HELLO_FRAMES * HOP // 2 + 2 * EDGE  # 3 frames per phoneme instead of 6; the edges stay
    assert len(normal) == HELLO_SAMPLES and len(frames("--speed", "2")) == faster
    assert len(frames("--rate", "350")) == faster  # 350 words per minute is speed 2
    assert np.allclose(frames("--volume", "0.5"), normal * 0.5, atol=1e-4)
    assert len(frames("--pitch", "1.5")) == len(normal) and not np.allclose(frames("--pitch", "1.5"), normal)


def test_energy_changes_the_audio_not_its_length(tiny_voice, tmp_path):
    def audio(energy):
        out = tmp_path / f"{energy}.wav"
        assert run("say", "Hello world.", "-v", tiny_voice.folder, "-o", out, "--energy", energy).exit_code == 0
        return soundfile.read(out)[0]

    normal, strong, weak = audio("1"), audio("1.5"), audio("0.5")
    assert len(strong) == len(weak) == len(normal) == HELLO_SAMPLES
    assert not np.allclose(strong, normal, atol=1e-3) and not np.allclose(weak, normal, atol=1e-3)


def test_ssml_on_streamed_stdin_is_read_as_one_document(tiny_voice, tmp_path):
    """A document over several lines of a pipe: its tags are markup, not words, and its break is a pause."""
    document = '<speak>\nHello world.\n<break time="500ms"/>\nHello world.\n</speak>\n'
    streamed, argument = tmp_path / "streamed.wav", tmp_path / "argument.wav"
    assert run("say", "-v", tiny_voice.folder, "-o", streamed, input=document).exit_code == 0
    assert run("say", document, "-v", tiny_voice.folder, "-o", argument).exit_code == 0
    samples = soundfile.read(streamed)[0]
    assert len(samples) == 2 * HELLO_SAMPLES + int(0.5 * 22050)
    assert np.array_equal(samples, soundfile.read(argument)[0])
    pause = samples[HELLO_SAMPLES : HELLO_SAMPLES + int(0.5 * 22050)]
    assert not pause.any()


def test_resampled_output(tiny_voice, tmp_path):
    out = tmp_path / "phone.wav"
    assert run("say", "Hello world.", "-v", tiny_voice.folder, "-o", out, "--sample-rate", "16000").exit_code == 0
    info = soundfile.info(out)
    assert info.samplerate == 16000 and info.frames == round(HELLO_SAMPLES * 16000 / 22050)


def test_say_with_a_trained_vocoder_folder(tiny_voice, tmp_path):
    make_tiny_vocoder(tmp_path / "istft")
    out = tmp_path / "x.wav"
    result = run("say", "Hello world.", "-v", tiny_voice.folder, "--vocoder", tmp_path / "istft", "-o", out)
    assert result.exit_code == 0, result.output
    assert soundfile.info(out).frames == HELLO_SAMPLES


def test_stdin_is_spoken_line_by_line_as_it_arrives(tiny_voice):
    """The first line's audio comes out before the second line is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lightspeech_cli", "say", "--raw", "-v", str(tiny_voice.folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        process.stdin.write(b"Hello world.\n")
        process.stdin.flush()
        expected = HELLO_SAMPLES * 2
        first, deadline = b"", time.time() + 60
        while len(first) < expected and time.time() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                first += os.read(process.stdout.fileno(), 1 << 16)
        assert len(first) == expected, "no audio for the first line while the pipe stayed open"
        process.stdin.write(b"\n   \nHello world.\n")
        process.stdin.close()
        rest = process.stdout.read()
        assert process.wait(60) == 0, process.stderr.read()
        assert len(rest) == expected + int(0.2 * 22050) * 2  # the sentence silence, then the second line
    finally:
        process.kill()


def test_streamed_input_has_no_total_cap_but_a_line_does(tiny_voice):
    # 120,000 characters in all, more than one text may have; the lines with nothing to say are skipped
    many = ("Hello world.\n" + ("\U0001f600" * 500 + "\n") * 240).encode()
    result = lightspeech("say", "--raw", "-v", tiny_voice.folder, input=many, timeout=600)
    assert result.returncode == 0, result.stderr[-500:]
    assert len(result.stdout) == HELLO_SAMPLES * 2
    long_line = ("word " * 25_000 + "\n").encode()
    result = lightspeech("say", "--raw", "-v", tiny_voice.folder, input=long_line)
    assert result.returncode == 2 and b"line 1 of the input is too long" in result.stderr


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["say", "", "-o", "{tmp}/x.wav"], 2, "input is empty"),
        (["say", "\U0001f600", "-o", "{tmp}/x.wav"], 2, "nothing to say"),
        (["say", "hi", "-o", "{tmp}/missing/x.wav"], 3, "does not exist"),
        (["say", "hi", "-o", "{tmp}/x.aiff"], 2, "unknown audio format"),
        (["say", "hi", "-v", "no-such-voice", "-o", "{tmp}/x.wav"], 5, "unknown voice"),
        (["say", "hi", "-v", "Bad Name", "-o", "{tmp}/x.wav"], 2, "invalid voice name"),
        (["say", "hi", "-v", "{tmp}/not-a-voice", "-o", "{tmp}/x.wav"], 5, "no voice folder"),
        (["say", "hi", "--vocoder", "wavenet", "-o", "{tmp}/x.wav"], 5, "unknown vocoder"),
        (["say", "hi", "--backend", "tensorrt", "-o", "{tmp}/x.wav"], 2, "tensorrt"),
        (["say", "hi", "--speed", "0", "-o", "{tmp}/x.wav"], 2, "--speed"),
        (["say", "hi", "--speed", "nan", "-o", "{tmp}/x.wav"], 2, "--speed"),
        (["say", "hi", "--rate", "5000", "-o", "{tmp}/x.wav"], 2, "--rate"),
        (["say", "hi", "--speed", "2", "--rate", "100", "-o", "{tmp}/x.wav"], 2, "give --speed or --rate, not both"),
        (["say", "hi", "--vocoder", "", "-o", "{tmp}/x.wav"], 2, "the vocoder name is empty"),
        (["say", "hi", "--volume", "-1", "-o", "{tmp}/x.wav"], 2, "--volume"),
        (["say", "hi", "--threads", "10000", "-o", "{tmp}/x.wav"], 2, "--threads"),
        (["say", "hi", "--threads", "0", "-o", "{tmp}/x.wav"], 2, "--threads"),
        (["say", "hi", "--sentence-silence", "-1", "-o", "{tmp}/x.wav"], 2, "--sentence-silence"),
        (["say", "hi", "--sample-rate", "5", "-o", "{tmp}/x.wav"], 2, "--sample-rate"),
        (["say", "hi", "--raw", "-o", "{tmp}/x.wav"], 2, "--raw"),
        (["say", "hi", "-o", ""], 2, "-o needs a file name, not an empty one"),
        (["say", "-f", "{tmp}/missing.txt", "-o", "{tmp}/x.wav"], 2, "cannot read"),
        (["say", "hi", "-f", "{tmp}/missing.txt", "-o", "{tmp}/x.wav"], 2, "not both"),
        (["say", "hi"], 4, "-o out.wav"),  # this machine has no audio output
    ],
)
def test_say_bad_input(tiny_voice, tmp_path, args, code, message):
    args = [a.format(tmp=tmp_path) for a in args]
    if "-v" not in args:
        args += ["-v", str(tiny_voice.folder)]
    assert_one_line_error(run(*args), code, message)
    assert not (tmp_path / "x.wav").exists()


def test_corrupt_voices_are_clear_errors(tiny_voice, tmp_path):
    out = tmp_path / "x.wav"
    (tiny_voice.folder / "model.onnx").write_bytes(b"\x00garbage")
    assert_one_line_error(run("say", "hi", "-v", tiny_voice.folder, "-o", out), 5, "does not load")
    (tiny_voice.folder / "model.safetensors").write_bytes(b"\x00garbage")
    assert_one_line_error(run("say", "hi", "-v", tiny_voice.folder, "-o", out, "--backend", "eager"), 5, "corrupt")
    other = make_tiny_voice(tmp_path / "other", architecture="sep9 | sep9 hidden=24")
    config = json.loads((other.folder / "config.json").read_text())
    config["model"]["architecture"] = "sep9 | sep9 hidden=32"
    (other.folder / "config.json").write_text(json.dumps(config))
    assert_one_line_error(run("say", "hi", "-v", other.folder, "-o", out, "--backend", "eager"), 5, "do not fit")
    (other.folder / "config.json").write_text("{not json")
    assert_one_line_error(run("say", "hi", "-v", other.folder, "-o", out), 5, "corrupt")
    config["format"] = 99
    (other.folder / "config.json").write_text(json.dumps(config))
    assert_one_line_error(run("say", "hi", "-v", other.folder, "-o", out), 5, "format")
    assert not out.exists()


def test_nan_weights_never_make_noise(tmp_path):
    """A voice whose weights are NaN is refused instead of exiting 0 with noise."""
    import torch

    from lightspeech_cli.model.acoustic import untrained_model
    from lightspeech_cli.model.folders import save_voice
    from lightspeech_cli.runtime.format.voice import VoiceConfig

    model = untrained_model("sep5 | sep5 hidden=16", 75)
    with torch.no_grad():
        model.decoder.norm.weight.fill_(float("nan"))
    voice = save_voice(
        tmp_path / "nan-voice", VoiceConfig(name="nan-voice", model=model.config, vocoder="griffinlim"), model
    )
    out = tmp_path / "x.wav"
    assert_one_line_error(run("say", "Hello.", "-v", voice.folder, "-o", out), 5, "invalid audio")
    assert_one_line_error(run("say", "Hello.", "-v", voice.folder, "-o", out, "--backend", "eager"), 5, "NaN")
    assert not out.exists()


def test_closed_pipes_full_disks_and_size_limits_are_not_tracebacks(tiny_voice, tmp_path):
    voice = str(tiny_voice.folder)
    closed = subprocess.run(
        f"{sys.executable} -m lightspeech_cli say --raw -v {voice} 'Hello there. Bye now.' | head -c 10 > /dev/null",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in closed.stderr and "Exception" not in closed.stderr, closed.stderr
    if os.path.exists("/dev/full"):
        full = subprocess.run(
            f"{sys.executable} -m lightspeech_cli say -o - -v {voice} Hello > /dev/full",
            shell=True,
            capture_output=True,
            text=True,
        )
        assert full.returncode == 3 and full.stderr.count("\n") == 1, full.stderr
        assert "No space left on device" in full.stderr

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    for extension in ("wav", "flac"):
        out = tmp_path / f"big.{extension}"
        limited = subprocess.run(
            [sys.executable, "-m", "lightspeech_cli", "say", "-v", voice, "-o", str(out), "Hello world. " * 8],
            capture_output=True,
            text=True,
            preexec_fn=small_files,
        )
        assert limited.returncode == 3 and "File too large" in limited.stderr, limited.stderr
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".big")]  # no staging file left


def test_folders_of_the_current_directory_are_taken_without_dot_slash(tmp_path, monkeypatch):
    """`-v VOICE_FOLDER` and `--vocoder my-vocoder`, as the README writes them: folders, not
    names, when nothing of that name is installed; an unknown name that is no folder is a usage
    error for both."""
    make_tiny_voice(tmp_path / "tiny").folder.rename(tmp_path / "VOICE_FOLDER")
    make_tiny_vocoder(tmp_path / "my-vocoder")  # a valid name, but nothing shipped is called so
    monkeypatch.chdir(tmp_path)
    result = run("say", "Hello world.", "-v", "VOICE_FOLDER", "--vocoder", "my-vocoder", "-o", "a.wav")
    assert result.exit_code == 0, result.output
    assert soundfile.info(tmp_path / "a.wav").frames == HELLO_SAMPLES
    for option in ("-v", "--vocoder"):
        result = run("say", "Hello.", option, "NoSuchFolder", "-o", "b.wav")
        assert result.exit_code == 2, result.output
        assert "NoSuchFolder" in result.output and not (tmp_path / "b.wav").exists()
