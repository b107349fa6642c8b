"""CLI conventions: what -q and --verbose change, plain output when piped, usage errors
found before any model loads, help text printed as written, NO_COLOR."""

import os
import pty
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app

from .test_cli_text import assert_one_line_error

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


def test_profile_prints_plain_uncut_columns_when_piped(tiny_voice):
    architecture = "sep5 sep25 sep13 sep9 | sep17 sep21 sep9 sep13 hidden=16"
    result = run(
        "profile",
        "-v",
        tiny_voice.folder,
        "--arch",
        architecture,
        "--runs",
        "1",
        "--vocoder",
        "griffinlim",
        "--text",
        "Hello there.",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"custom: {architecture} predictor=sep postnet=0" in lines  # longer than 80 columns, and whole
    assert not any(c in result.stdout for c in "\u2500\u2502\u250f\u2503")  # no box drawing
    rows = [re.split(r"\s{2,}", line) for line in lines]
    header = rows.index(["component", "parameters", "median ms", "share"])
    table = rows[header + 1 : header + 11]
    assert [row[0] for row in table] == [
        "text frontend",
        "encoder (with embedding)",
        "duration predictor",
        "pitch predictor (with embedding)",
        "energy predictor (with embedding)",
        "length regulator",
        "decoder",
        "mel projection",
        "vocoder (griffinlim)",
        "acoustic model (whole forward)",
    ]
    assert all(re.fullmatch(r"[\d,]+ \d+\.\d\d \d+\.\d%", " ".join(row[1:])) for row in table[:-1]), table
    assert re.fullmatch(r"[\d,]+ \d+\.\d\d", " ".join(table[-1][1:]))  # the whole forward has no share
    summaries = [line for line in lines if "real-time factor end to end" in line]
    assert len(summaries) == 2 and all(line.endswith("on 1 thread(s)") for line in summaries)


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


def test_train_help_shows_the_extra_literally():
    result = run("train", "--help")
    assert result.exit_code == 0
    assert "'.[train]'" in " ".join(result.stdout.split())


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
