import json
import os
import signal
import subprocess
import sys
import time

import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lightspeech_cli.cli import app

from ..helpers import assert_one_line, assert_one_line_error, make_tiny_vocoder, make_tiny_voice, run_process
from .helpers import check, options, texts

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def manifest(folder):
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def test_render_lines_then_keep_what_is_up_to_date(tiny_voice, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("First line.\n\n  \nSecond line, longer than the first.\nThird.\n")
    out = tmp_path / "out"
    result = run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["0001.wav", "0002.wav", "0003.wav", "manifest.jsonl"]
    entries = manifest(out)
    assert [m["text"] for m in entries] == ["First line.", "Second line, longer than the first.", "Third."]
    assert entries[1]["seconds"] == pytest.approx(soundfile.info(out / "0002.wav").duration, abs=1e-3)
    assert "3 files" in result.stderr and "real-time factor" in result.stderr
    before = (out / "0002.wav").stat().st_mtime_ns
    again = run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert "(3 already there, 0 moved, 0 made)" in again.stderr
    assert (out / "0002.wav").stat().st_mtime_ns == before
    run("render", text, "-o", out, "-v", tiny_voice.folder, "--overwrite")
    assert (out / "0002.wav").stat().st_mtime_ns != before


def test_an_edited_line_is_made_again_and_the_others_kept(tiny_voice, tmp_path):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("One.\nTwo.\nThree.\n")
    run("render", text, "-o", out, "-v", tiny_voice.folder)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    text.write_text("One.\nTwo, now much longer than before.\nThree.\n")
    result = run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert "(2 already there, 0 moved, 1 made)" in result.stderr
    assert (out / "0002.wav").stat().st_mtime_ns != stamps["0002.wav"]
    assert [(out / n).stat().st_mtime_ns for n in ("0001.wav", "0003.wav")] == [stamps["0001.wav"], stamps["0003.wav"]]
    assert manifest(out)[1]["text"] == "Two, now much longer than before."
    assert manifest(out)[1]["seconds"] == pytest.approx(soundfile.info(out / "0002.wav").duration, abs=1e-3)


def test_an_inserted_line_moves_the_files_after_it(tiny_voice, tmp_path):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("One.\nTwo, a longer line.\nThree, the longest line of all three.\n")
    run("render", text, "-o", out, "-v", tiny_voice.folder)
    old = {name: (out / name).read_bytes() for name in ("0001.wav", "0002.wav", "0003.wav")}
    text.write_text("One.\nInserted.\nTwo, a longer line.\nThree, the longest line of all three.\n")
    result = run("render", text, "-o", out, "-v", tiny_voice.folder, "--speed", "1")
    assert result.exit_code == 0, result.output
    assert "(1 already there, 2 moved, 1 made)" in result.stderr
    assert (out / "0003.wav").read_bytes() == old["0002.wav"] and (out / "0004.wav").read_bytes() == old["0003.wav"]
    assert [m["text"] for m in manifest(out)] == [
        "One.",
        "Inserted.",
        "Two, a longer line.",
        "Three, the longest line of all three.",
    ]
    for entry in manifest(out):  # every file is what its manifest line says
        assert entry["seconds"] == pytest.approx(soundfile.info(out / entry["file"]).duration, abs=1e-3)


def test_a_file_edited_by_hand_is_made_again_not_kept_or_moved(tiny_voice, tmp_path):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("Alpha.\nBeta.\nGamma.\n")
    run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert all(entry["bytes"] == (out / entry["file"]).stat().st_size for entry in manifest(out))
    (out / "0002.wav").write_text("my notes")
    text.write_text("Zero.\nAlpha.\nBeta.\nGamma.\n")
    result = run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert "(0 already there, 2 moved, 2 made)" in result.stderr  # Beta is made again, not moved
    for entry in manifest(out):
        assert entry["seconds"] == pytest.approx(soundfile.info(out / entry["file"]).duration, abs=1e-3)


def test_numbered_files_the_input_no_longer_has_are_removed_named_ones_stay(tiny_voice, tmp_path):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("Alpha.\nBeta.\nGamma.\n")
    run("render", text, "-o", out, "-v", tiny_voice.folder)
    (out / "0003.wav").write_bytes((out / "0003.wav").read_bytes() + b"edited")  # not render's file any more
    text.write_text("Alpha.\n")
    assert run("render", text, "-o", out, "-v", tiny_voice.folder).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["0001.wav", "0003.wav", "manifest.jsonl"]
    assert run("render", text, "-o", out, "-v", tiny_voice.folder, "-F", "flac").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["0001.flac", "0003.wav", "manifest.jsonl"]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"text": "Hi.", "file": "hi.wav"}\n')
    run("render", jobs, "-o", out, "-v", tiny_voice.folder)
    jobs.write_text('{"text": "Bye.", "file": "bye.wav"}\n')
    run("render", jobs, "-o", out, "-v", tiny_voice.folder)
    assert (out / "hi.wav").exists() and (out / "bye.wav").exists()


