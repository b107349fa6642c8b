"""`lightspeech say` and `lightspeech phonemize` (cli/speak.py)."""

import json
import os
import resource
import select
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.runtime.synthesizer import DEFAULT_EDGE_SILENCE

from ..helpers import assert_one_line, assert_one_line_error, make_tiny_vocoder, make_tiny_voice, run_process
from .helpers import check, options, texts

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


def test_say_refuses_a_fifo_and_a_link_to_one(tmp_path):
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    link = tmp_path / "link.wav"
    link.symlink_to(fifo)
    for target in (fifo, link):
        assert_one_line_error(run("say", "hi", "-o", target), 3, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()


def test_say_file_reads_with_a_bound(endless_fifo, tmp_path):
    assert_one_line(run_process("say", "-f", endless_fifo, "-o", tmp_path / "a.wav"), 2, "too long")


def test_streamed_say_reads_a_line_with_a_bound(endless_fifo, tmp_path, tiny_voice):
    with open(endless_fifo, "rb") as stdin:
        process = run_process("say", "-v", tiny_voice.folder, "-o", tmp_path / "a.wav", stdin=stdin)
    assert_one_line(process, 2, "line 1 of the input is too long")


# --- phonemize --------------------------------------------------------------------------------


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


# --- under arbitrary text and options: what tests/cli/helpers.py draws ------------------------


spoke: list[str] = []


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=texts, extra=options, extension=st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ".aiff", ""]))
def test_say(voice_and_vocoder, tmp_path_factory, text, extra, extension):
    voice, vocoder = voice_and_vocoder
    output = tmp_path_factory.mktemp("say") / f"out{extension}"
    result = runner.invoke(app, ["say", text, "-v", voice, "--vocoder", vocoder, "-o", str(output), *extra])
    check(result, output)
    if result.exit_code == 0:
        assert output.stat().st_size > 0
        spoke.append(text)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=texts, ssml=st.sampled_from([[], ["--ssml"], ["--no-ssml"]]), words=st.booleans())
def test_phonemize(text, ssml, words):
    result = runner.invoke(app, ["phonemize", text, *ssml, *(["--words"] if words else [])])
    check(result)


def test_the_fuzzing_reached_speech():
    """Not every run may stop at option checking, or the text paths were never fuzzed."""
    assert len(spoke) >= 5


def test_say_writes_timings_in_the_format_its_name_asks_for(tiny_voice, tmp_path):
    import srt

    out = tmp_path / "hello.wav"
    result = run("say", "Hello world. Again.", "-v", tiny_voice.folder, "-o", out, "--timings", tmp_path / "t.json",
                 "--phonemes")  # fmt: skip
    assert result.exit_code == 0, result.output
    timings = json.loads((tmp_path / "t.json").read_text())
    assert [w["text"] for w in timings["words"]] == ["Hello", "world.", "Again."]
    assert timings["words"][-1]["end"] < soundfile.info(out).duration and timings["phonemes"][0]["phoneme"] == "HH"
    # At another sample rate the audio is resampled; the times are the same.
    result = run("say", "Hello world. Again.", "-v", tiny_voice.folder, "-o", tmp_path / "h16.wav",
                 "--sample-rate", 16000, "--timings", tmp_path / "t16.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "t16.json").read_text())["words"] == timings["words"]
    result = run("say", "Hello world. Again.", "-v", tiny_voice.folder, "-o", out, "--timings", tmp_path / "t.srt")
    cues = list(srt.parse((tmp_path / "t.srt").read_text()))
    assert [c.content for c in cues] == ["Hello world.", "Again."]
    assert cues[0].start.total_seconds() == pytest.approx(timings["words"][0]["start"], abs=1e-3)


def test_say_prints_json_timings_on_standard_output(tiny_voice, tmp_path):
    result = run("say", "<speak>Hi <mark name='x'/>there.</speak>", "-v", tiny_voice.folder, "-o", tmp_path / "a.wav",
                 "--timings", "-")  # fmt: skip
    assert result.exit_code == 0, result.output
    timings = json.loads(result.stdout)
    assert timings["marks"] == [{"name": "x", "time": timings["words"][1]["start"]}]


@pytest.mark.parametrize(
    "extra, code, message",
    [
        (["--timings", "t.txt"], 2, "unknown format '.txt'"),
        (["--phonemes"], 2, "give --timings FILE too"),
        (["--timings", "t.srt", "--phonemes"], 2, "--phonemes needs --timings FILE.json or FILE.TextGrid"),
        (["--timings", "no/such/folder/t.json"], 3, "does not exist"),
        (["--timings", "link.json"], 2, "--timings link.json and -o a.wav are the same file"),
    ],
)
def test_bad_timings_options_are_refused_before_speaking(tiny_voice, tmp_path, monkeypatch, extra, code, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.json").symlink_to(tmp_path / "a.wav")  # a link to where the audio goes
    result = run("say", "Hello.", "-v", tiny_voice.folder, "-o", "a.wav", *extra)
    assert_one_line_error(result, code, message)
    assert not (tmp_path / "a.wav").exists()
