"""A frame-rate vocoder: every layer runs at the mel's frame rate and an inverse STFT
makes the waveform, as in Vocos (Siuzdak, 2023) and APNet2 (Du et al., 2023).

    log mel [B, T, 80] -> conv -> ConvNeXt blocks -> linear -> log amplitude, phase
                       -> spectrum [B, T, n_fft/2 + 1] -> inverse FFT per frame -> overlap-add

The phase is the angle of a predicted real and imaginary part (APNet's parallel phase
estimation; `phase_estimation` "parallel"), or, in vocoders made before it, the linear
layer's output itself ("direct").

With `source` "pulses" (a source-filter vocoder, like the teacher's DSP and NSF/HiFTNet), a
second head predicts F0 and a filter (log amplitude, phase per bin) that shapes the STFT of a
pulse train made from that F0, added to the spectrum above:

    spectrum = exp(a) e^(i phase) + exp(a_s) e^(i phase_s) STFT(pulses(F0))

A phase predicted frame by frame must guess each harmonic's advance from the mel; the pulse
train's harmonics advance coherently, so the voiced phase comes right by construction.

HiFi-GAN upsamples 256x with convolutions at every sample; here the only per-sample
work is one inverse FFT and an overlap-add (with pulses, also the pulse train and its
FFT), which is why it is over 100x cheaper.

Frame t of the vocoder covers the same samples as mel frame t (the HiFi-GAN mel pads
(n_fft - hop) / 2 on the left), so its spectrum can be trained against the STFT of
the target audio frame by frame, phase included.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..runtime.dsp import PULSE_TOP_HZ, VOICED_HZ
from ..runtime.format.vocoder import F0_KERNEL, IstftVocoderConfig, VocoderFolder

# The F0 head predicts log F0 as LOG_F0_MEAN + LOG_F0_SCALE * output: about 200 Hz, where speech is.
LOG_F0_MEAN, LOG_F0_SCALE = 5.3, 0.5


class ConvNeXtBlock(nn.Module):
    """Depthwise convolution, then a pointwise feed-forward layer, added to the input."""

    def __init__(self, channels: int, hidden: int, kernel_size: int, layer_scale: float):
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.expand = nn.Linear(channels, hidden)
        self.project = nn.Linear(hidden, channels)
        # Small residual branches at first keep a deep stack stable without warm-up tricks.
        self.scale = nn.Parameter(torch.full((channels,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, channels, T]."""
        y = self.depthwise(x).transpose(1, 2)
        y = self.project(F.gelu(self.expand(self.norm(y))))
        return x + (self.scale * y).transpose(1, 2)