def test_changed_settings_redo_everything(tiny_voice, tmp_path):
    text, out = tmp_path / "input.txt", tmp_path / "out"
    text.write_text("One.\nTwo.\n")
    run("render", text, "-o", out, "-v", tiny_voice.folder)
    result = run("render", text, "-o", out, "-v", tiny_voice.folder, "--pitch", "1.2")
    assert "(0 already there, 0 moved, 2 made)" in result.stderr


def test_render_paragraphs_json_lines_and_stdin(tiny_voice, tmp_path):
    text = tmp_path / "book.txt"
    text.write_text("One paragraph\nover two lines.\n\nAnother paragraph.\n")
    assert (
        run("render", text, "-o", tmp_path / "p", "-v", tiny_voice.folder, "--paragraphs", "-F", "flac").exit_code == 0
    )
    assert sorted(p.name for p in (tmp_path / "p").glob("*.flac")) == ["0001.flac", "0002.flac"]
    for name in ("jobs.jsonl", "jobs.JSONL", "jobs.ndjson"):
        jobs = tmp_path / name
        jobs.write_text('{"text": "Hello there.", "file": "greeting.wav"}\n{"text": "Hello there.", "speed": 2}\n')
        out = tmp_path / name.replace(".", "-")
        assert run("render", jobs, "-o", out, "-v", tiny_voice.folder).exit_code == 0
        assert soundfile.info(out / "0002.wav").frames < soundfile.info(out / "greeting.wav").frames
    result = run("render", "-", "-o", tmp_path / "s", "-v", tiny_voice.folder, "-F", "mp3", input="Hi.\nBye.\n")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "s").glob("*.mp3")) == ["0001.mp3", "0002.mp3"]


@pytest.mark.parametrize(
    "content",
    ["One\r\nover two.\r\n\r\nAnother.\r\n", "One\nover two.\n \t \nAnother.\n", "One\nover two.\n\n\n\nAnother."],
)
def test_paragraphs_end_at_any_blank_line_whatever_the_line_endings(tiny_voice, tmp_path, content):
    (tmp_path / "book.txt").write_bytes(content.encode())
    out = tmp_path / "out"
    assert run("render", tmp_path / "book.txt", "-o", out, "-v", tiny_voice.folder, "--paragraphs").exit_code == 0
    assert [entry["text"] for entry in manifest(out)] == ["One over two.", "Another."]


