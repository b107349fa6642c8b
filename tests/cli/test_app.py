"""The command line's conventions (cli/app.py): errors on one line with a documented exit status,
never a traceback; what -q and --verbose change, plain output when piped, usage errors found
before any model loads, NO_COLOR; standard output closed, full or gone; Ctrl-C."""

import os
import pty
import re
import subprocess
import sys
import time

import pytest
import soundfile
from typer.testing import CliRunner

from lightspeech_cli.cli import app

from ..helpers import assert_one_line, assert_one_line_error, run_process

runner = CliRunner()
UNKNOWN_TAG = "<speak>Hello <shout>world</shout>.</speak>"


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_quiet_and_verbose_on_say(tiny_voice, tmp_path):
    out = tmp_path / "x.wav"
    plain = run("say", UNKNOWN_TAG, "-v", tiny_voice.folder, "-o", out)
    assert plain.exit_code == 0, plain.output
    assert plain.stderr == "lightspeech: warning: <shout> is not supported; its text is read as it is\n"
    # -q silences the warning; the audio asked for is still written
    quiet = run("say", UNKNOWN_TAG, "-v", tiny_voice.folder, "-o", out, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and out.stat().st_size > 44
    # --verbose adds what was loaded and what was written around the warning
    verbose = run("say", UNKNOWN_TAG, "-v", tiny_voice.folder, "-o", out, "--verbose")
    loaded, warning, wrote = verbose.stderr.splitlines()
    assert re.fullmatch(
        r"lightspeech: loaded voice tiny-voice \(.*tiny-voice\) and vocoder griffinlim on onnx in "
        r"\d+\.\d\d s",
        loaded,
    )
    assert warning == plain.stderr.strip()
    assert re.fullmatch(rf"lightspeech: wrote {re.escape(str(out))}: \d+\.\d\d s of audio", wrote)


def test_quiet_and_verbose_on_render(tiny_voice, tmp_path):
    text = tmp_path / "lines.txt"
    text.write_text("Hello world.\nGoodbye.\n")
    summary = r"2 files, \d+\.\d s of audio in .* \(\d already there, 0 moved, \d made\); real-time factor \d+\.\d{3}"
    plain = run("render", text, "-o", tmp_path / "a", "-v", tiny_voice.folder)
    assert plain.exit_code == 0 and plain.stdout == ""
    assert re.fullmatch(summary, plain.stderr.strip())
    quiet = run("render", text, "-o", tmp_path / "b", "-v", tiny_voice.folder, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and (tmp_path / "b" / "0002.wav").is_file()
    verbose = run("render", text, "-o", tmp_path / "c", "-v", tiny_voice.folder, "--verbose").stderr.splitlines()
    assert verbose[0].startswith("lightspeech: loaded voice tiny-voice") and re.fullmatch(summary, verbose[1])
    assert len(verbose) == 2


def test_quiet_and_verbose_never_change_the_output_asked_for():
    """voices list prints only what was asked for, on stdout: -q keeps it, --verbose adds nothing."""
    outputs = [run("voices", "list", *flags) for flags in ([], ["-q"], ["--verbose"])]
    assert all(r.exit_code == 0 and r.stderr == "" for r in outputs)
    assert outputs[0].stdout.splitlines()[0].split() == ["name", "language", "size", "quality", "licence", "status"]
    assert outputs[1].stdout == outputs[0].stdout == outputs[2].stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["render", "{tmp}/lines.txt", "-o", "{tmp}/out", "--format", "aiff"],
            "'aiff' is not one of 'wav', 'flac', 'ogg', 'mp3'",
        ),
        (
            ["search", "{tmp}/work", "-o", "{tmp}/out", "--budget", "huge"],
            "'huge' is not one of 'small', 'medium', 'large'",
        ),
        # click's ranges let "nan" through: a NaN learning rate or weight would train NaNs
        (["train", "fit", "{tmp}/work", "--lr", "nan"], "Invalid value for '--lr': must be a finite number, not nan"),
        (["train", "vocoder", "{tmp}/work", "--phase-weight", "nan"], "'--phase-weight': must be a finite number"),
        (["train", "vocoder", "{tmp}/work", "--predicted-share", "nan"], "'--predicted-share': must be a finite"),
        (
            ["search", "{tmp}/work", "-o", "{tmp}/out", "--max-latency-ms", "nan"],
            "'--max-latency-ms': must be a finite",
        ),
    ],
)
def test_bad_choices_are_usage_errors_before_anything_loads(tmp_path, args, message):
    """The voice and the training folder do not exist: a check after loading would fail on them instead."""
    args = [a.format(tmp=tmp_path) for a in args] + (["-v", "no-such-voice"] if args[0] == "render" else [])
    (tmp_path / "lines.txt").write_text("Hello.\n")
    assert_one_line_error(run(*args), 2, message)
    assert not (tmp_path / "out").exists()


