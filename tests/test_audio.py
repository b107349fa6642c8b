import numpy as np
import pytest
import soundfile

from lightspeech_cli import audio
from lightspeech_cli.errors import AudioDeviceError, OutputError

RATE = 22050
TONE = (0.5 * np.sin(2 * np.pi * 440 * np.arange(RATE // 4) / RATE)).astype(np.float32)


@pytest.mark.parametrize("name, file_format", [("a.wav", "WAV"), ("a.flac", "FLAC"), ("a.ogg", "OGG")])
def test_format_follows_extension(tmp_path, name, file_format):
    path = tmp_path / name
    audio.write_file(path, TONE, RATE)
    info = soundfile.info(path)
    assert info.format == file_format and info.samplerate == RATE and info.frames == len(TONE)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


@pytest.mark.parametrize("make_path, message", [
    (lambda tmp: tmp / "missing" / "a.wav", "does not exist"),
    (lambda tmp: tmp / "a.mp3", "unknown audio format"),
    (lambda tmp: tmp, "unknown audio format"),
    (lambda tmp: (tmp / "folder.wav").mkdir() or tmp / "folder.wav", "is a folder"),
])
def test_unwritable_output_is_refused_before_anything_is_written(tmp_path, make_path, message):
    path = make_path(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=message):
        audio.write_file(path, TONE, RATE)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "a.wav"
    with pytest.raises(ValueError):
        audio.write_file(path, np.full(10, np.nan + 1j), RATE)  # soundfile rejects complex audio
    assert list(tmp_path.iterdir()) == []


def test_wav_bytes_round_trip():
    import io

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