class IstftVocoder(nn.Module):
    # A buffer (register_buffer below); torch types unknown attributes as Tensor | Module.
    window: torch.Tensor

    def __init__(self, config: IstftVocoderConfig = IstftVocoderConfig()):
        super().__init__()
        if config.n_fft % config.hop_length:
            raise ValueError("n_fft must be a multiple of hop_length")
        self.config = config
        self.sample_rate = config.sample_rate
        self.hop_length = config.hop_length
        self.overlap = config.n_fft // config.hop_length
        # Where mel frame 0's window starts, relative to the first output sample.
        self.left_pad = (config.n_fft - config.hop_length) // 2
        self.embed = nn.Conv1d(config.n_mels, config.channels, config.kernel_size, padding=config.kernel_size // 2)
        self.embed_norm = nn.LayerNorm(config.channels, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(config.channels, config.hidden, config.kernel_size, 1.0 / config.layers)
            for _ in range(config.layers)
        )
        self.final_norm = nn.LayerNorm(config.channels, eps=1e-6)
        self.head = nn.Linear(config.channels, config.head_outputs())
        if config.source == "pulses":
            c = config.channels
            self.source_head = nn.Linear(c, 2 * (config.n_fft // 2 + 1))
            padding = F0_KERNEL // 2
            self.f0_head = nn.Sequential(
                nn.Conv1d(c, c, F0_KERNEL, padding=padding),
                nn.GELU(),
                nn.Conv1d(c, c, F0_KERNEL, padding=padding),
                nn.GELU(),
                nn.Conv1d(c, 2, 1),  # log F0, voicing logit
            )
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def features(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, T, n_mels] -> the blocks' output [B, T, channels], normalized."""
        x = self.embed(mel.transpose(1, 2))
        x = self.embed_norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x.transpose(1, 2))

    def own_spectrum(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features -> (log amplitude, phase), each [B, T, n_fft/2 + 1]."""
        out = self.head(x)
        if self.config.phase_estimation == "parallel":
            log_amplitude, real, imaginary = out.chunk(3, dim=-1)
            phase = torch.atan2(imaginary, real)
        else:
            log_amplitude, phase = out.chunk(2, dim=-1)
        # exp(7) is far above any real speech amplitude; the clamp only stops overflow early in training.
        return log_amplitude.clamp(max=7.0), phase

    def source_filter(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features -> the pulses' filter: (log amplitude, phase in (-pi, pi)) per bin."""
        log_amplitude, rotation = self.source_head(x).chunk(2, dim=-1)
        return log_amplitude.clamp(max=7.0), math.pi * torch.tanh(rotation)

    def pitch(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features -> (log F0, voicing logit), each [B, T]."""
        out = self.f0_head(x.transpose(1, 2))
        return LOG_F0_MEAN + LOG_F0_SCALE * out[:, 0], out[:, 1]

    def f0(self, x: torch.Tensor) -> torch.Tensor:
        """features -> F0 [B, T] in Hz, 0 where the voicing logit says unvoiced."""
        log_f0, voicing = self.pitch(x)
        return torch.where(voicing > 0, torch.exp(log_f0), torch.zeros_like(log_f0))

    def spectrum(self, mel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """mel [B, T, n_mels] -> what the ONNX graph outputs: log amplitude and phase
        [B, T, n_fft/2 + 1]; with pulses instead the spectrum and the filter as real and
        imaginary parts [B, T, n_fft/2 + 1, 2] (numpy reads them as complex64 without a copy,
        and ONNX Runtime's exp, sin and cos are faster than numpy's), and F0 [B, T] in Hz
        (0 where unvoiced)."""
        x = self.features(mel)
        if self.config.source == "none":
            return self.own_spectrum(x)

        def real_and_imaginary(log_amplitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
            amplitude = torch.exp(log_amplitude)
            return torch.stack([amplitude * torch.cos(phase), amplitude * torch.sin(phase)], dim=-1)

        return real_and_imaginary(*self.own_spectrum(x)), real_and_imaginary(*self.source_filter(x)), self.f0(x)

    def pulse_train(self, f0: torch.Tensor) -> torch.Tensor:
        """runtime/dsp.py's pulse_train in torch, batched, for the torch backends:
        f0 [B, T] -> [B, T * hop] (a test holds the two together)."""
        hop, count = self.hop_length, f0.shape[1]
        f0 = f0.double()
        position = (torch.arange(count * hop, dtype=torch.float64, device=f0.device) - (hop - 1) / 2) / hop  # frames
        before = torch.floor(position)
        weight = position - before
        first = before.long().clamp(0, count - 1)
        second = (before.long() + 1).clamp(0, count - 1)
        f = f0[:, first] * (1 - weight) + f0[:, second] * weight
        voiced = f >= VOICED_HZ
        f = f.clamp(min=VOICED_HZ)
        cycles = torch.cumsum(f, dim=1) / self.sample_rate
        phase = (2 * math.pi * (cycles - torch.floor(cycles))).float()
        harmonics = (torch.floor(min(PULSE_TOP_HZ, 0.499 * self.sample_rate) / f) + 0.5).float()
        half_sine = 2 * torch.sin(phase / 2)
        at_pulse = half_sine.abs() <= 2e-3
        pulses = torch.sin(harmonics * phase) / torch.where(at_pulse, torch.ones_like(half_sine), half_sine)
        pulses = torch.where(at_pulse, harmonics, pulses) - 0.5
        return torch.where(voiced, pulses, torch.zeros_like(pulses))

    def framed_stft(self, wave: torch.Tensor, count: int) -> torch.Tensor:
        """[B, samples] -> [B, count, n_fft/2 + 1], framed as the mel (runtime/dsp.py's framed_stft);
        `wave` starts at output sample 0 and may be shorter than the frames reach."""
        n_fft, hop = self.config.n_fft, self.hop_length
        padded = F.pad(wave, (self.left_pad, max(0, (count - 1) * hop + n_fft - self.left_pad - wave.shape[1])))
        return torch.stft(padded, n_fft, hop, n_fft, self.window, center=False, return_complex=True).transpose(1, 2)[
            :, :count
        ]

    @staticmethod
    def polar(log_amplitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        amplitude = torch.exp(log_amplitude)
        return torch.complex(amplitude * torch.cos(phase), amplitude * torch.sin(phase))

    def full_spectrum(self, x: torch.Tensor, pulses: torch.Tensor | None) -> torch.Tensor:
        """features and the pulses' spectrum (None without a source) -> the complex spectrum."""
        spectrum = self.polar(*self.own_spectrum(x))
        if pulses is not None:
            spectrum = spectrum + self.polar(*self.source_filter(x)) * pulses
        return spectrum

    def overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [B, T, n_fft] -> [B, (T + overlap - 1) * hop]. Written as shifted sums of
        hop-sized pieces so that it traces for any T and costs one pass over the samples."""
        batch, n_frames, _ = frames.shape
        pieces = frames.reshape(batch, n_frames, self.overlap, self.hop_length)
        total = F.pad(pieces[:, :, 0], (0, 0, 0, self.overlap - 1))
        for k in range(1, self.overlap):
            total = total + F.pad(pieces[:, :, k], (0, 0, k, self.overlap - 1 - k))
        return total.reshape(batch, -1)

    def synthesize(self, spectrum: torch.Tensor) -> torch.Tensor:
        """The inverse STFT: complex [B, T, bins] -> wave [B, T * hop]."""
        frames = torch.fft.irfft(spectrum, n=self.config.n_fft, dim=-1) * self.window
        wave = self.overlap_add(frames)
        envelope = self.overlap_add((self.window**2).expand(1, frames.shape[1], -1))
        n_samples = frames.shape[1] * self.hop_length
        wave = wave[:, self.left_pad : self.left_pad + n_samples]
        return wave / envelope[:, self.left_pad : self.left_pad + n_samples].clamp(min=1e-3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, frames, n_mels] (natural log) -> wave [B, frames * hop]."""
        x = self.features(mel)
        pulses = None
        if self.config.source == "pulses":
            pulses = self.framed_stft(self.pulse_train(self.f0(x)), mel.shape[1])
        return self.synthesize(self.full_spectrum(x, pulses)).clamp(-1.0, 1.0)


def load_istft_vocoder(vocoder: VocoderFolder) -> IstftVocoder:
    """The torch module of a vocoder folder (training, torch backends); weights that do not
    fit the config end in one VoiceError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from ..errors import VoiceError

    model = IstftVocoder(vocoder.config)
    try:
        model.load_state_dict(load_file(vocoder.weights_path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise VoiceError(
            f"vocoder {vocoder.name}: {vocoder.weights_path} is corrupt or does not fit ({first})"
        ) from None
    return model.eval()
