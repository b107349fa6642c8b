"""`lightspeech voices` and `lightspeech cache` (cli/voices.py)."""

import os
import stat

from typer.testing import CliRunner

from lightspeech_cli.cli import app

from ..helpers import assert_one_line_error, make_tiny_voice, run_process

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_voices_export_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_one_line_error(run("voices", "export", "en-us-lightspeech", "-o", fifo), 3, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_voices_export_to_standard_output_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run("voices", "export", "en-us-lightspeech", "-o", "-"), 2, "give -o NAME.tar.gz, not -")
    assert not (tmp_path / "-").exists()


def test_voices_info_strips_control_characters_from_the_card(tmp_path):
    folder = make_tiny_voice(tmp_path / "voice").folder
    (folder / "MODEL_CARD.md").write_text("# Card\n\x1b[2J\x1b]0;pwned\x07cleared\r\tindented\u202eevil\n")
    result = run("voices", "info", folder)
    assert result.exit_code == 0
    card = result.stdout.split("# Card")[1]
    assert not any(c in card for c in "\x1b\x07\r\u202e")
    assert "cleared" in card and "\tindented" in card and card.count("\n") >= 2
    assert "\\u001b" in run("voices", "info", folder, "--json").stdout  # JSON escapes it itself


def test_a_model_card_that_is_a_fifo_is_not_read(tmp_path):
    folder = make_tiny_voice(tmp_path / "voice").folder
    os.mkfifo(folder / "MODEL_CARD.md")
    process = run_process("voices", "info", folder, timeout=60)
    assert process.returncode == 0 and b'"name": "voice"' in process.stdout
