import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_one_line_error(result, code, message):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lightspeech: error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_phonemize_the_readme_example():
    result = run("phonemize", "Dr. Smith paid $1,234.50 on Nov. 25, 2026 at 3:45 pm.")
    assert result.exit_code == 0, result.output
    text, phonemes = result.stdout.splitlines()
    assert text == (
        "text:     doctor Smith paid one thousand two hundred thirty-four dollars and fifty cents "
        "on November twenty-fifth, twenty twenty-six at three forty-five P M."
    )
    assert phonemes.startswith("phonemes: D AA1 K T ER0 | S M IH1 TH | P EY1 D | W AH1 N |")
    assert phonemes.endswith("P IY1 | EH1 M .")


def test_unquoted_words_are_joined():
    result = run("phonemize", "Hello", "there")
    assert result.stdout.splitlines()[0] == "text:     Hello there"


def test_phonemize_reads_stdin_and_shows_word_sources():
    result = run("phonemize", "--words", input="I read it.\n")
    assert result.exit_code == 0
    assert "read" in result.stdout and "homograph" in result.stdout


def test_phonemize_uses_the_lexicon_in_the_config_folder(isolated_home):
    (isolated_home / "config").mkdir(parents=True)
    (isolated_home / "config" / "lexicon.txt").write_text("cat K AE1 T S\n")
    assert "K AE1 T S ." in run("phonemize", "cat").stdout


@pytest.mark.parametrize(
    "args, stdin, code, message",
    [
        (["phonemize", ""], None, 2, "input is empty"),
        (["phonemize", "  \n\t "], None, 2, "input is empty"),
        (["phonemize"], b"abc\x00\x01def", 2, "binary"),
        (["phonemize"], b"\xff\xfe\x00", 2, "binary"),
        (["phonemize"], b"caf\xe9 latin-1", 2, "not UTF-8"),
        (["phonemize", "\U0001f600 \u4e16\u754c"], None, 2, "nothing to say"),
        (["phonemize", "x" * 100_001], None, 2, "too long"),
        (["phonemize"], b"x" * 1_170_000, 2, "too long"),
        (["phonemize", "--lexicon", "/no/such/lexicon.txt", "hi"], None, 2, "cannot read lexicon"),
        (["phonemize", "[[HH QQ1]]"], None, 2, "not ARPAbet"),
        (["phonemize", "hi", "--bogus"], None, 2, "No such option"),
        (["phonemize", "hi", "-q", "--verbose"], None, 2, "contradict"),
    ],
)
def test_bad_input_is_one_line_error(args, stdin, code, message):
    assert_one_line_error(run(*args, input=stdin), code, message)


def test_a_long_text_is_chunked_not_refused():
    text = "The quick brown fox jumps over the lazy dog, again and again. " * 1500
    assert len(text) < 100_000
    result = run("phonemize", text)
    assert result.exit_code == 0
    assert result.stdout.count("text:") == 1500


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
