"""render's files and manifest (runtime/render.py) when they are hostile: special files,
links, damaged or forged entries, failed writes, what a killed render left."""

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app

from ..helpers import assert_one_line, assert_one_line_error, run_process

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_a_damaged_render_manifest_reads_as_empty_even_nested_thousands_deep(tiny_voice, tmp_path):
    (tmp_path / "lines.txt").write_text("Alpha.\n")
    out = tmp_path / "out"
    assert run("render", tmp_path / "lines.txt", "-o", out, "-v", tiny_voice.folder).exit_code == 0
    with open(out / "manifest.jsonl", "a") as manifest:
        manifest.write("[" * 50_000 + "\n")
    result = run("render", tmp_path / "lines.txt", "-o", out, "-v", tiny_voice.folder)
    assert result.exit_code == 0 and "1 already there" in result.output


def test_render_refuses_a_fifo_among_its_files(tiny_voice, tmp_path):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("One.\nTwo.\n")
    out.mkdir()
    os.mkfifo(out / "0002.wav")
    assert_one_line_error(run("render", text, "-o", out, "-v", tiny_voice.folder), 3, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(out / "0002.wav").st_mode) and not (out / "0001.wav").exists()


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
