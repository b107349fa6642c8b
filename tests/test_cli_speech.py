import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from lightspeech_cli.cli import app

from .conftest import make_tiny_voice
from .test_cli_text import assert_one_line_error

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_say_writes_each_format_with_the_length_the_durations_say(tiny_voice, tmp_path):
    for extension in ("wav", "flac", "ogg"):
        out = tmp_path / f"hello.{extension}"
        result = run("say", "Hello world.", "-v", tiny_voice.folder, "-o", out)
        assert result.exit_code == 0, result.output
        info = soundfile.info(out)
        assert info.samplerate == 22050
    # "Hello world." is 10 symbols at 6 frames each, plus the pause after the sentence
    samples, _ = soundfile.read(tmp_path / "hello.wav")
    assert len(samples) == 10 * 6 * 256 + int(0.2 * 22050)
    assert np.abs(samples).max() > 0.1


def test_say_to_stdout_as_wav_and_raw(tiny_voice):
    wav = subprocess.run([sys.executable, "-m", "lightspeech_cli", "say", "Hi there. Bye.", "-v",
                          str(tiny_voice.folder), "-o", "-"], capture_output=True)
    assert wav.returncode == 0 and wav.stdout[:4] == b"RIFF"
    raw = subprocess.run([sys.executable, "-m", "lightspeech_cli", "say", "Hi there. Bye.", "-v",
                          str(tiny_voice.folder), "--raw"], capture_output=True)
    assert raw.returncode == 0 and len(raw.stdout) == len(wav.stdout) - 44  # the same PCM without its header


def test_say_controls_change_the_audio(tiny_voice, tmp_path):
    run("say", "Hello world.", "-v", tiny_voice.folder, "-o", tmp_path / "normal.wav")
    run("say", "Hello world.", "-v", tiny_voice.folder, "-o", tmp_path / "fast.wav", "--speed", "2")
    gap = int(0.2 * 22050)
    normal, fast = (soundfile.info(tmp_path / f).frames - gap for f in ("normal.wav", "fast.wav"))
    assert fast == normal // 2  # 3 frames per phoneme instead of 6


def test_say_with_compiled_backends_matches_eager(tiny_voice, tmp_path):
    for backend in ("eager", "torchscript", "onnx"):
        assert run("say", "Hello.", "-v", tiny_voice.folder, "--backend", backend, "-o",
                   tmp_path / f"{backend}.wav").exit_code == 0
    eager = soundfile.read(tmp_path / "eager.wav")[0]
    for backend in ("torchscript", "onnx"):
        assert np.allclose(soundfile.read(tmp_path / f"{backend}.wav")[0], eager, atol=2e-3)


@pytest.mark.parametrize("args, code, message", [
    (["say", "", "-o", "{tmp}/x.wav"], 2, "input is empty"),
    (["say", "\U0001F600", "-o", "{tmp}/x.wav"], 2, "nothing to say"),
    (["say", "hi", "-o", "{tmp}/missing/x.wav"], 3, "does not exist"),
    (["say", "hi", "-o", "{tmp}/x.mp3"], 3, "unknown audio format"),
    (["say", "hi", "-v", "no-such-voice", "-o", "{tmp}/x.wav"], 5, "unknown voice"),
    (["say", "hi", "-v", "{tmp}/not-a-voice", "-o", "{tmp}/x.wav"], 5, "no voice folder"),
    (["say", "hi", "--vocoder", "wavenet", "-o", "{tmp}/x.wav"], 5, "unknown vocoder"),
    (["say", "hi", "--backend", "tensorrt", "-o", "{tmp}/x.wav"], 5, "unknown backend"),
    (["say", "hi", "--speed", "0", "-o", "{tmp}/x.wav"], 2, "--speed"),
    (["say", "hi", "--raw", "-o", "{tmp}/x.wav"], 2, "--raw"),
    (["say", "hi"], 4, "-o out.wav"),  # this machine has no audio output
])
def test_say_bad_input(tiny_voice, tmp_path, args, code, message):
    args = [a.format(tmp=tmp_path) for a in args]
    if "-v" not in args:
        args += ["-v", str(tiny_voice.folder)]
    assert_one_line_error(run(*args), code, message)
    assert not (tmp_path / "x.wav").exists()