def test_an_empty_output_folder_name_is_refused_not_taken_for_the_current_folder(tiny_voice, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lines.txt").write_text("Hi.\n")
    assert_one_line_error(run("render", "lines.txt", "-o", "", "-v", tiny_voice.folder), 2, "-o needs a folder")
    assert not list(tmp_path.glob("*.wav")) and not (tmp_path / "manifest.jsonl").exists()


def test_paragraphs_of_json_lines_are_a_usage_error(tiny_voice, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"text": "Hi."}\n')
    result = run("render", jobs, "-o", tmp_path / "out", "-v", tiny_voice.folder, "--paragraphs")
    assert_one_line_error(result, 2, "--paragraphs is for text")


def test_a_lone_surrogate_in_json_lines_is_skipped_as_speech_skips_it(tiny_voice, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"text": "Hello \\ud800 there."}\n')
    assert run("render", jobs, "-o", tmp_path / "out", "-v", tiny_voice.folder).exit_code == 0
    assert manifest(tmp_path / "out")[0]["text"] == "Hello  there."


@pytest.mark.parametrize(
    "content, name, message",
    [
        ("", "empty.txt", "no text to render"),
        (
            "{bad json\n",
            "bad.jsonl",
            "bad.jsonl:1: not JSON (Expecting property name enclosed in double quotes at column 2)",
        ),
        ('{"text": "hi", "file": "../escape.wav"}\n', "escape.jsonl", "plain file name"),
        ('{"text": "hi", "file": "x.txt"}\n', "suffix.jsonl", "plain file name"),
        ('{"text": "hi", "file": "a\\nb.wav"}\n', "newline.jsonl", "plain file name"),
        ('{"text": "hi", "colour": 1}\n', "extra.jsonl", "unknown field"),
        ('{"text": "hi", "speed": 9}\n', "fast.jsonl", "fast.jsonl:1: speed must be a number from 0.25 to 4"),
        ('{"text": "hi"}\n{"text": "hi", "speed": "NaN"}\n', "nan.jsonl", "nan.jsonl:2: speed must be a number"),
        ('{"text": "hi", "speed": true}\n', "bool.jsonl", "bool.jsonl:1: speed must be a number"),
        ('{"text": "hi", "speed": NaN}\n', "nan2.jsonl", "nan2.jsonl:1: speed must be a number from 0.25 to 4"),
        ("x" * 1_000_000 + "\n", "huge.txt", "huge.txt:1: the text is too long"),
    ],
)
def test_render_bad_input(tiny_voice, tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    assert_one_line_error(run("render", path, "-o", tmp_path / "out", "-v", tiny_voice.folder), 2, message)


def test_the_whole_input_is_checked_before_the_first_synthesis(tiny_voice, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"text": "First."}\n' * 5 + '{"text": "Last.", "file": "/etc/passwd"}\n')
    assert_one_line_error(run("render", jobs, "-o", tmp_path / "out", "-v", tiny_voice.folder), 2, "jobs.jsonl:6")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.wav"))


def test_render_into_awkward_outputs(tiny_voice, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("One.\nTwo.\n")
    (tmp_path / "file").write_text("x")
    assert_one_line_error(run("render", text, "-o", tmp_path / "file", "-v", tiny_voice.folder), 3, "is not a folder")
    out = tmp_path / "out"
    (out / "0002.wav").mkdir(parents=True)
    assert_one_line_error(run("render", text, "-o", out, "-v", tiny_voice.folder), 3, "not a regular file")
    assert not (out / "0001.wav").exists()  # refused before the first synthesis
    (out / "0002.wav").rmdir()
    (out / "0001.wav").write_text("not audio")
    (out / "0002.wav").write_bytes(b"")
    result = run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert result.exit_code == 0, result.output
    assert soundfile.info(out / "0001.wav").frames > 0 and soundfile.info(out / "0002.wav").frames > 0


def test_render_missing_and_binary_input(tiny_voice, tmp_path):
    assert_one_line_error(
        run("render", tmp_path / "nope.txt", "-o", tmp_path / "out", "-v", tiny_voice.folder), 2, "cannot read"
    )
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    assert_one_line_error(
        run("render", tmp_path / "bin.txt", "-o", tmp_path / "out", "-v", tiny_voice.folder), 2, "binary"
    )


def test_render_resumes_after_a_kill(tmp_path):
    voice = make_tiny_voice(tmp_path / "voice", architecture="sep5 | sep5 hidden=16")
    make_tiny_vocoder(tmp_path / "vocoder")
    lines = [f"This is sentence number {i}, said slowly and with care." for i in range(1, 41)]
    (tmp_path / "input.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "lightspeech_cli",
        "render",
        str(tmp_path / "input.txt"),
        "-o",
        str(out),
        "-v",
        str(voice.folder),
        "--vocoder",
        str(tmp_path / "vocoder"),
        "--speed",
        "0.25",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while len(list(out.glob("*.wav"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    assert 2 <= len(done) < 40, "the render finished before it could be killed"
    for name in done:
        soundfile.info(out / name)  # every visible file is complete
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    kept = int(finished.stderr.split("(")[1].split(" already")[0])
    assert len(done) - 1 <= kept <= len(done)  # the last file may have been written but not yet recorded
    assert len(list(out.glob("*.wav"))) == 40
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 40
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging file left


@pytest.mark.parametrize(
    "lines, message",
    [
        ("Hello.\n\U0001f600\n", "1 of 2 utterances had nothing to say (0002.wav); the other one was rendered"),
        ("Hello.\n\U0001f600\nThere.\n", "1 of 3 utterances had nothing to say (0002.wav); the other 2 were rendered"),
    ],
)
def test_lines_with_nothing_to_say_are_counted_and_the_others_rendered(tiny_voice, tmp_path, lines, message):
    (tmp_path / "in.txt").write_text(lines)
    result = run("render", tmp_path / "in.txt", "-o", tmp_path / "out", "-v", tiny_voice.folder)
    assert result.exit_code == 1
    assert result.output == f"lightspeech: error: {message}\n"


def test_render_reads_a_file_with_a_bound(endless_fifo, tmp_path):
    assert_one_line(run_process("render", endless_fifo, "-o", tmp_path / "out"), 2, "too long")
    assert not (tmp_path / "out").exists()


def test_render_reads_standard_input_with_a_bound(endless_fifo, tmp_path):
    with open(endless_fifo, "rb") as stdin:
        assert_one_line(run_process("render", "-", "-o", tmp_path / "out", stdin=stdin), 2, "too long")


# --- under arbitrary text and options: what tests/cli/helpers.py draws ------------------------


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(texts, max_size=4), json_lines=st.booleans(), extra=options)
def test_render(voice_and_vocoder, tmp_path_factory, lines, json_lines, extra):
    import json

    voice, vocoder = voice_and_vocoder
    folder = tmp_path_factory.mktemp("render")
    source = folder / ("input.jsonl" if json_lines else "input.txt")
    content = "\n".join(json.dumps({"text": line}) if json_lines else line.replace("\n", " ") for line in lines)
    source.write_text(content, encoding="utf-8", errors="surrogatepass") if _encodable(content) else None
    if not source.exists():
        return
    extra = [e for e in extra if e not in ("--ssml", "--no-ssml")]
    out = folder / "out"
    result = runner.invoke(app, ["render", str(source), "-o", str(out), "-v", voice, "--vocoder", vocoder, *extra])
    check(result)
    # Success or failure (some lines with nothing to say, a bad option): every file under a
    # final name is a whole one the manifest records, and no staging file is left.
    present = sorted(p.name for p in out.iterdir()) if out.exists() else []
    manifest = (out / "manifest.jsonl").read_text().splitlines() if "manifest.jsonl" in present else []
    recorded = [json.loads(line)["file"] for line in manifest]
    assert [name for name in present if name != "manifest.jsonl"] == sorted(recorded), (result.exit_code, present)
    for name in recorded:
        assert soundfile.info(out / name).frames >= 0


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def test_render_captions_beside_each_file_and_in_the_manifest(tiny_voice, tmp_path):
    import srt
    import webvtt

    text = tmp_path / "input.txt"
    text.write_text("First line here.\nSecond line.\n")
    out = tmp_path / "out"
    result = run("render", text, "-o", out, "-v", tiny_voice.folder, "--captions", "srt")
    assert result.exit_code == 0, result.output
    entries = manifest(out)
    assert [w["text"] for w in entries[0]["words"]] == ["First", "line", "here."]
    cues = list(srt.parse((out / "0001.srt").read_text()))
    assert cues[0].content == "First line here." and cues[0].end.total_seconds() <= entries[0]["seconds"]
    # Another format from the same audio: nothing is spoken again, the old captions go.
    result = run("render", text, "-o", out, "-v", tiny_voice.folder, "--captions", "vtt")
    assert result.exit_code == 0, result.output
    assert "2 already there" in result.stderr and "0 made" in result.stderr
    assert not (out / "0001.srt").exists()
    assert webvtt.read(str(out / "0002.vtt")).captions[0].text == "Second line."
