import pytest

from lightspeech_cli.model.spectrogram import MelSpectrogram

from ..helpers import tone


@pytest.mark.exact
def test_mel_frames_follow_the_hop():
    mel = MelSpectrogram()(tone(1.0))
    assert mel.shape == (1, 22050 // 256, 80)
    peak_band = mel[0].mean(0).argmax().item()
    assert 5 <= peak_band <= 12  # 220 Hz sits in the low mel bands