def test_corrupt_voices_are_clear_errors(tiny_voice, tmp_path):
    (tiny_voice.folder / "model.safetensors").write_bytes(b"\x00garbage")
    assert_one_line_error(run("say", "hi", "-v", tiny_voice.folder, "-o", tmp_path / "x.wav"), 5, "corrupt")
    other = make_tiny_voice(tmp_path / "other", architecture="sep9 | sep9 hidden=24")
    config = json.loads((other.folder / "config.json").read_text())
    config["model"]["architecture"] = "sep9 | sep9 hidden=32"
    (other.folder / "config.json").write_text(json.dumps(config))
    assert_one_line_error(run("say", "hi", "-v", other.folder, "-o", tmp_path / "x.wav"), 5, "do not fit")
    (other.folder / "config.json").write_text("{not json")
    assert_one_line_error(run("say", "hi", "-v", other.folder, "-o", tmp_path / "x.wav"), 5, "corrupt")
    config["format"] = 99
    (other.folder / "config.json").write_text(json.dumps(config))
    assert_one_line_error(run("say", "hi", "-v", other.folder, "-o", tmp_path / "x.wav"), 5, "format")


def test_render_lines_then_skip_existing(tiny_voice, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("First line.\n\n  \nSecond line, longer than the first.\nThird.\n")
    out = tmp_path / "out"
    result = run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["0001.wav", "0002.wav", "0003.wav", "manifest.jsonl"]
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["text"] for m in manifest] == ["First line.", "Second line, longer than the first.", "Third."]
    assert manifest[1]["seconds"] == pytest.approx(soundfile.info(out / "0002.wav").duration, abs=1e-3)
    assert "3 files" in result.stderr and "real-time factor" in result.stderr
    before = (out / "0002.wav").stat().st_mtime_ns
    again = run("render", text, "-o", out, "-v", tiny_voice.folder)
    assert "(3 already there)" in again.stderr
    assert (out / "0002.wav").stat().st_mtime_ns == before
    run("render", text, "-o", out, "-v", tiny_voice.folder, "--overwrite")
    assert (out / "0002.wav").stat().st_mtime_ns != before


def test_render_paragraphs_and_json_lines(tiny_voice, tmp_path):
    text = tmp_path / "book.txt"
    text.write_text("One paragraph\nover two lines.\n\nAnother paragraph.\n")
    assert run("render", text, "-o", tmp_path / "p", "-v", tiny_voice.folder, "--paragraphs",
               "-f", "flac").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "p").glob("*.flac")) == ["0001.flac", "0002.flac"]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"text": "Hello there.", "file": "greeting.wav"}\n{"text": "Hello there.", "speed": 2}\n')
    assert run("render", jobs, "-o", tmp_path / "j", "-v", tiny_voice.folder).exit_code == 0
    assert soundfile.info(tmp_path / "j" / "0002.wav").frames < soundfile.info(tmp_path / "j" / "greeting.wav").frames


