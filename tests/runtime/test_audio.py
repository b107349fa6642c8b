import io
import json
import os

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.errors import AudioDeviceError, InputError, OutputError
from lightspeech_cli.runtime import audio

from ..helpers import assert_one_line_error

RATE = 22050
TONE = (0.5 * np.sin(2 * np.pi * 440 * np.arange(RATE // 4) / RATE)).astype(np.float32)


@pytest.mark.parametrize(
    "name, file_format", [("a.wav", "WAV"), ("a.flac", "FLAC"), ("a.ogg", "OGG"), ("a.MP3", "MP3")]
)
def test_format_follows_extension(tmp_path, name, file_format):
    path = tmp_path / name
    audio.write_file(path, TONE, RATE)
    info = soundfile.info(path)
    assert info.format == file_format and info.samplerate == RATE
    if file_format != "MP3":  # MP3 pads its frames
        assert info.frames == len(TONE)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_resampling_keeps_duration_and_pitch(tmp_path):
    path = tmp_path / "phone.wav"
    audio.write_file(path, TONE, RATE, out_rate=16000)
    samples, rate = soundfile.read(path)
    assert rate == 16000 and len(samples) == round(len(TONE) * 16000 / RATE)
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(spectrum.argmax() * rate / len(samples) - 440) < 5  # the tone is still 440 Hz


@pytest.mark.parametrize("new_rate", [8000, 16000, 24000, 44100, 48000])
def test_resampling_matches_the_tone_sampled_at_the_new_rate(new_rate):
    """The reference is exact: the same 440 Hz tone computed at the new rate. Away from the
    first and last 20 ms (the filter's edges), no sample is off by more than 1e-5 (-100 dB)."""
    long_tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)
    resampled = audio.resample(long_tone, RATE, new_rate)
    assert resampled.dtype == np.float32 and len(resampled) == new_rate
    reference = 0.5 * np.sin(2 * np.pi * 440 * np.arange(new_rate) / new_rate)
    edge = new_rate // 50
    assert np.abs(resampled - reference)[edge:-edge].max() < 1e-5


def test_resampling_removes_what_the_new_rate_cannot_hold():
    """A 6 kHz tone at 8 kHz would alias to 2 kHz; the anti-aliasing filter removes it (-100 dB
    away from the first and last 20 ms, where the tone starts and stops abruptly)."""
    high = (0.5 * np.sin(2 * np.pi * 6000 * np.arange(RATE) / RATE)).astype(np.float32)
    assert np.sqrt(np.mean(audio.resample(high, RATE, 8000)[160:-160] ** 2)) < 0.5e-5


@pytest.mark.parametrize(
    "make_path, error, message",
    [
        (lambda tmp: tmp / "missing" / "a.wav", OutputError, "does not exist"),
        (lambda tmp: tmp / "a.aiff", InputError, "unknown audio format"),
        (lambda tmp: tmp, InputError, "unknown audio format"),
        (lambda tmp: (tmp / "folder.wav").mkdir() or tmp / "folder.wav", OutputError, "is a folder"),
    ],
)
def test_unwritable_output_is_refused_before_anything_is_written(tmp_path, make_path, error, message):
    path = make_path(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(error, match=message):
        audio.write_file(path, TONE, RATE)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "a.wav"
    with pytest.raises(OutputError):
        audio.write_file(path, np.full(10, np.nan + 1j), RATE)  # soundfile rejects complex audio
    assert list(tmp_path.iterdir()) == []


def test_files_follow_the_umask_and_an_overwrite_keeps_the_mode(tmp_path):
    import lightspeech_cli.paths as paths

    path = tmp_path / "a.wav"
    audio.write_file(path, TONE, RATE)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~paths.umask()  # 0644 under the usual 022, not 0600
    os.chmod(path, 0o640)
    audio.write_file(path, TONE, RATE)
    assert (path.stat().st_mode & 0o777) == 0o640


def test_writing_through_a_link_keeps_the_link(tmp_path):
    target = tmp_path / "real.wav"
    target.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(target)
    audio.write_file(link, TONE, RATE)
    assert link.is_symlink() and soundfile.info(target).frames == len(TONE)


def test_a_full_disk_is_one_output_error(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with pytest.raises(OutputError, match="standard output"):
        with open("/dev/full", "wb") as full:
            audio._write_out(full, b"x" * 100_000)


def test_wav_bytes_round_trip():
    samples, rate = soundfile.read(io.BytesIO(audio.wav_bytes(TONE, RATE)))
    assert rate == RATE and np.allclose(samples, TONE, atol=1e-4)


def test_raw_pcm_is_16_bit_little_endian():
    pcm = audio.to_pcm16(np.array([0.0, 1.0, -1.0, 2.0], dtype=np.float32))
    assert pcm.dtype.str == "<i2" and pcm.tolist() == [0, 32767, -32767, 32767]


def test_no_audio_device_is_a_clear_error():
    try:
        import sounddevice

        sounddevice.query_devices(kind="output")
        pytest.skip("this machine has an audio output device")
    except Exception:  # no PortAudio, or PortAudio without a device: what we test
        pass
    with pytest.raises(AudioDeviceError, match="-o out.wav"):
        audio.play([TONE], audio.open_output_stream(RATE))


# --- one output holds a bounded length of audio, at a rate its format has ---------------------


runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


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


@pytest.mark.parametrize("command", [["say", "Hi.", "-o", "x.mp3"], ["render", "lines.txt", "-o", "out", "-F", "mp3"]])
def test_an_mp3_at_a_rate_mpeg_lacks_is_refused_before_synthesis(tiny_voice, tmp_path, command):
    (tmp_path / "lines.txt").write_text("Hi.\n")
    paths = [str(tmp_path / part) if part in ("x.mp3", "out", "lines.txt") else part for part in command]
    result = run(*paths, "-v", tiny_voice.folder, "--sample-rate", "12345")
    assert_one_line_error(result, 2, "--sample-rate 12345 cannot be written as MP3, whose rates are 8000, 11025")
    assert not (tmp_path / "x.mp3").exists()
    assert run(*paths, "-v", tiny_voice.folder, "--sample-rate", "16000").exit_code == 0
