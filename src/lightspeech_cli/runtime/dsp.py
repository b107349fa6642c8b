"""Signal processing in numpy, for the runtime: the mel filterbank (HiFi-GAN V1's), the
short-time Fourier transform and its inverse by overlap-add.

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


def inverse_stft(log_amplitude: np.ndarray, phase: np.ndarray, n_fft: int, hop: int, left_pad: int) -> np.ndarray:
    """[B, T, n_fft/2 + 1] log amplitude and phase -> wave [B, T * hop].

    Frame t's window starts `left_pad` samples before output sample t * hop (the mel's
    framing); the overlapping windows are summed and divided by the summed squared
    window, which inverts an STFT taken with the same window exactly. The spectrum is
    built in single precision in place: `1j * x` would make it double and cost 4x."""
    window = hann_window(n_fft)
    amplitude = np.exp(log_amplitude)
    spectrum = np.empty(log_amplitude.shape, np.complex64)
    np.multiply(amplitude, np.cos(phase), out=spectrum.real)
    np.multiply(amplitude, np.sin(phase), out=spectrum.imag)
    frames = np.fft.irfft(spectrum, n=n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= window
    count = frames.shape[-2]
    wave = overlap_add(frames, hop)
    envelope = window_envelope(window**2, count, hop)
    n_samples = count * hop
    wave = wave[..., left_pad : left_pad + n_samples]
    return wave / np.maximum(envelope[left_pad : left_pad + n_samples], 1e-3)


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
