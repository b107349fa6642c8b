"""The runtime's numpy DSP against plain references: the mel filterbank, and the inverse STFT
and pulse train in every window, offset, normalization and harmonic, sample for sample, not
only "it sounds like the input"."""

import numpy as np
import pytest
import torch

from lightspeech_cli.runtime import dsp
from lightspeech_cli.runtime.dsp import mel_filterbank


def reference_inverse_stft(log_amplitude, phase, n_fft, hop, left_pad):
    """Frame t's windowed inverse FFT added at sample t * hop - left_pad; divided by the
    summed squared window (at least 1e-3); T * hop samples. Float64, one frame at a time."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    batch, count, _ = log_amplitude.shape
    out = np.zeros((batch, count * hop))
    envelope = np.zeros(count * hop)
    for t in range(count):
        frames = np.fft.irfft(np.exp(log_amplitude[:, t]) * np.exp(1j * phase[:, t]), n=n_fft, axis=-1) * window
        for k in range(n_fft):
            sample = t * hop - left_pad + k
            if 0 <= sample < count * hop:
                out[:, sample] += frames[:, k]
                envelope[sample] += window[k] ** 2
    return out / np.maximum(envelope, 1e-3)


@pytest.mark.exact
@pytest.mark.parametrize("n_fft, hop, count", [(16, 4, 7), (32, 8, 5), (24, 6, 1), (15, 5, 4)])  # odd n_fft too
def test_inverse_stft_matches_the_loop_reference(n_fft, hop, count):
    rng = np.random.default_rng(n_fft + count)
    bins = n_fft // 2 + 1
    log_amplitude = rng.normal(0, 0.5, (2, count, bins)).astype(np.float32)
    phase = rng.uniform(-np.pi, np.pi, (2, count, bins)).astype(np.float32)
    left_pad = (n_fft - hop) // 2
    wave = dsp.inverse_stft(dsp.polar(log_amplitude, phase), n_fft, hop, left_pad)
    assert wave.shape == (2, count * hop) and wave.dtype == np.float32
    expected = reference_inverse_stft(log_amplitude, phase, n_fft, hop, left_pad)
    np.testing.assert_allclose(wave, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.exact
def test_inverse_stft_floors_a_vanishing_envelope_at_a_thousandth():
    """Where the windows barely overlap, the envelope is tiny: dividing by it would blow
    the samples up; the floor keeps them bounded."""
    n_fft, hop, left_pad = 16, 8, 0  # no offset: sample 0 sits where every window is zero
    log_amplitude = np.zeros((1, 3, n_fft // 2 + 1), np.float32)
    phase = np.zeros_like(log_amplitude)
    wave = dsp.inverse_stft(dsp.polar(log_amplitude, phase), n_fft, hop, left_pad)
    expected = reference_inverse_stft(log_amplitude, phase, n_fft, hop, left_pad)
    np.testing.assert_allclose(wave, expected, rtol=1e-4, atol=1e-5)
    assert wave[0, 0] == 0.0


@pytest.mark.exact
def test_hann_window_is_torchs_periodic_window():
    for length in (4, 16, 1024):
        window = dsp.hann_window(length)
        assert window.dtype == np.float32 and window.shape == (length,)
        np.testing.assert_allclose(window, torch.hann_window(length).numpy(), atol=1e-6)
    assert dsp.hann_window(8)[0] == 0.0 and dsp.hann_window(8)[4] == 1.0


@pytest.mark.exact
@pytest.mark.parametrize("count, size, hop", [(1, 8, 4), (5, 8, 4), (6, 12, 3), (3, 4, 4)])
def test_overlap_add_puts_frame_t_at_sample_t_times_hop(count, size, hop):
    rng = np.random.default_rng(count * size)
    frames = rng.normal(size=(2, count, size)).astype(np.float32)
    out = dsp.overlap_add(frames, hop)
    expected = np.zeros((2, (count - 1) * hop + size), np.float32)
    for t in range(count):
        expected[:, t * hop : t * hop + size] += frames[:, t]
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.exact
@pytest.mark.parametrize("count, size, hop", [(1, 8, 4), (7, 8, 2), (4, 12, 4)])
def test_window_envelope_is_the_overlap_add_of_the_squared_window(count, size, hop):
    squared = dsp.hann_window(size) ** 2 + np.arange(size, dtype=np.float32) / 100  # no symmetry to hide behind
    envelope = dsp.window_envelope(squared, count, hop)
    expected = dsp.overlap_add(np.broadcast_to(squared, (count, size)).copy(), hop)
    assert envelope.dtype == np.float32
    np.testing.assert_allclose(envelope, expected, atol=1e-6)


@pytest.mark.exact
def test_stft_is_torchs_centered_stft_with_zero_padding():
    rng = np.random.default_rng(3)
    wave = rng.normal(size=1000).astype(np.float32)
    window = dsp.hann_window(64)
    ours = dsp.stft(wave, 64, 16, window)
    theirs = (
        torch.stft(
            torch.from_numpy(wave),
            64,
            16,
            window=torch.from_numpy(window),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        .numpy()
        .T
    )
    assert ours.shape == theirs.shape == (1000 // 16 + 1, 33)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


@pytest.mark.exact
@pytest.mark.parametrize("length, n_fft, hop", [(1000, 64, 16), (1024, 64, 16), (17, 64, 16), (500, 63, 9)])
def test_istft_inverts_stft_to_the_sample(length, n_fft, hop):
    rng = np.random.default_rng(length)
    wave = rng.normal(size=length)
    window = dsp.hann_window(n_fft).astype(np.float64)
    back = dsp.istft(dsp.stft(wave, n_fft, hop, window), n_fft, hop, window, length)
    assert back.shape == (length,)
    np.testing.assert_allclose(back, wave, atol=1e-6)


def reference_pulse_train(f0, hop, sample_rate):
    """Harmonics summed one by one: cos(h * phase) for every h with h * F0 up to 11 kHz, the
    phase the running sum of the interpolated F0."""
    samples = np.arange(len(f0) * hop)
    f = np.interp(samples, np.arange(len(f0)) * hop + (hop - 1) / 2, f0)
    phase = 2 * np.pi * np.cumsum(np.maximum(f, 40.0)) / sample_rate
    out = np.zeros(len(samples))
    for h in range(1, int(11000 / 40) + 1):
        out += np.where(h * np.maximum(f, 40.0) <= 11000, np.cos(h * phase), 0.0)
    near_pulse = np.abs(2 * np.sin(phase / 2)) <= 2e-3
    return np.where(f >= 40.0, out, 0.0), near_pulse


@pytest.mark.exact
def test_pulse_train_is_the_sum_of_its_harmonics_and_silent_where_unvoiced():
    f0 = np.concatenate([np.zeros(3), np.linspace(110, 290, 20), np.zeros(4), np.full(6, 200.0)])
    pulses = dsp.pulse_train(f0, 64, 22050)
    assert pulses.shape == (len(f0) * 64,) and pulses.dtype == np.float32
    expected, near_pulse = reference_pulse_train(f0, 64, 22050)
    # Within 2e-3 rad of a pulse the closed form is 0/0 and its limit, the harmonic count, stands in.
    np.testing.assert_allclose(pulses[~near_pulse], expected[~near_pulse], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(pulses[near_pulse], expected[near_pulse], atol=1.0)  # of peaks of 38 to 100
    assert not pulses[: 2 * 64].any()  # unvoiced frames (and up to the centre of the first voiced one)


@pytest.mark.exact
def test_pulse_train_is_the_teachers_at_its_rate():
    """The vocoder trains on the teacher's pulses and speaks with the runtime's: the same
    train, made the same way from an F0, here at the teacher's rate and hop."""
    hibari_dsp = pytest.importorskip("hibari.dsp")
    f0 = np.concatenate([np.zeros(5), np.linspace(150, 330, 40), np.zeros(3), np.full(10, 210.0), [30.0] * 2])
    ours = dsp.pulse_train(f0, 300, 24000)
    theirs = hibari_dsp.pulses(f0.astype(np.float32))
    assert ours.shape == theirs.shape
    _, near_pulse = reference_pulse_train(f0, 300, 24000)
    np.testing.assert_allclose(ours[~near_pulse], theirs[~near_pulse], atol=0.02)
    np.testing.assert_allclose(ours[near_pulse], theirs[near_pulse], atol=1.0)  # of peaks of 33 to 73