@pytest.mark.parametrize("content, name, message", [
    ("", "empty.txt", "no text to render"),
    ("{bad json\n", "bad.jsonl", "bad.jsonl:1: not JSON"),
    ('{"text": "hi", "file": "../escape.wav"}\n', "escape.jsonl", "plain file name"),
    ('{"text": "hi", "colour": 1}\n', "extra.jsonl", "unknown field"),
    ('{"text": "hi", "speed": 9}\n', "fast.jsonl", "--speed"),
])
def test_render_bad_input(tiny_voice, tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    assert_one_line_error(run("render", path, "-o", tmp_path / "out", "-v", tiny_voice.folder), 2, message)


def test_render_missing_and_binary_input(tiny_voice, tmp_path):
    assert_one_line_error(run("render", tmp_path / "nope.txt", "-o", tmp_path / "out", "-v", tiny_voice.folder),
                          2, "cannot read")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    assert_one_line_error(run("render", tmp_path / "bin.txt", "-o", tmp_path / "out", "-v", tiny_voice.folder),
                          2, "binary")


def test_render_resumes_after_a_kill(tmp_path):
    voice = make_tiny_voice(tmp_path / "voice", architecture="sep5 | sep5 hidden=16")
    lines = [f"This is sentence number {i}, said slowly and with care." for i in range(1, 41)]
    (tmp_path / "input.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "lightspeech_cli", "render", str(tmp_path / "input.txt"), "-o", str(out),
               "-v", str(voice.folder), "--speed", "0.25", "--vocoder", "griffinlim"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
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
    assert f"({len(done)} already there)" in finished.stderr
    assert len(list(out.glob("*.wav"))) == 40
    assert all((out / name).stat().st_mtime_ns == mtime for name, mtime in done.items())
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 40


def test_profile_compares_the_presets_and_the_default_voice():
    result = run("profile", "--runs", "1", "--json", "--vocoder", "griffinlim")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    names = [p["name"] for p in report["profiles"]]
    assert names == ["voice en-us-lightspeech", "fastspeech2", "lightspeech"]
    assert report["compression"] >= 15
    components = [c["component"] for c in report["profiles"][1]["components"]]
    assert components[0] == "text frontend" and components[-1].startswith("vocoder")
    assert {"encoder (with embedding)", "duration predictor", "length regulator", "decoder",
            "mel projection"} <= set(components)


def test_profile_a_voice_and_a_custom_architecture(tiny_voice):
    result = run("profile", "-v", tiny_voice.folder, "--arch", "sep5 | sep5 hidden=16", "--arch",
                 "sep9 | identity hidden=16", "--runs", "1", "--text", "Hello there.")
    assert result.exit_code == 0, result.output
    assert f"voice {tiny_voice.name}" in result.stdout and "fewer parameters" in result.stdout


def test_profile_bad_architecture():
    assert_one_line_error(run("profile", "--arch", "sep3 | sep5"), 2, "unknown operation")


def test_say_with_a_trained_istft_vocoder_on_every_backend(tiny_voice, tmp_path):
    from lightspeech_cli.vocoder.istft import IstftVocoder, IstftVocoderConfig, save_istft_vocoder

    folder = tmp_path / "istft"
    save_istft_vocoder(folder, IstftVocoder(IstftVocoderConfig(channels=16, hidden=32, layers=2)), "# card\n", {})
    outputs = {}
    # ONNX cannot export the inverse FFT: the vocoder falls back to its own default there
    for backend in ("eager", "torchscript", "onnx"):
        out = tmp_path / f"{backend}.wav"
        result = run("say", "Hello world.", "-v", tiny_voice.folder, "--vocoder", folder, "--backend", backend,
                     "-o", out)
        assert result.exit_code == 0, result.output
        outputs[backend] = soundfile.read(out)[0]
    assert len(outputs["eager"]) == 10 * 6 * 256 + int(0.2 * 22050)
    for backend in ("torchscript", "onnx"):
        assert np.abs(outputs[backend] - outputs["eager"]).max() < 1e-3
    profile = run("profile", "-v", tiny_voice.folder, "--vocoder", folder, "--runs", "1", "--json")
    assert profile.exit_code == 0, profile.output
    voice_profile = json.loads(profile.stdout)["profiles"][0]
    vocoder_row = voice_profile["components"][-1]
    assert vocoder_row["component"] == "vocoder (IstftVocoder)" and vocoder_row["parameters"] > 0
    assert voice_profile["vocoder_real_time_factor"] > 0
    assert_one_line_error(run("say", "hi", "-v", tiny_voice.folder, "--vocoder", "nonesuch", "-o",
                              tmp_path / "x.wav"), 5, "unknown vocoder")
