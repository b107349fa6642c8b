"""A voice on disk: the schema of its config, and how it is found.

    config.json   format, name, language, symbol set, default vocoder, audio, model, normalization

Every field is checked for type and range, so a hostile or corrupt file becomes one
VoiceError rather than a crash, a huge allocation or noise later; the architecture
description (arch.py) is plain Python and part of the format. folder.py holds what voices
and vocoders share.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...errors import InputError, VoiceError
from ...paths import cache_dir, checked_name, readable_folder, shown
from ...text.symbols import DEFAULT_SYMBOL_SET, SYMBOL_SETS
from .folder import ModelFolder, folder_named, holds_config
from .schema import (
    REQUIRED,
    Check,
    SchemaError,
    architecture_field,
    name_field,
    one_of,
    printable_text,
    read_section,
    real_number,
    whole_number,
)
from .weights import GraphSource

FORMAT_VERSIONS = (1, 2)

CURRENT_FORMAT = 2

ACOUSTIC_OUTPUTS = ["mel", "durations"]  # what a voice's graph gives (model/export.py, export_acoustic)

DEFAULT_VOICE = "en-us-lightspeech"


@dataclass(frozen=True)
class AudioConfig:
    """The mel spectrogram a voice predicts: HiFi-GAN V1's by default."""

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0

    SCHEMA = {
        "sample_rate": (whole_number(8000, 96000), 22050),
        "n_fft": (whole_number(64, 8192), 1024),
        "hop_length": (whole_number(16, 8192), 256),
        "win_length": (whole_number(16, 8192), 1024),
        "n_mels": (whole_number(1, 512), 80),
        "fmin": (real_number(0.0, 48000.0), 0.0),
        "fmax": (real_number(0.0, 48000.0), 8000.0),
    }

    @classmethod
    def parse(cls, data: object, where: str) -> "AudioConfig":
        clean = read_section(data, cls.SCHEMA, where)
        if clean["n_fft"] % clean["hop_length"] or clean["win_length"] != clean["n_fft"]:
            raise VoiceError(f"{where}: n_fft must be a multiple of hop_length, and win_length equal to n_fft")
        if not clean["fmin"] < clean["fmax"] <= clean["sample_rate"] / 2:
            raise VoiceError(f"{where}: need fmin < fmax <= sample_rate / 2")
        return cls(**clean)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ModelConfig:
    """What a voice's config says about its acoustic model; model/acoustic.py builds it."""

    architecture: str = "lightspeech"
    n_symbols: int = len(SYMBOL_SETS[DEFAULT_SYMBOL_SET])
    n_mels: int = 80
    dropout: float = 0.1
    predictor_kernel: int = 3
    variance_bins: int = 256
    # Range of the z-scored pitch and energy the embeddings quantize.
    variance_min: float = -4.0
    variance_max: float = 4.0
    # Standard deviations of log F0 and log energy in the training data: they turn
    # the user's multiplicative controls into shifts of the z-scored values.
    pitch_log_std: float = 0.2
    energy_log_std: float = 0.5

    @classmethod
    def schema(cls) -> dict:
        defaults = cls()
        return {
            "architecture": (architecture_field, REQUIRED),
            "n_symbols": (whole_number(1, 10_000), defaults.n_symbols),
            "n_mels": (whole_number(1, 512), defaults.n_mels),
            "dropout": (real_number(0.0, 0.9), defaults.dropout),
            "predictor_kernel": (whole_number(1, 31), defaults.predictor_kernel),
            "variance_bins": (whole_number(2, 4096), defaults.variance_bins),
            "variance_min": (real_number(-100.0, 100.0), defaults.variance_min),
            "variance_max": (real_number(-100.0, 100.0), defaults.variance_max),
            "pitch_log_std": (real_number(0.0, 100.0, low_open=True), defaults.pitch_log_std),
            "energy_log_std": (real_number(0.0, 100.0, low_open=True), defaults.energy_log_std),
        }

    @classmethod
    def parse(cls, data: object, where: str) -> "ModelConfig":
        clean = read_section(data, cls.schema(), where)
        if clean["predictor_kernel"] % 2 == 0:
            raise VoiceError(f"{where}: 'predictor_kernel' must be odd, not {clean['predictor_kernel']}")
        if clean["variance_min"] >= clean["variance_max"]:
            raise VoiceError(f"{where}: 'variance_min' must be below 'variance_max'")
        return cls(**clean)

    @property
    def arch(self):
        from .arch import Architecture

        return Architecture.parse(self.architecture)

    def expected_weights(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor an acoustic model of this config holds: the modules
        of model/acoustic.py and model/ops.py, spelled out without torch (a test checks this
        against the torch model's state_dict for every kind of layer). A voice's weights
        must have exactly these (`check_weights`)."""
        arch, h = self.arch, self.arch.hidden
        shapes: dict[str, tuple[int, ...]] = {}

        def norm(prefix: str, size: int = h) -> None:
            shapes[f"{prefix}.weight"], shapes[f"{prefix}.bias"] = (size,), (size,)

        def layer(prefix: str, weight: tuple[int, ...]) -> None:  # Linear, Conv1d, Embedding: bias = output size
            shapes[f"{prefix}.weight"], shapes[f"{prefix}.bias"] = weight, weight[:1]

        def stack(prefix: str, layers: tuple[str, ...]) -> None:
            for i, spec in enumerate(layers):
                for j, op in enumerate(spec.split("+")):
                    at = f"{prefix}.layers.{i}.ops.{j}"
                    if op.startswith("sep"):
                        norm(f"{at}.norm")
                        for block in range(2):
                            layer(f"{at}.blocks.{block}.0", (h, 1, int(op[3:])))
                            layer(f"{at}.blocks.{block}.1", (h, h, 1))
                    elif op.startswith("att"):
                        norm(f"{at}.norm")
                        layer(f"{at}.qkv", (3 * h, h))
                        layer(f"{at}.out", (h, h))
                    elif op == "ffn":
                        norm(f"{at}.norm")
                        layer(f"{at}.expand", (4 * h, h, 9))
                        layer(f"{at}.project", (h, 4 * h, 1))
            norm(f"{prefix}.norm")

        shapes["encoder.embedding.weight"] = (self.n_symbols, h)
        stack("encoder.stack", arch.encoder)
        k = self.predictor_kernel
        for predictor in ("duration_predictor", "pitch_predictor", "energy_predictor"):
            for block in range(2):
                at = f"{predictor}.blocks.{block}"
                if arch.predictor == "sep":
                    layer(f"{at}.0", (h, 1, k))
                    layer(f"{at}.1", (h, h, 1))
                    norm(f"{at}.3.module")
                else:
                    layer(f"{at}.0", (h, h, k))
                    norm(f"{at}.2.module")
            layer(f"{predictor}.project", (1, h))
        shapes["pitch_embedding.weight"] = shapes["energy_embedding.weight"] = (self.variance_bins, h)
        stack("decoder", arch.decoder)
        layer("mel_projection", (self.n_mels, h))
        if arch.postnet:  # five convolutions of 512 channels, each with a batch norm
            channels = [self.n_mels] + [512] * 4 + [self.n_mels]
            for i in range(5):
                index = 4 * i  # conv, norm, tanh, dropout
                layer(f"postnet.convs.{index}", (channels[i + 1], channels[i], 5))
                norm(f"postnet.convs.{index + 1}", channels[i + 1])
                shapes[f"postnet.convs.{index + 1}.running_mean"] = shapes[f"postnet.convs.{index + 1}.running_var"] = (
                    channels[i + 1],
                )
                shapes[f"postnet.convs.{index + 1}.num_batches_tracked"] = ()
        return shapes

    def to_dict(self) -> dict:
        return asdict(self)

    def graph_settings(self) -> dict:
        """The fields an exported graph computes with: all but dropout, which training alone uses."""
        return {key: value for key, value in self.to_dict().items() if key != "dropout"}


NORMALIZATION_SCHEMA = {
    key: (real_number(-1000.0, 1000.0), REQUIRED)
    for key in ("pitch_log_mean", "pitch_log_std", "energy_log_mean", "energy_log_std")
}


@dataclass
class VoiceConfig:
    name: str
    model: ModelConfig
    audio: AudioConfig = field(default_factory=AudioConfig)
    language: str = "en-US"
    symbol_set: str = DEFAULT_SYMBOL_SET
    vocoder: str = "en-us-istft-pulses"
    licence: str = "MIT"
    description: str = ""
    # Means and deviations of log F0 and log energy in the training data (for the record).
    normalization: dict = field(default_factory=dict)
    format: int = CURRENT_FORMAT

    SCHEMA: ClassVar[dict[str, tuple[Check, Any]]] = {
        "format": (whole_number(min(FORMAT_VERSIONS), max(FORMAT_VERSIONS)), REQUIRED),
        "name": (name_field, REQUIRED),
        "language": (printable_text(35, r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*"), "en-US"),
        "symbol_set": (one_of(tuple(SYMBOL_SETS)), REQUIRED),
        "vocoder": (lambda v: checked_name(v, "vocoder name", error=SchemaError), "en-us-istft-pulses"),
        "licence": (printable_text(100), ""),
        "description": (printable_text(500), ""),
        "audio": (lambda v: v, REQUIRED),
        "model": (lambda v: v, REQUIRED),
        "normalization": (lambda v: v, None),
    }

    @classmethod
    def parse(cls, data: object, where: str) -> "VoiceConfig":
        if isinstance(data, dict) and data.get("format") not in FORMAT_VERSIONS:
            raise VoiceError(
                f"{where}: voice format {shown(data.get('format'))} is not one this lightspeech "
                f"reads ({', '.join(map(str, FORMAT_VERSIONS))}); upgrade lightspeech"
            )
        clean = read_section(data, cls.SCHEMA, where)
        audio = AudioConfig.parse(clean["audio"], f"{where} audio")
        model = ModelConfig.parse(clean["model"], f"{where} model")
        if model.n_symbols != len(SYMBOL_SETS[clean["symbol_set"]]):
            raise VoiceError(f"{where}: the model's n_symbols does not match symbol set {clean['symbol_set']}")
        if model.n_mels != audio.n_mels:
            raise VoiceError(f"{where}: the model's n_mels does not match the audio's")
        normalization = clean["normalization"]
        normalization = (
            {}
            if normalization in (None, {})
            else read_section(normalization, NORMALIZATION_SCHEMA, f"{where} normalization")
        )
        return cls(
            name=clean["name"],
            model=model,
            audio=audio,
            language=clean["language"],
            symbol_set=clean["symbol_set"],
            vocoder=clean["vocoder"],
            licence=clean["licence"],
            description=clean["description"],
            normalization=normalization,
            format=clean["format"],
        )

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "name": self.name,
            "language": self.language,
            "symbol_set": self.symbol_set,
            "vocoder": self.vocoder,
            "licence": self.licence,
            "description": self.description,
            "audio": self.audio.to_dict(),
            "model": self.model.to_dict(),
            "normalization": self.normalization,
        }


class Voice(ModelFolder):
    """A voice folder with a checked config, and the files it needs: regular files, the
    weights fitting the config. Loading the model is the engine's job."""

    kind = "voice"
    config: VoiceConfig

    def parse_config(self, data: object, where: str) -> VoiceConfig:
        return VoiceConfig.parse(data, where)

    def expected_weights(self) -> dict[str, tuple[int, ...]]:
        return self.config.model.expected_weights()

    @property
    def format(self) -> int:
        return self.config.format

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def graph_source(self) -> GraphSource:
        """The acoustic graph depends on the model section alone: of the audio settings, only
        n_mels, which the model section holds too (and parsing checks they agree)."""
        return GraphSource(self.owner, "model", self.config.model.graph_settings())


def embedded_voices_dir() -> Path:
    return Path(__file__).parents[2] / "assets" / "voices"


def installed_voices_dir() -> Path:
    return readable_folder(cache_dir() / "voices")


def installed_voice_names() -> list[str]:
    """Voices found by name: installed and embedded folders with a config (staging
    folders, which start with '.', and anything else are ignored)."""
    names = set()
    for folder in (embedded_voices_dir(), installed_voices_dir()):
        try:
            entries = list(folder.iterdir()) if folder.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            try:
                checked_name(entry.name)
            except Exception:  # noqa: BLE001 - not a name we could have written: not a voice
                continue
            if holds_config(entry):
                names.add(entry.name)
    return sorted(names)


def same_language(spoken: str, wanted: str) -> bool:
    """Whether a voice speaking `spoken` ("en-US") answers a request for `wanted` ("en",
    "en-us", "en_US"): one tag is the other or begins it, case and "_" aside."""

    def tag(text: str) -> list[str]:
        return text.replace("_", "-").lower().split("-")

    have, want = tag(spoken), tag(wanted)
    return have[: len(want)] == want or want[: len(have)] == have


def find_voice(name: str | None) -> Voice:
    """A voice by name (installed, else embedded) or by the path of its folder."""
    if name == "":
        raise InputError("the voice name is empty: give a name or a folder, or leave it out for the default voice")
    name = name or DEFAULT_VOICE
    folder = folder_named(name, lambda: [installed_voices_dir(), embedded_voices_dir()])
    if folder is not None:
        return Voice(folder)
    checked_name(name, error=InputError)
    known = ", ".join(installed_voice_names()) or "none"
    if name == DEFAULT_VOICE:
        raise VoiceError(
            f"the default voice {DEFAULT_VOICE} is not installed (installed voices: {known}); "
            "give a voice folder with --voice PATH"
        )
    raise VoiceError(f"unknown voice {name!r}; installed voices: {known}")