def _stderr_on_a_terminal(args, env):
    """Run lightspeech with stderr on a pseudo-terminal (stdout piped) and return what the terminal got."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "lightspeech_cli", *map(str, args)], stdout=subprocess.PIPE, stderr=follower, env=env
    )
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        received += chunk
    process.wait(120)
    os.close(leader)
    assert process.returncode == 0, received
    return received.decode("utf-8", errors="replace")


def test_no_color_turns_the_progress_bar_colours_off(tiny_voice, tmp_path):
    text = tmp_path / "lines.txt"
    text.write_text("Hello world.\n" * 3)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm-256color"}
    colour = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|38;[25];[0-9;]+)m")  # a foreground colour
    coloured = _stderr_on_a_terminal(["render", text, "-o", tmp_path / "a", "-v", tiny_voice.folder], env)
    assert "rendering" in coloured and colour.search(coloured)
    plain = _stderr_on_a_terminal(
        ["render", text, "-o", tmp_path / "b", "-v", tiny_voice.folder], env | {"NO_COLOR": "1"}
    )
    assert "rendering" in plain and not colour.search(plain)


def test_an_internal_error_of_several_lines_is_reported_on_one(tiny_voice, tmp_path, monkeypatch):
    """As LightGBM's were: '[LightGBM] [Fatal] ...' on a line of its own."""
    from lightspeech_cli.runtime import synthesizer

    def broken(*args, **kwargs):
        raise RuntimeError("Check failed\n[LightGBM] [Fatal] num_data > 0\n")

    monkeypatch.setattr(synthesizer.Synthesizer, "utterance", broken)
    result = run("say", "Hello.", "-v", tiny_voice.folder, "-o", tmp_path / "a.wav")
    assert result.exit_code == 70 and not (tmp_path / "a.wav").exists()
    assert result.output == (
        "lightspeech: error: internal error: RuntimeError: Check failed [LightGBM] [Fatal] num_data > 0 "
        "(run again with --verbose for the traceback, and please report it)\n"
    )


def test_the_installed_command_reports_errors_without_traceback():
    result = subprocess.run([sys.executable, "-m", "lightspeech_cli", "phonemize", " "], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == "lightspeech: error: no text: the input is empty\n"


def test_usage_errors_are_one_line_not_a_box():
    result = subprocess.run(
        [sys.executable, "-m", "lightspeech_cli", "say", "hi", "--backend", "tensorrt"], capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("lightspeech: error: ") and "tensorrt" in result.stderr
    assert "\u256d" not in result.stderr and "Usage" not in result.stderr  # no Rich box


def test_phonemize_with_a_closed_pipe_and_a_full_disk():
    import os

    closed = subprocess.run(
        f"{sys.executable} -m lightspeech_cli phonemize '{'Hello there. ' * 2000}' | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in closed.stderr and "Exception" not in closed.stderr, closed.stderr
    if os.path.exists("/dev/full"):
        full = subprocess.run(
            f"{sys.executable} -m lightspeech_cli phonemize hi > /dev/full", shell=True, capture_output=True, text=True
        )
        assert full.returncode == 3, full.stderr
        assert full.stderr.startswith("lightspeech: error: cannot write to standard output"), full.stderr


def test_version():
    assert run("--version").stdout.startswith("lightspeech ")


# --- standard output closed, full, or its reader gone; Ctrl-C ---------------------------------


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