@pytest.mark.exact
def test_framed_stft_is_each_frame_windowed_and_transformed_across_blocks_and_silences():
    """Against one plain FFT per frame: a wave longer than one block of frames
    (dsp.FRAME_CHUNK), with silent stretches it skips, and one that ends before the frames do."""
    n_fft, hop, left_pad = 64, 16, 24
    count = 3 * dsp.FRAME_CHUNK + 5
    rng = np.random.default_rng(0)
    wave = rng.normal(size=count * hop - 40)
    wave[100:900] = 0.0  # many whole frames of silence
    wave[2000:2001] = 0.0  # a zero inside sound: its frames are not silent
    wave[3000:4500] = 0.0
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.concatenate([np.zeros(left_pad), wave, np.zeros(n_fft + hop * 4)])
    expected = np.stack([np.fft.rfft(padded[t * hop : t * hop + n_fft] * window) for t in range(count)])
    ours = dsp.framed_stft(wave, n_fft, hop, left_pad, count)
    assert ours.shape == (count, n_fft // 2 + 1) and ours.dtype == np.complex64
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert (ours[10:52] == 0).all() and np.abs(ours[120:130]).min() > 0
    assert dsp.framed_stft(wave, n_fft, hop, left_pad, 0).shape == (0, n_fft // 2 + 1)
    assert dsp.source_spectrum(np.zeros((2, 0)), 1024, 256, 22050, 384).shape == (2, 0, 513)


@pytest.mark.exact
def test_pulse_train_harmonics_have_unit_amplitude_and_advance_coherently():
    """Steady F0 of 215.33 Hz (10 bins of 1024 at 22050 Hz): every harmonic peaks at n_fft / 4 in
    a Hann-windowed STFT, and from frame to frame its phase advances by 2 pi h F0 hop / rate."""
    n_fft, hop, rate = 1024, 256, 22050
    f0 = np.full(40, 10 * rate / n_fft)
    spectrum = dsp.framed_stft(dsp.pulse_train(f0, hop, rate), n_fft, hop, (n_fft - hop) // 2, len(f0))
    middle = spectrum[10:30]
    for h in (1, 5, 20, 40):
        np.testing.assert_allclose(np.abs(middle[:, 10 * h]), n_fft / 4, rtol=1e-3)
        advance = middle[1:, 10 * h] * np.conj(middle[:-1, 10 * h])
        expected = np.exp(2j * np.pi * h * f0[0] * hop / rate)
        np.testing.assert_allclose(advance / np.abs(advance), expected, atol=1e-3)
    assert np.abs(middle[:, 5]).max() < 0.01 * n_fft / 4  # between harmonics: nothing


@pytest.mark.exact
def test_torch_pulse_train_and_framing_match_the_runtimes():
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    model = IstftVocoder(IstftVocoderConfig(channels=8, hidden=8, layers=1))
    rng = np.random.default_rng(0)
    f0 = np.where(rng.random(50) < 0.2, 0.0, rng.uniform(80, 400, 50)).astype(np.float32)
    pulses = dsp.pulse_train(f0, 256, 22050)
    np.testing.assert_allclose(model.pulse_train(torch.from_numpy(f0)[None])[0].numpy(), pulses, atol=1e-4)
    framed = model.framed_stft(torch.from_numpy(pulses)[None], len(f0))[0].numpy()
    np.testing.assert_allclose(framed, dsp.framed_stft(pulses, 1024, 256, 384, len(f0)), atol=1e-2)


@pytest.mark.exact
def test_pulse_train_takes_no_frames_and_reads_a_frequency_that_is_not_finite_as_unvoiced():
    assert dsp.pulse_train(np.zeros(0, np.float32), 256, 22050).shape == (0,)
    assert dsp.source_spectrum(np.zeros((0, 4), np.float32), 1024, 256, 22050, 384).shape == (0, 4, 513)
    clean = dsp.pulse_train(np.array([200.0, 0.0, 0.0, 200.0]), 256, 22050)
    for bad in (np.nan, np.inf):
        pulses = dsp.pulse_train(np.array([200.0, bad, 0.0, 200.0]), 256, 22050)
        assert np.isfinite(pulses).all()
        np.testing.assert_array_equal(pulses, clean)  # the frames after it untouched


@pytest.mark.exact
def test_mel_filterbank_is_slaney():
    bank = mel_filterbank(22050, 1024, 80, 0.0, 8000.0)
    assert bank.shape == (80, 513)
    assert (bank >= 0).all() and (bank.sum(1) > 0).all()
    # Slaney normalization: each triangle's area is 2 / bandwidth, so band 0 peaks highest
    assert bank[0].max() > bank[-1].max()
