"""Signal processing in numpy, for the runtime: the mel filterbank (HiFi-GAN V1's), the
short-time Fourier transform and its inverse by overlap-add, the pulse train that a
source-filter vocoder shapes, and the desktop module's sound icon.

model/spectrogram.py computes training mels in torch with the same filterbank.
"""

from __future__ import annotations

import numpy as np


def _hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """[n_mels, n_fft // 2 + 1] triangular filters with Slaney area normalization."""
    frequencies = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - frequencies[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def hann_window(length: int) -> np.ndarray:
    """The periodic Hann window, as torch.hann_window makes it."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)).astype(np.float32)


def overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """frames [..., T, n] -> [..., (T - 1) * hop + n]: frame t added at sample t * hop.
    n must be a multiple of hop; then it is n / hop vectorized adds."""
    *batch, count, size = frames.shape
    overlap = size // hop
    out = np.zeros((*batch, (count + overlap - 1) * hop), frames.dtype)
    pieces = frames.reshape(*batch, count, overlap, hop)
    for k in range(overlap):
        out[..., k * hop : (k + count) * hop] += pieces[..., :, k, :].reshape(*batch, count * hop)
    return out


def window_envelope(window_squared: np.ndarray, count: int, hop: int) -> np.ndarray:
    """What `overlap_add` makes of `count` copies of the squared window: its hop-long
    pieces tiled, without building `count` frames."""
    overlap = len(window_squared) // hop
    envelope = np.zeros((count + overlap - 1) * hop, np.float32)
    for k in range(overlap):
        envelope[k * hop : (k + count) * hop] += np.tile(window_squared[k * hop : (k + 1) * hop], count)
    return envelope


def polar(log_amplitude: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """exp(log_amplitude) * e^(i phase), built in single precision in place: `1j * x` would
    make it double and cost 4x."""
    amplitude = np.exp(log_amplitude)
    spectrum = np.empty(log_amplitude.shape, np.complex64)
    np.multiply(amplitude, np.cos(phase), out=spectrum.real)
    np.multiply(amplitude, np.sin(phase), out=spectrum.imag)
    return spectrum


def as_complex(real_and_imaginary: np.ndarray) -> np.ndarray:
    """[..., 2] float32 (real, imaginary) -> [...] complex64, a view when it can be one."""
    return np.ascontiguousarray(real_and_imaginary, np.float32).view(np.complex64)[..., 0]


def inverse_stft(spectrum: np.ndarray, n_fft: int, hop: int, left_pad: int) -> np.ndarray:
    """[B, T, n_fft/2 + 1] complex spectrum -> wave [B, T * hop].

    Frame t's window starts `left_pad` samples before output sample t * hop (the mel's
    framing); the overlapping windows are summed and divided by the summed squared
    window, which inverts an STFT taken with the same window exactly."""
    window = hann_window(n_fft)
    frames = np.fft.irfft(spectrum, n=n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= window
    count = frames.shape[-2]
    wave = overlap_add(frames, hop)
    envelope = window_envelope(window**2, count, hop)
    n_samples = count * hop
    wave = wave[..., left_pad : left_pad + n_samples]
    return wave / np.maximum(envelope[left_pad : left_pad + n_samples], 1e-3)


# Below this F0 (Hz) a frame is unvoiced: no pulses.
VOICED_HZ = 40.0
# The pulse train's highest harmonic, below the Nyquist frequency of 22050 Hz audio.
PULSE_TOP_HZ = 11000.0


# Frames that framed_stft transforms at once: a few MB, reused, where a minute's frames at once
# (hundreds of MB) would cost fresh pages at every call.
FRAME_CHUNK = 128


def pulse_train(f0: np.ndarray, hop: int, sample_rate: int) -> np.ndarray:
    """F0 per frame [T] (Hz; below VOICED_HZ unvoiced) -> pulse train [T * hop], float32.

    Frame t's F0 holds at its window's centre, sample t * hop + (hop - 1) / 2 (as the teacher
    has it), and is interpolated linearly between centres. Every harmonic up to PULSE_TOP_HZ
    (and below the Nyquist frequency) has unit amplitude, the sum in closed form,
    sum_{h <= H} cos(h p) = sin((H + 1/2) p) / (2 sin(p / 2)) - 1/2,
    where p is the running sum of F0, so the harmonics stay coherent from frame to frame. The
    sum runs in double precision (a minute of speech is 12,000 cycles, where float32 would
    drift), the rest in single. An F0 that is not finite counts as unvoiced."""
    f0 = np.asarray(f0, np.float64)
    if len(f0) == 0:
        return np.zeros(0, np.float32)
    f0 = np.where(np.isfinite(f0), f0, 0.0)
    # In place where it can be: every temporary of a minute's samples costs fresh pages.
    f = np.interp(np.arange(len(f0) * hop), np.arange(len(f0)) * hop + (hop - 1) / 2, f0)
    voiced = f >= VOICED_HZ
    np.maximum(f, VOICED_HZ, out=f)
    cycles = np.cumsum(f)
    cycles /= sample_rate
    cycles -= np.floor(cycles)
    cycles *= 2 * np.pi
    phase = cycles.astype(np.float32)
    harmonics = np.floor(np.divide(min(PULSE_TOP_HZ, 0.499 * sample_rate), f, out=f), out=f).astype(np.float32)
    harmonics += 0.5
    half_sine = np.sin(phase * np.float32(0.5))
    half_sine *= 2
    at_pulse = np.abs(half_sine) <= 2e-3  # where the closed form is 0/0, its limit
    half_sine[at_pulse] = 1.0
    pulses = np.sin(harmonics * phase)
    pulses /= half_sine
    pulses[at_pulse] = harmonics[at_pulse]
    pulses -= 0.5
    pulses[~voiced] = 0.0
    return pulses


def framed_stft(wave: np.ndarray, n_fft: int, hop: int, left_pad: int, count: int) -> np.ndarray:
    """The STFT of `wave` in the vocoder's framing, Hann window, zeros outside the wave:
    [count, n_fft/2 + 1] complex64, frame t's window starting `left_pad` samples before sample t * hop.
    n_fft is a multiple of hop, so the windowed frames are built from hop-long blocks, one
    window piece at a time. Frames of zeros (a pulse train's unvoiced stretches) are left at
    zero without a transform, and the rest go FRAME_CHUNK at a time, which keeps the working
    memory warm; the FFT runs in double precision, where numpy's real FFT is twice as fast as
    in single."""
    spectrum = np.zeros((count, n_fft // 2 + 1), np.complex64)
    if count == 0:
        return spectrum
    overlap = n_fft // hop
    padded = np.pad(wave, (left_pad, max(0, (count + overlap) * hop - left_pad - len(wave))))
    blocks = padded[: (count + overlap - 1) * hop].reshape(count + overlap - 1, hop)
    nonzero = np.lib.stride_tricks.sliding_window_view(blocks.any(axis=1), overlap).any(axis=1)
    window = hann_window(n_fft).astype(np.float64)
    frames_at = np.flatnonzero(nonzero)
    for first in range(0, len(frames_at), FRAME_CHUNK):
        at = frames_at[first : first + FRAME_CHUNK]
        frames = np.empty((len(at), n_fft), np.float64)
        for k in range(overlap):
            np.multiply(blocks[at + k], window[k * hop : (k + 1) * hop], out=frames[:, k * hop : (k + 1) * hop])
        spectrum[at] = np.fft.rfft(frames, axis=-1)
    return spectrum


def source_spectrum(f0: np.ndarray, n_fft: int, hop: int, sample_rate: int, left_pad: int) -> np.ndarray:
    """F0 [B, T] -> the pulse train's spectrum [B, T, n_fft/2 + 1], framed as the vocoder's."""
    spectrum = np.zeros((*f0.shape, n_fft // 2 + 1), np.complex64)
    for row, frequencies in enumerate(f0):
        spectrum[row] = framed_stft(pulse_train(frequencies, hop, sample_rate), n_fft, hop, left_pad, f0.shape[1])
    return spectrum


def stft(wave: np.ndarray, n_fft: int, hop: int, window: np.ndarray) -> np.ndarray:
    """Centered STFT with zero padding: wave [samples] -> [frames, n_fft/2 + 1] complex,
    frames = samples // hop + 1 (torch.stft with center=True, pad_mode="constant")."""
    padded = np.pad(wave, (n_fft // 2, n_fft // 2))
    count = 1 + (len(padded) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    return np.fft.rfft(padded[index] * window, axis=-1)


def istft(spectrum: np.ndarray, n_fft: int, hop: int, window: np.ndarray, length: int) -> np.ndarray:
    """The inverse of `stft`, cut to `length` samples."""
    frames = np.fft.irfft(spectrum, n=n_fft, axis=-1) * window
    wave = overlap_add(frames, hop)
    envelope = overlap_add(np.broadcast_to(window**2, frames.shape).copy(), hop)
    start = n_fft // 2
    return wave[start : start + length] / np.maximum(envelope[start : start + length], 1e-8)


def tone(frequency: float, seconds: float, sample_rate: int, level: float) -> np.ndarray:
    """A sine with 5 ms fades, so it starts and ends without a click."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.005)
    return (level * fade * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
